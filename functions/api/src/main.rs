//! API Lambda: task commands behind API Gateway (HTTP API, JWT authorizer).
//! Wiring only: configuration, SDK clients, adapters; the behaviour lives in `taskpulse-lambda`.

use std::sync::Arc;

use lambda_http::{Error, service_fn};
use taskpulse_app::TaskCommands;
use taskpulse_aws::{DynamoTaskStore, SqsEventPublisher, env};
use taskpulse_lambda::api::Api;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let tasks_table = env::required(env::TASKS_TABLE)?;
    let queue_url = env::required(env::EVENTS_QUEUE_URL)?;
    let config = aws_config::load_from_env().await;
    let api = Arc::new(Api::new(TaskCommands::new(
        DynamoTaskStore::new(aws_sdk_dynamodb::Client::new(&config), tasks_table),
        SqsEventPublisher::new(aws_sdk_sqs::Client::new(&config), queue_url),
    )));
    lambda_http::run(service_fn(move |request| {
        let api = Arc::clone(&api);
        async move { Ok::<_, Error>(api.handle(request).await) }
    }))
    .await
}
