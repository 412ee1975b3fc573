//! API Lambda: task commands behind API Gateway (HTTP API, JWT authorizer).
//! Wiring only: configuration, SDK clients, adapters; the behaviour lives in `taskpulse-lambda`.

use std::sync::Arc;

use lambda_http::{Error, service_fn};
use taskpulse_app::TaskCommands;
use taskpulse_aws::{DynamoAnalyticsStore, DynamoTaskStore, SqsEventPublisher, env};
use taskpulse_lambda::api::Api;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let tasks_table = env::required(env::TASKS_TABLE)?;
    let queue_url = env::required(env::EVENTS_QUEUE_URL)?;
    let analytics_table = env::required(env::ANALYTICS_TABLE)?;
    let shards = env::global_counter_shards()?;
    let config = aws_config::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let api = Arc::new(Api::new(
        TaskCommands::new(
            DynamoTaskStore::new(dynamodb.clone(), tasks_table),
            SqsEventPublisher::new(aws_sdk_sqs::Client::new(&config), queue_url),
        ),
        DynamoAnalyticsStore::new(dynamodb, analytics_table, shards),
    ));
    lambda_http::run(service_fn(move |request| {
        let api = Arc::clone(&api);
        async move { Ok::<_, Error>(api.handle(request).await) }
    }))
    .await
}
