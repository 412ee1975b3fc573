//! What the integration tests and the benchmarks share, written once: the pipeline wired to
//! AWS-protocol endpoints (moto) exactly as the Lambda functions are, with the piece Lambda
//! provides on AWS (receiving from SQS and handing records to the consumer) driven by the
//! caller; a client with one method per API route; deterministic event histories; and the
//! small helpers around them.

mod archive_sql;
mod browser;
mod client;
mod dynamodb;
mod environment;
mod history;
mod months;
mod offline;
mod pipeline;
mod poison;
mod sample_events;
mod sampling;

pub use archive_sql::{readme_archive_queries, run_archive_query};
pub use browser::{Browser, browser};
pub use client::{ApiClient, AwsApi, Call, Reply, Route};
pub use dynamodb::{applied_events, delete_item, overflow_markers, read_item, write_item};
pub use environment::{function_environment, moto_environment};
pub use history::{Due, History, HistoryShape, Step};
pub use months::{MONTHS_SPEC, sealed_months_answer_what_days_answer};
pub use offline::{ClosedPort, offline_api, offline_sqs};
pub use pipeline::{
    AwsPipeline, CONSUMER_TIMEOUT, PipelineError, consumer_deadline, failed_ids, lambda_record,
    pipeline_on_moto, sqs_event, sqs_record,
};
pub use poison::Poison;
pub use sample_events::{
    API_EVENT_STATUSES, CONSUMER_EVENTS, ERASER_EVENTS, FIXTURE_TASK_ID, REBUILD_EVENTS,
    RELAY_EVENTS, SampleFunction, check_api_consumer_and_relay_events, check_rebuild_events,
    event_file, seed_fixture_task,
};
pub use sampling::shuffle;
/// Nearest-rank percentile of sorted samples: the simulator's, so every figure is computed alike.
pub use taskpulse_simulator::percentile;
