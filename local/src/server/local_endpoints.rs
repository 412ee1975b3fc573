//! The local-only endpoints under `/_local/`: stats of the event source mapping and the queue,
//! delivery chaos, raw messages (e.g. poison), and the embedded queue's dead letters.

use http::{Method, StatusCode};
use hyper::body::Bytes;
use serde_json::{Value, json};

use super::{HttpResponse, json_response, problem};
use crate::backend::{AnalyticsTable, Backend, TaskTable};
use crate::event_source_mapping::DeliveryChaos;
use crate::queue::EventQueue;

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
        _ => problem(StatusCode::NOT_FOUND, "no such local endpoint"),
    }
}
