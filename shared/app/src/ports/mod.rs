//! Ports: what the use cases need from storage and messaging, one operation per trait, a file
//! per area.

mod analytics;
mod archive;
mod erasure;
mod months;
mod projections;
mod settings;
mod tasks;
mod work_queue;

pub use analytics::*;
pub use archive::*;
pub use erasure::*;
pub use months::*;
pub use projections::*;
pub use settings::*;
pub use tasks::*;
pub use work_queue::*;

/// A storage call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the item in another state (it exists, or its version moved).
    #[error("the item changed concurrently or already exists")]
    Conflict,
    /// The store could not be reached or refused for capacity; trying again later may succeed.
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    /// The call itself was wrong (validation, permissions, missing table): retrying will not help.
    #[error("storage rejected the request: {0}")]
    Rejected(String),
}
