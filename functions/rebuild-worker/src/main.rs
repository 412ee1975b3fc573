//! Rebuild worker Lambda: backfills each archive partition on the rebuild queue into the
//! building projection version, reporting failed records individually
//! (`ReportBatchItemFailures`).
//! Wiring only: configuration, SDK clients, adapters; the behaviour lives in `taskpulse-lambda`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use taskpulse_app::PlanLimits;
use taskpulse_aws::{DynamoAnalyticsStore, DynamoTaskStore, S3Archive, env, sdk};
use taskpulse_lambda::rebuild::{Worker, WorkerSettings, handle_work};
use taskpulse_lambda::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let metrics = telemetry::init("rebuild-worker")?;
    let analytics_table = env::required(env::ANALYTICS_TABLE)?;
    let tasks_table = env::required(env::TASKS_TABLE)?;
    let bucket = env::required(env::ARCHIVE_BUCKET)?;
    let limits = PlanLimits {
        global_shards: env::global_counter_shards()?,
        ..PlanLimits::default()
    };
    let settings = WorkerSettings::from_env()?;
    let config = sdk::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let worker = Worker {
        archive: S3Archive::new(sdk::s3_client(&config), bucket),
        store: DynamoAnalyticsStore::new(dynamodb.clone(), analytics_table, limits.global_shards),
        // Erased users' events are backfilled under their pseudonyms.
        erasures: DynamoTaskStore::new(dynamodb, tasks_table),
        limits,
        settings,
    };
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let result = handle_work(worker, event.payload).await;
        telemetry::flush(metrics, &event.context.request_id);
        let (response, _summary): (SqsBatchResponse, _) = result?;
        Ok::<_, Error>(response)
    }))
    .await
}
