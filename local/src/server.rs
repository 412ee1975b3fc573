//! The local stack's HTTP server. Every request outside `/health` and `/_local/` goes to the
//! API Lambda's handler as the API Gateway HTTP API event it would receive in AWS, with the
//! JWT authorizer's claims taken from the local identity headers:
//!
//! - `X-Local-User: <user id>` acts as that user (the JWT `sub`); without it the answer is
//!   401, as from the authorizer;
//! - `X-Local-Scopes: analytics:read` grants scopes (space-separated), e.g. for
//!   `GET /analytics/global`.
//!
//! These headers exist only here: the deployed API takes identities from verified JWTs alone.
//!
//! Local-only endpoints: `GET /health`, `GET /_local/stats` (event source mapping and queue),
//! `PUT /_local/delivery` (delivery chaos), `POST /_local/queue/messages` (a raw message, e.g.
//! poison), `GET /_local/queue/dead-letters` (embedded queue only).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::{Value, json};
use taskpulse_lambda::apigw::HttpApiEvent;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::event_source_mapping::DeliveryChaos;
use crate::queue::EventQueue;
use crate::stack::Backend;

pub const USER_HEADER: &str = "x-local-user";
pub const SCOPES_HEADER: &str = "x-local-scopes";

/// API Gateway's payload limit for HTTP APIs; the handler enforces its own, smaller one.
const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// How long shutdown waits for requests in progress.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

type HttpResponse = hyper::Response<Full<Bytes>>;

/// Serves until `stop` turns true, then lets requests in progress finish.
pub async fn serve(listener: TcpListener, backend: Arc<Backend>, mut stop: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let backend = Arc::clone(&backend);
        let service = service_fn(move |request| {
            let backend = Arc::clone(&backend);
            async move { Ok::<_, Infallible>(respond(&backend, request).await) }
        });
        let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in progress after {DRAIN_TIMEOUT:?} were cut off");
    }
}

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn problem(status: StatusCode, detail: &str) -> HttpResponse {
    let mut response = json_response(
        status,
        &json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or_default(),
            "status": status.as_u16(),
            "detail": detail,
        }),
    );
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/problem+json"),
    );
    response
}

async fn respond(backend: &Backend, request: hyper::Request<Incoming>) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is larger than 10 MB",
            );
        }
    };
    let path = parts.uri.path();
    match (&parts.method, path) {
        (&Method::GET, "/health") => json_response(
            StatusCode::OK,
            &json!({ "status": "ok", "backend": backend.kind_name() }),
        ),
        (_, local) if local.starts_with("/_local/") => local_endpoint(backend, &parts, &body).await,
        _ => api_request(backend, &parts, body).await,
    }
}

/// Why a request does not reach the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// No identity: what API Gateway's JWT authorizer answers without a valid token.
    Unauthorized,
    BodyNotUtf8,
}

impl Refusal {
    fn response(self) -> HttpResponse {
        match self {
            Self::Unauthorized => json_response(
                StatusCode::UNAUTHORIZED,
                &json!({ "message": "Unauthorized" }),
            ),
            Self::BodyNotUtf8 => problem(
                StatusCode::BAD_REQUEST,
                "the request body is not UTF-8 text",
            ),
        }
    }
}

