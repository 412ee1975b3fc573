//! Consumer Lambda: applies task events from SQS to the analytics counters, exactly once,
//! reporting failed records individually (`ReportBatchItemFailures`).
//! Wiring only: configuration, SDK client, adapter; the behaviour lives in `taskpulse-lambda`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use taskpulse_aws::{DynamoAnalyticsStore, env, sdk};
use taskpulse_domain::analytics::PlanLimits;
use taskpulse_lambda::consumer::handle_batch;
use taskpulse_lambda::telemetry;
use tokio::time::Instant;

/// Retries stop this long before the invocation's deadline, leaving time to answer.
const ANSWER_MARGIN: Duration = Duration::from_millis(1500);

/// The instant to stop retrying: the invocation deadline (epoch milliseconds) less the margin.
fn retry_deadline(deadline_epoch_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let remaining = Duration::from_millis(deadline_epoch_ms.saturating_sub(now_ms));
    Instant::now() + remaining.saturating_sub(ANSWER_MARGIN)
}

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
        let deadline = retry_deadline(event.context.deadline);
        let result = handle_batch(store, event.payload, limits, deadline).await;
        telemetry::flush(metrics, &event.context.request_id);
        let (response, _summary): (SqsBatchResponse, _) = result?;
        Ok::<_, Error>(response)
    }))
    .await
}
