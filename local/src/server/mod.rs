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
//! `GET /` is the dashboard page (see `dashboard`), which follows `GET /_local/changes`, the
//! counter-change notices as Server-Sent Events (see `change_stream`).
//!
//! Local-only endpoints: `GET /health`, `GET /_local/stats` (event source mapping and queue),
//! `PUT /_local/delivery` (delivery chaos), `POST /_local/queue/messages` (a raw message, e.g.
//! poison), `GET /_local/queue/dead-letters` (embedded queue only).

mod api_request;
mod body;
mod change_stream;
mod connections;
mod dashboard;
mod local_endpoints;

use std::convert::Infallible;
use std::sync::Arc;

use http::{Method, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::backend::{AnalyticsTable, Backend, TaskTable};
use crate::queue::EventQueue;

pub use api_request::{SCOPES_HEADER, USER_HEADER};
pub use body::BODY_READ_TIMEOUT;
pub use connections::{DRAIN_TIMEOUT, HEADER_READ_TIMEOUT, MAX_CONNECTIONS};
pub use dashboard::transfer_size as dashboard_transfer_size;

/// A whole body, or a stream (the change notices).
type HttpBody = UnsyncBoxBody<Bytes, Infallible>;
type HttpResponse = hyper::Response<HttpBody>;

pub(crate) fn full(bytes: Bytes) -> HttpBody {
    Full::new(bytes).boxed_unsync()
}

/// Serves until `stop` turns true, then lets requests in progress finish (see `connections`).
pub async fn serve<T: TaskTable, Q: EventQueue, C: AnalyticsTable>(
    listener: TcpListener,
    backend: Arc<Backend<T, Q, C>>,
    max_connections: usize,
    stop: watch::Receiver<bool>,
) {
    let stopping = stop.clone();
    connections::serve_connections(listener, max_connections, stop, move |request| {
        let backend = Arc::clone(&backend);
        let stop = stopping.clone();
        async move { respond(&backend, request, stop).await }
    })
    .await;
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    let mut response = hyper::Response::new(full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// An RFC 9457 problem document, as the API handler writes them.
pub(crate) fn problem_document(status: StatusCode, detail: &str) -> Value {
    json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or_default(),
        "status": status.as_u16(),
        "detail": detail,
    })
}

pub(crate) fn problem(status: StatusCode, detail: &str) -> HttpResponse {
    let mut response = json_response(status, &problem_document(status, detail));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/problem+json"),
    );
    response
}

async fn respond<T: TaskTable, Q: EventQueue, C: AnalyticsTable>(
    backend: &Backend<T, Q, C>,
    request: hyper::Request<Incoming>,
    stop: watch::Receiver<bool>,
) -> HttpResponse {
    let (parts, body) = request.into_parts();
    // Routed on the path alone: neither `Host` nor a forwarding header picks the route.
    let path = parts.uri.path();
    if parts.method == Method::GET {
        if let Some(page) = dashboard::asset(path) {
            return page;
        }
        match path {
            "/health" => {
                return json_response(
                    StatusCode::OK,
                    &json!({ "status": "ok", "backend": backend.kind.name() }),
                );
            }
            "/_local/changes" => {
                return change_stream::change_stream(&backend.mapping.changes, stop);
            }
            _ => {}
        }
    }
    if path.starts_with("/_local/") {
        let limit = local_endpoints::body_limit(path);
        return match body::read_body(&parts.headers, body, limit, stop).await {
            Ok(body) => local_endpoints::respond(backend, &parts, &body).await,
            Err(refused) => refused,
        };
    }
    // API Gateway's authorizer answers before a byte of the body is read.
    let identity = match api_request::identity(&parts) {
        Ok(identity) => identity,
        Err(refusal) => return refusal.response(),
    };
    let limit = taskpulse_lambda::api::MAX_BODY_BYTES;
    match body::read_body(&parts.headers, body, limit, stop).await {
        Ok(body) => api_request::respond(backend, &parts, identity, body).await,
        Err(refused) => refused,
    }
}