/// The request as API Gateway would hand it to the API function.
fn api_event(parts: &http::request::Parts, body: &Bytes) -> Result<HttpApiEvent, Refusal> {
    let header_text = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let mut event = HttpApiEvent::new(parts.method.as_str(), parts.uri.path());
    event.raw_query = parts.uri.query().unwrap_or_default().to_owned();
    for (name, value) in &parts.headers {
        let name = name.as_str();
        if name == USER_HEADER || name == SCOPES_HEADER {
            continue;
        }
        let Ok(value) = value.to_str() else { continue };
        // API Gateway joins repeated headers with commas.
        event
            .headers
            .entry(name.to_owned())
            .and_modify(|v| {
                v.push(',');
                v.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    if !body.is_empty() {
        let text = String::from_utf8(body.to_vec()).map_err(|_| Refusal::BodyNotUtf8)?;
        event.body = Some(text);
    }
    let Some(user) = header_text(USER_HEADER) else {
        return Err(Refusal::Unauthorized);
    };
    event = event.caller(user);
    if let Some(scopes) = header_text(SCOPES_HEADER) {
        event.scopes = scopes.split_whitespace().map(str::to_owned).collect();
    }
    Ok(event)
}

async fn api_request(backend: &Backend, parts: &http::request::Parts, body: Bytes) -> HttpResponse {
    let event = match api_event(parts, &body) {
        Ok(event) => event,
        Err(refusal) => return refusal.response(),
    };
    let response = backend.api.handle(event.to_request()).await;
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(text) => Bytes::from(text),
        lambda_http::Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

async fn local_endpoint(
    backend: &Backend,
    parts: &http::request::Parts,
    body: &Bytes,
) -> HttpResponse {
    let mapping = &backend.mapping;
    match (&parts.method, parts.uri.path()) {
        (&Method::GET, "/_local/stats") => match mapping.queue.depth().await {
            Ok(depth) => json_response(
                StatusCode::OK,
                &json!({
                    "backend": backend.kind_name(),
                    "mapping": mapping.stats.snapshot(),
                    "queue": depth,
                    "settings": mapping.settings,
                    "delivery": mapping.chaos(),
                }),
            ),
            Err(error) => problem(StatusCode::SERVICE_UNAVAILABLE, &error.to_string()),
        },
        (&Method::PUT, "/_local/delivery") => {
            let chaos: DeliveryChaos = match serde_json::from_slice(body) {
                Ok(chaos) => chaos,
                Err(error) => return problem(StatusCode::BAD_REQUEST, &error.to_string()),
            };
            if let Err(reason) = chaos.validate() {
                return problem(StatusCode::UNPROCESSABLE_ENTITY, &reason);
            }
            mapping.set_chaos(chaos);
            json_response(StatusCode::OK, &json!(chaos))
        }
        (&Method::POST, "/_local/queue/messages") => {
            let Ok(text) = std::str::from_utf8(body) else {
                return problem(StatusCode::BAD_REQUEST, "the message body must be UTF-8");
            };
            if text.is_empty() {
                return problem(StatusCode::BAD_REQUEST, "SQS refuses an empty message body");
            }
            match mapping.queue.send_raw(text).await {
                Ok(()) => json_response(StatusCode::ACCEPTED, &json!({ "queued": true })),
                Err(error) => problem(StatusCode::SERVICE_UNAVAILABLE, &error.to_string()),
            }
        }
        (&Method::GET, "/_local/queue/dead-letters") => match &mapping.queue {
            EventQueue::Memory(queue) => {
                let letters: Vec<Value> = queue
                    .dead_letters()
                    .into_iter()
                    .map(|(body, receives)| json!({ "body": body, "receiveCount": receives }))
                    .collect();
                json_response(StatusCode::OK, &json!({ "deadLetters": letters }))
            }
            EventQueue::Sqs(_) => problem(
                StatusCode::NOT_IMPLEMENTED,
                "read the dead-letter queue with the SQS API; /_local/stats gives its depth",
            ),
        },
        _ => problem(StatusCode::NOT_FOUND, "no such local endpoint"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn identity_headers_become_authorizer_claims_and_are_not_passed_on() {
        let parts = parts(
            "GET",
            "/analytics/global?from=2026-01-01",
            &[
                ("x-local-user", "ana"),
                ("x-local-scopes", "analytics:read  tasks:write"),
                ("accept", "application/json"),
                ("x-trace", "a"),
                ("x-trace", "b"),
            ],
        );
        let event = api_event(&parts, &Bytes::new()).unwrap();
        let json = event.to_json();
        let authorizer = &json["requestContext"]["authorizer"]["jwt"];
        assert_eq!(authorizer["claims"]["sub"], "ana");
        assert_eq!(
            authorizer["scopes"],
            json!(["analytics:read", "tasks:write"])
        );
        assert_eq!(json["rawQueryString"], "from=2026-01-01");
        assert_eq!(json["headers"]["x-trace"], "a,b");
        assert!(json["headers"].get("x-local-user").is_none());
        assert!(json["headers"].get("x-local-scopes").is_none());
        assert!(json.get("body").is_none());
    }

    #[test]
    fn a_request_without_the_user_header_is_refused_as_the_authorizer_would() {
        let parts = parts("GET", "/tasks", &[("authorization", "Bearer x")]);
        let refusal = api_event(&parts, &Bytes::new()).unwrap_err();
        assert_eq!(refusal, Refusal::Unauthorized);
        assert_eq!(refusal.response().status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn a_body_that_is_not_utf8_is_a_bad_request() {
        let parts = parts("POST", "/tasks", &[("x-local-user", "ana")]);
        let refusal = api_event(&parts, &Bytes::from_static(&[0xff, 0xfe])).unwrap_err();
        assert_eq!(refusal.response().status(), StatusCode::BAD_REQUEST);
    }
}
