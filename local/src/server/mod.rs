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
mod change_stream;
mod dashboard;
mod local_endpoints;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::backend::{AnalyticsTable, Backend, TaskTable};
use crate::queue::EventQueue;

pub use api_request::{SCOPES_HEADER, USER_HEADER};
pub use dashboard::transfer_size as dashboard_transfer_size;

/// API Gateway's payload limit for HTTP APIs; the handler enforces its own, smaller one.
const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// How long shutdown waits for requests in progress.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A whole body, or a stream (the change notices).
type HttpBody = UnsyncBoxBody<Bytes, Infallible>;
type HttpResponse = hyper::Response<HttpBody>;

pub(crate) fn full(bytes: Bytes) -> HttpBody {
    Full::new(bytes).boxed_unsync()
}

/// Serves until `stop` turns true, then lets requests in progress finish.
pub async fn serve<T: TaskTable, Q: EventQueue, C: AnalyticsTable>(
    listener: TcpListener,
    backend: Arc<Backend<T, Q, C>>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    // Open change streams end when the stack stops.
    let streams_stop = stop.clone();
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
        let streams_stop = streams_stop.clone();
        let service = service_fn(move |request| {
            let backend = Arc::clone(&backend);
            let streams_stop = streams_stop.clone();
            async move { Ok::<_, Infallible>(respond(&backend, request, streams_stop).await) }
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

pub(crate) fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    let mut response = hyper::Response::new(full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn problem(status: StatusCode, detail: &str) -> HttpResponse {
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

async fn respond<T: TaskTable, Q: EventQueue, C: AnalyticsTable>(
    backend: &Backend<T, Q, C>,
    request: hyper::Request<Incoming>,
    streams_stop: watch::Receiver<bool>,
) -> HttpResponse {
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
    if parts.method == Method::GET
        && let Some(page) = dashboard::asset(path)
    {
        return page;
    }
    match (&parts.method, path) {
        (&Method::GET, "/health") => json_response(
            StatusCode::OK,
            &json!({ "status": "ok", "backend": backend.kind.name() }),
        ),
        (&Method::GET, "/_local/changes") => {
            change_stream::change_stream(&backend.mapping.changes, streams_stop)
        }
        (_, local) if local.starts_with("/_local/") => {
            local_endpoints::respond(backend, &parts, &body).await
        }
        _ => api_request::respond(backend, &parts, body).await,
    }
}
