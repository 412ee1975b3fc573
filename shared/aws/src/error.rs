//! Mapping SDK errors onto the ports' `StoreError`, by their AWS error codes.

use std::error::Error;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use taskpulse_app::StoreError;

/// Error codes after which the same request may succeed later.
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
    // S3
    "SlowDown",
    "InternalError",
    "RequestTimeout",
];

pub(crate) fn store_error<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&error).to_string();
    match &error {
        SdkError::ServiceError(service) => match service.err().code() {
            // DynamoDB's failed condition, and S3's (`If-Match` on a changed object, or a
            // conflicting write in progress).
            Some(
                "ConditionalCheckFailedException"
                | "PreconditionFailed"
                | "ConditionalRequestConflict",
            ) => StoreError::Conflict,
            Some(code) if TRANSIENT_CODES.contains(&code) => StoreError::Unavailable(detail),
            _ => StoreError::Rejected(detail),
        },
        // Timeouts, connection failures and unparseable responses: the request may never have
        // arrived, so trying again is the right move.
        _ => StoreError::Unavailable(detail),
    }
}
