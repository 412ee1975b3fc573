//! The taskpulse domain.
//!
//! Everything here is pure: no I/O, no clock, no randomness, no async. Callers supply the current
//! time and fresh event ids, which keeps every rule testable and every replay deterministic.
//!
//! - [`values`]: parsed value types (a `Title` is always valid once it exists).
//! - [`task`]: the `Task` aggregate: `Task::handle(command) -> events` and `Task::apply(event)`.
//! - [`event`]: the events and the JSON envelope carried by every SQS message.
//! - [`analytics`]: the projection of events onto per-day counter increments.
//! - [`time_zone`]: a user's IANA time zone and the local day of an instant.
//! - [`erasure`]: the steps of erasing a user, and how the user's late events are counted.

pub mod analytics;
pub mod erasure;
pub mod event;
pub mod task;
pub mod time_zone;
pub mod values;

pub use event::{DetachedEvent, EventEnvelope, EventId, TaskEvent};
pub use task::{DomainError, Task, TaskCommand};
pub use time_zone::{TimeZone, UnknownTimeZone};
pub use values::{Description, Priority, TaskId, TaskStatus, Title, UserId};
