//! Rebuild coordinator Lambda, invoked by an operator (`aws lambda invoke --payload
//! '{"action":"status"}'`): takes one step of a projection rebuild and answers with a report;
//! `start` enqueues the archive partitions for the rebuild worker.
//! Wiring only: configuration, SDK clients, adapters; the behaviour lives in `taskpulse-lambda`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use taskpulse_app::rebuild::Rereads;
use taskpulse_aws::{DynamoAnalyticsStore, S3Archive, SqsWorkQueue, env, sdk};
use taskpulse_lambda::rebuild::{Coordinator, CoordinatorSettings, handle_command};
use taskpulse_lambda::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let metrics = telemetry::init("rebuild-coordinator")?;
    let analytics_table = env::required(env::ANALYTICS_TABLE)?;
    let bucket = env::required(env::ARCHIVE_BUCKET)?;
    let queue_url = env::required(env::REBUILD_QUEUE_URL)?;
    let shards = env::global_counter_shards()?;
    let settings = CoordinatorSettings::from_env()?;
    let config = sdk::load_from_env().await;
    let coordinator = Coordinator {
        archive: S3Archive::new(sdk::s3_client(&config), bucket),
        store: DynamoAnalyticsStore::new(
            aws_sdk_dynamodb::Client::new(&config),
            analytics_table,
            shards,
        ),
        queue: SqsWorkQueue::new(aws_sdk_sqs::Client::new(&config), queue_url),
        settings,
        rereads: Rereads::default(),
    };
    let coordinator = &coordinator;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let answer = handle_command(coordinator, event.payload).await;
            telemetry::flush(metrics, &event.context.request_id);
            Ok::<_, Error>(answer?)
        },
    ))
    .await
}
