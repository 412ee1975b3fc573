//! Consumer Lambda: applies task events from SQS to the analytics counters, exactly once,
//! reporting failed records individually (`ReportBatchItemFailures`).
//! Wiring only: configuration, SDK client, adapter; the behaviour lives in `taskpulse-lambda`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use taskpulse_app::PlanLimits;
use taskpulse_aws::{DynamoAnalyticsStore, env, sdk};
use taskpulse_lambda::consumer::handle_batch;
use taskpulse_lambda::deadline::retry_deadline_at_epoch_ms;
use taskpulse_lambda::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let metrics = telemetry::init("consumer")?;
    let analytics_table = env::required(env::ANALYTICS_TABLE)?;
    let limits = PlanLimits {
        global_shards: env::global_counter_shards()?,
        ..PlanLimits::default()
    };
    let config = sdk::load_from_env().await;
    let store = DynamoAnalyticsStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        analytics_table,
        limits.global_shards,
    );
    let (store, limits) = (&store, &limits);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = retry_deadline_at_epoch_ms(event.context.deadline);
        let result = handle_batch(store, event.payload, limits, deadline).await;
        telemetry::flush(metrics, &event.context.request_id);
        let (response, _summary): (SqsBatchResponse, _) = result?;
        Ok::<_, Error>(response)
    }))
    .await
}
