//! Outbox relay Lambda: publishes every task event that was committed but not confirmed on the
//! queue (SQS unreachable, or the API function stopped in between). Run on a schedule, it
//! sweeps the outbox index; triggered by the outbox checks' queue, it checks the tasks named.
//! Wiring only: configuration, SDK clients, adapters; the behaviour lives in `taskpulse-lambda`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use taskpulse_aws::{DynamoTaskStore, SqsEventPublisher, env, sdk};
use taskpulse_lambda::relay::{RelayInvocation, RelayResponse, check_outboxes, relay_outbox};
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
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let response: Result<RelayResponse, Error> =
                match RelayInvocation::from_payload(event.payload) {
                    Ok(RelayInvocation::Checks(batch)) => check_outboxes(store, publisher, batch)
                        .await
                        .map(|(response, _)| RelayResponse::Checks(response))
                        .map_err(Error::from),
                    Ok(RelayInvocation::Sweep) => relay_outbox(store, publisher, grace)
                        .await
                        .map(RelayResponse::Sweep)
                        .map_err(Error::from),
                    Err(error) => Err(error.into()),
                };
            // Flushed whatever the outcome: a failed run's gauges are what the alarms watch.
            telemetry::flush(metrics, &event.context.request_id);
            response
        },
    ))
    .await
}
