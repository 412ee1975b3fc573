//! The local-only endpoints under `/_local/`: stats of the event source mapping and the queue,
//! delivery chaos, raw messages (e.g. poison), the embedded queue's dead letters, and a
//! rebuild of the analytics from the event archive.

use http::{Method, StatusCode};
use hyper::body::Bytes;
use serde_json::{Value, json};
use taskpulse_aws::SQS_MAX_MESSAGE_BYTES;

use super::{HttpResponse, json_response, problem};
use crate::backend::{AnalyticsTable, Backend, TaskTable};
use crate::event_source_mapping::DeliveryChaos;
use crate::queue::EventQueue;
use crate::rebuild::{RebuildRequest, StartRefused};

/// The largest body each endpoint reads: a raw message as large as the queue takes one,
/// small JSON everywhere else.
pub(super) fn body_limit(path: &str) -> usize {
    if path == "/_local/queue/messages" {
        SQS_MAX_MESSAGE_BYTES
    } else {
        taskpulse_lambda::api::MAX_BODY_BYTES
    }
}

pub(super) async fn respond<T: TaskTable, Q: EventQueue, C: AnalyticsTable>(
    backend: &Backend<T, Q, C>,
    parts: &http::request::Parts,
    body: &Bytes,
) -> HttpResponse {
    let mapping = &backend.mapping;
    match (&parts.method, parts.uri.path()) {
        (&Method::GET, "/_local/stats") => match mapping.queue.depth().await {
            Ok(depth) => json_response(
                StatusCode::OK,
                &json!({
                    "backend": backend.kind.name(),
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
        (&Method::GET, "/_local/queue/dead-letters") => match mapping.queue.dead_letters() {
            Some(letters) => {
                let letters: Vec<Value> = letters
                    .into_iter()
                    .map(|(body, receives)| json!({ "body": body, "receiveCount": receives }))
                    .collect();
                json_response(StatusCode::OK, &json!({ "deadLetters": letters }))
            }
            None => problem(
                StatusCode::NOT_IMPLEMENTED,
                "read the dead-letter queue with the SQS API; /_local/stats gives its depth",
            ),
        },
        (&Method::POST, "/_local/rebuild") => {
            let request: RebuildRequest = match serde_json::from_slice(body) {
                Ok(request) => request,
                Err(error) => return problem(StatusCode::BAD_REQUEST, &error.to_string()),
            };
            match backend.rebuild.start(
                mapping.archive().clone(),
                backend.api.commands().store().clone(),
                mapping.counters().clone(),
                request,
                mapping.consumer.limits,
                mapping.settings.function_timeout,
            ) {
                Ok(()) => json_response(StatusCode::ACCEPTED, &json!(backend.rebuild.state())),
                Err(StartRefused::Running) => problem(
                    StatusCode::CONFLICT,
                    "a rebuild is running: follow GET /_local/rebuild",
                ),
                Err(StartRefused::Invalid(reason)) => problem(StatusCode::BAD_REQUEST, &reason),
            }
        }
        (&Method::GET, "/_local/rebuild") => {
            json_response(StatusCode::OK, &json!(backend.rebuild.state()))
        }
        (&Method::POST, "/_local/rebuild/retire") => {
            match backend.rebuild.retire(mapping.counters(), None).await {
                Ok(deleted) => json_response(StatusCode::OK, &json!({ "deleted": deleted })),
                Err(reason) => problem(StatusCode::CONFLICT, &reason),
            }
        }
        _ => problem(StatusCode::NOT_FOUND, "no such local endpoint"),
    }
}
