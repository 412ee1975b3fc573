//! Consumer Lambda: archives task events from SQS and applies them to the analytics counters
//! of every live projection version, exactly once, reporting failed records individually
//! (`ReportBatchItemFailures`).
//! Wiring only: configuration, SDK client, adapter; the behaviour lives in `taskpulse-lambda`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use taskpulse_app::PlanLimits;
use taskpulse_app::projections::{CachedProjectionConfig, PROJECTION_CONFIG_TTL};
use taskpulse_aws::{DynamoAnalyticsStore, DynamoTaskStore, S3Archive, SqsWorkQueue, env, sdk};
use taskpulse_lambda::consumer::{Consumer, handle_batch};
use taskpulse_lambda::deadline::retry_deadline_at_epoch_ms;
use taskpulse_lambda::telemetry;

/// mimalloc rather than glibc's malloc: decoding, projecting and planning a batch allocate per
/// event, and that work takes 7 % fewer instructions with it (docs/benchmarks.md, measured by
/// `benches/consumer_cpu.rs`, which declares the same allocator, as `consumer_memory.rs` does).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let metrics = telemetry::init("consumer")?;
    let analytics_table = env::required(env::ANALYTICS_TABLE)?;
    let tasks_table = env::required(env::TASKS_TABLE)?;
    let bucket = env::required(env::ARCHIVE_BUCKET)?;
    let events_queue = env::required(env::EVENTS_QUEUE_URL)?;
    let limits = PlanLimits {
        global_shards: env::global_counter_shards()?,
        ..PlanLimits::default()
    };
    let config = sdk::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let consumer = Consumer {
        archive: S3Archive::new(sdk::s3_client(&config), bucket),
        // The live versions are read at most every few seconds, not per batch.
        store: CachedProjectionConfig::new(
            DynamoAnalyticsStore::new(dynamodb.clone(), analytics_table, limits.global_shards),
            PROJECTION_CONFIG_TTL,
        ),
        // The erasure records of the batch's owners: one read per batch.
        erasures: DynamoTaskStore::new(dynamodb, tasks_table),
        // Events of an owner being erased go back on their own queue, delayed.
        requeue: SqsWorkQueue::new(aws_sdk_sqs::Client::new(&config), events_queue),
        limits,
    };
    let consumer = &consumer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = retry_deadline_at_epoch_ms(event.context.deadline);
        let result = handle_batch(consumer, event.payload, deadline).await;
        telemetry::flush(metrics, &event.context.request_id);
        let (response, _summary): (SqsBatchResponse, _) = result?;
        Ok::<_, Error>(response)
    }))
    .await
}
