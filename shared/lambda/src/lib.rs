//! The Lambda-facing layer of taskpulse, shared by the function binaries and the local runner:
//!
//! - [`api`]: API Gateway HTTP API (payload v2) requests in, task commands, responses out.
//! - [`consumer`]: an SQS batch in, events applied exactly once, partial batch failures out.
//! - [`deadline`]: when the consumer stops retrying, to answer before its timeout.
//! - [`erasure`]: the erasure work message and the eraser's SQS batches.
//! - [`rebuild`]: the rebuild coordinator's commands and the rebuild worker's SQS batches.
//! - [`relay`]: one run of the outbox relay; [`telemetry`]: logs and metrics of a function.
//! - [`partial_batch`]: the records of an SQS batch to retry, as the three batch handlers
//!   report them.
//! - [`gateway_request`]: a request as API Gateway hands it to the API function, for callers
//!   without API Gateway in front (the local stack, the tests).
//!
//! The handlers are generic over the application ports, so the same code runs on AWS, against moto, and
//! on the in-memory adapters.

pub mod api;
pub mod consumer;
pub mod deadline;
pub mod erasure;
pub mod gateway_request;
pub mod partial_batch;
pub mod rebuild;
pub mod relay;
pub mod telemetry;

pub use api::{FieldError, Problem};
