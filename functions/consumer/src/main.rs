//! Consumer Lambda: applies task events from SQS to the analytics counters, exactly once,
//! reporting failed records individually (`ReportBatchItemFailures`).
//! Wiring only: configuration, SDK client, adapter; the behaviour lives in `taskpulse-lambda`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use taskpulse_aws::{DynamoAnalyticsStore, env};
use taskpulse_lambda::consumer::handle_batch;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let analytics_table = env::required(env::ANALYTICS_TABLE)?;
    let marker_ttl = env::dedupe_marker_ttl()?;
    let config = aws_config::load_from_env().await;
    let store = DynamoAnalyticsStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        analytics_table,
        marker_ttl,
    );
    let store = &store;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let (response, _summary): (SqsBatchResponse, _) =
            handle_batch(store, event.payload).await?;
        Ok::<_, Error>(response)
    }))
    .await
}
