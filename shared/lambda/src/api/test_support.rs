//! What the route tests share: an API over the in-memory adapters, the requests they send it
//! (built as API Gateway would deliver them) and the replies they read back.

use http::{HeaderMap, StatusCode};
use lambda_http::{Body, Response};
use serde_json::Value;
use taskpulse_app::TaskCommands;
use taskpulse_app::memory::{
    MemoryAnalyticsStore, MemoryEventQueue, MemoryTaskStore, MemoryWorkQueue,
};

use super::Api;
use crate::gateway_request::GatewayRequest;

pub(super) type MemoryApi =
    Api<MemoryTaskStore, MemoryEventQueue, MemoryAnalyticsStore, MemoryWorkQueue>;

pub(super) fn api() -> MemoryApi {
    Api::new(
        TaskCommands::new(MemoryTaskStore::default(), MemoryEventQueue::default()),
        MemoryAnalyticsStore::default(),
        MemoryWorkQueue::default(),
    )
}

/// A valid body for `POST /tasks`.
pub(super) const VALID: &str = r#"{"title":"  Write report ","priority":"high","plannedAccomplishDate":"2030-01-01T12:00:00+02:00"}"#;

/// A request with any body and content type, from `sub` (or from no one).
pub(super) fn request(
    method: &str,
    path: &str,
    sub: Option<&str>,
    content_type: &str,
    body: &str,
) -> GatewayRequest {
    let event = GatewayRequest::new(method, path).raw_body(content_type, body);
    match sub {
        Some(sub) => event.caller(sub),
        None => event,
    }
}

/// `POST /tasks` of [`VALID`] from `user`.
pub(super) fn create_valid(user: &str) -> GatewayRequest {
    request("POST", "/tasks", Some(user), "application/json", VALID)
}

pub(super) fn post(path: &str, user: &str, body: Value) -> GatewayRequest {
    GatewayRequest::new("POST", path).caller(user).json(&body)
}

/// `GET path?query` from `user`.
pub(super) fn get(path: &str, user: &str, query: &str) -> GatewayRequest {
    let mut event = GatewayRequest::new("GET", path).caller(user);
    event.raw_query = query.into();
    event
}

pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Value,
}

pub(super) async fn send(api: &MemoryApi, event: GatewayRequest) -> Reply {
    reply(api.handle(event.to_request()).await)
}

fn reply(response: Response<Body>) -> Reply {
    Reply {
        status: response.status(),
        headers: response.headers().clone(),
        // A 304 or 204 has no body.
        body: if response.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(response.body().as_ref()).unwrap()
        },
    }
}

/// Creates a task of `user` from [`VALID`] and returns its id.
pub(super) async fn create(api: &MemoryApi, user: &str) -> String {
    let r = send(api, create_valid(user)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    r.body["id"].as_str().unwrap().to_owned()
}

/// The fields a validation problem names, in its order.
pub(super) fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts that `GET path?query` from `user` is refused with 400 for each of `queries`.
pub(super) async fn assert_queries_refused(
    api: &MemoryApi,
    path: &str,
    user: &str,
    queries: &[&str],
) {
    for query in queries {
        assert_eq!(
            send(api, get(path, user, query)).await.status,
            StatusCode::BAD_REQUEST,
            "{query}"
        );
    }
}
