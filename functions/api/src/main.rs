//! API Lambda: task commands behind API Gateway (HTTP API, JWT authorizer).
//! Wiring only: configuration, SDK clients, adapters; the behaviour lives in `taskpulse-lambda`.

use std::sync::Arc;

use lambda_http::{Error, Request, RequestExt, service_fn};
use taskpulse_app::TaskCommands;
use taskpulse_app::projections::{CachedProjectionConfig, PROJECTION_CONFIG_TTL};
use taskpulse_app::relay::OUTBOX_CHECK_DELAY;
use taskpulse_aws::{
    DynamoAnalyticsStore, DynamoTaskStore, SqsEventPublisher, SqsWorkQueue, env, sdk,
};
use taskpulse_lambda::api::{Api, CallerSource, CorsPolicy};
use taskpulse_lambda::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let metrics = telemetry::init("api")?;
    let tasks_table = env::required(env::TASKS_TABLE)?;
    let queue_url = env::required(env::EVENTS_QUEUE_URL)?;
    let check_queue_url = env::required(env::OUTBOX_CHECK_QUEUE_URL)?;
    let erasure_queue = env::required(env::ERASURE_QUEUE_URL)?;
    let analytics_table = env::required(env::ANALYTICS_TABLE)?;
    let shards = env::global_counter_shards()?;
    let cors = CorsPolicy::parse(&env::optional(env::CORS_ALLOWED_ORIGINS))
        .map_err(|reason| env::invalid(env::CORS_ALLOWED_ORIGINS, reason))?;
    // `sam local start-api` runs no JWT authorizer: callers then name themselves with a bearer
    // token, read unverified (see `CallerSource`). Lambda never sets AWS_SAM_LOCAL.
    let caller_source = if env::under_sam_local() {
        tracing::warn!(
            "AWS_SAM_LOCAL=true: requests without JWT authorizer claims are identified by their \
             bearer token, unverified"
        );
        CallerSource::SamLocalBearerToken
    } else {
        CallerSource::JwtAuthorizer
    };
    let config = sdk::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let api = Arc::new(
        Api::new(
            TaskCommands::new(
                DynamoTaskStore::new(dynamodb.clone(), tasks_table),
                SqsEventPublisher::new(sqs.clone(), queue_url)
                    .with_outbox_checks(check_queue_url, OUTBOX_CHECK_DELAY),
            ),
            // The active projection version is read at most every few seconds, not per request.
            CachedProjectionConfig::new(
                DynamoAnalyticsStore::new(dynamodb, analytics_table, shards),
                PROJECTION_CONFIG_TTL,
            ),
            // Erasure requests are handed to the eraser function on its queue.
            SqsWorkQueue::new(sqs, erasure_queue),
        )
        .with_cors(cors)
        .with_caller_source(caller_source),
    );
    lambda_http::run(service_fn(move |request: Request| {
        let api = Arc::clone(&api);
        async move {
            let request_id = request.lambda_context_ref().map(|c| c.request_id.clone());
            let response = api.handle(request).await;
            telemetry::flush(metrics, request_id.as_deref().unwrap_or_default());
            Ok::<_, Error>(response)
        }
    }))
    .await
}
