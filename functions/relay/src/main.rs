//! Outbox relay Lambda, run on a schedule: publishes every task event that was committed but
//! not confirmed on the queue (SQS unreachable, or the API function stopped in between).
//! Wiring only: configuration, SDK clients, adapters; the behaviour lives in `taskpulse-lambda`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use taskpulse_aws::{DynamoTaskStore, SqsEventPublisher, env, sdk};
use taskpulse_lambda::relay::relay_outbox;
use taskpulse_lambda::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let metrics = telemetry::init("relay")?;
    let tasks_table = env::required(env::TASKS_TABLE)?;
    let queue_url = env::required(env::EVENTS_QUEUE_URL)?;
    let grace = env::outbox_grace()?;
    let config = sdk::load_from_env().await;
    let store = DynamoTaskStore::new(aws_sdk_dynamodb::Client::new(&config), tasks_table);
    let publisher = SqsEventPublisher::new(aws_sdk_sqs::Client::new(&config), queue_url);
    let (store, publisher) = (&store, &publisher);
    // The scheduled event's content does not matter: every run relays whatever is pending.
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let report = relay_outbox(store, publisher, grace).await;
            telemetry::flush(metrics, &event.context.request_id);
            Ok::<_, Error>(report?)
        },
    ))
    .await
}
