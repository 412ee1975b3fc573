//! Why a command was not carried out, as the HTTP layer maps it to a status.

use taskpulse_domain::DomainError;

use crate::ports::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Domain(DomainError),
    #[error("no such task")]
    NotFound,
    #[error("the task is no longer at the version in If-Match")]
    PreconditionFailed { current_version: Option<u64> },
    #[error("the idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("the task kept changing concurrently; retry")]
    Conflict,
    #[error("a dependency is unavailable: {0}")]
    Unavailable(String),
}

impl From<DomainError> for CommandError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound => Self::NotFound,
            other => Self::Domain(other),
        }
    }
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => Self::Conflict,
            StoreError::Unavailable(reason) | StoreError::Rejected(reason) => {
                Self::Unavailable(reason)
            }
        }
    }
}
