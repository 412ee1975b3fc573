//! Eraser Lambda: advances the erasure of each user named on the erasure queue, page by page
//! until its time is nearly out, then continues in a delayed message; reports failed records
//! individually (`ReportBatchItemFailures`).
//! Wiring only: configuration, SDK clients, adapters; the behaviour lives in `taskpulse-lambda`.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use taskpulse_app::erasure::settle_time;
use taskpulse_aws::{
    DynamoAnalyticsStore, DynamoTaskStore, S3Archive, SqsEventPublisher, SqsWorkQueue, env, sdk,
};
use taskpulse_lambda::deadline::retry_deadline_at_epoch_ms;
use taskpulse_lambda::erasure::worker::ErasureWorker;
use taskpulse_lambda::telemetry;

/// The longest a writer may act on an erasure record read before the record existed: a
/// consumer batch (the consumer's timeout). The template sets `ERASURE_SETTLE_SECONDS`
/// itself, checked by a test against the writers' timeouts; this is the default without it.
const LONGEST_WRITER_INVOCATION: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), Error> {
    let metrics = telemetry::init("eraser")?;
    let tasks_table = env::required(env::TASKS_TABLE)?;
    let analytics_table = env::required(env::ANALYTICS_TABLE)?;
    let events_queue = env::required(env::EVENTS_QUEUE_URL)?;
    let erasure_queue = env::required(env::ERASURE_QUEUE_URL)?;
    let bucket = env::required(env::ARCHIVE_BUCKET)?;
    let shards = env::global_counter_shards()?;
    let settle = env::erasure_settle(settle_time(LONGEST_WRITER_INVOCATION))?;
    let config = sdk::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let worker = ErasureWorker {
        tasks: DynamoTaskStore::new(dynamodb.clone(), tasks_table),
        publisher: SqsEventPublisher::new(sqs.clone(), events_queue),
        analytics: DynamoAnalyticsStore::new(dynamodb, analytics_table, shards),
        archive: S3Archive::new(sdk::s3_client(&config), bucket),
        work: SqsWorkQueue::new(sqs, erasure_queue),
        settle,
    };
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = retry_deadline_at_epoch_ms(event.context.deadline);
        let result = worker.handle_batch(event.payload, deadline).await;
        telemetry::flush(metrics, &event.context.request_id);
        let (response, _summary): (SqsBatchResponse, _) = result?;
        Ok::<_, Error>(response)
    }))
    .await
}
