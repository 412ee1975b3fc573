//! The simulator's HTTP client: plain HTTP/1.1 to the stack, commands retried with the same
//! idempotency key on 5xx and transport errors; and the local stack's `/_local/stats`.

use std::time::Duration;

use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use taskpulse_app::backoff::Backoff;
use taskpulse_local::event_source_mapping::StatsSnapshot;

use crate::SimulateError;

pub(crate) struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

/// Attempts per command: 5xx and connection errors are retried with the same idempotency key.
const ATTEMPTS: u32 = 6;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Pauses between attempts: 100 ms doubling up to 1.6 s, without jitter (a few clients retry
/// a local server; the full ceiling gives it the most time to recover).
const RETRY_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(100),
    longest: Duration::from_millis(1600),
};

impl HttpClient {
    pub fn new(base: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<(StatusCode, Value), String> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("no answer within {REQUEST_TIMEOUT:?}"))?
            .map_err(|e| format!("{e:?}"))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok((status, value))
    }

    /// A request that must succeed (2xx), retried on 5xx and transport errors.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<Value, SimulateError> {
        let body = body.map(|b| b.to_string());
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(RETRY_BACKOFF.ceiling(attempt - 1)).await;
            }
            match self.send(method.clone(), path, headers, body.clone()).await {
                Ok((status, value)) if status.is_success() => return Ok(value),
                Ok((status, value)) if status.is_server_error() => {
                    last = format!("{status}: {value}");
                }
                Ok((status, value)) => {
                    return Err(SimulateError::Http {
                        method,
                        path: path.to_owned(),
                        detail: format!("{status}: {value}"),
                    });
                }
                Err(error) => last = error,
            }
        }
        Err(SimulateError::Http {
            method,
            path: path.to_owned(),
            detail: format!("failed {ATTEMPTS} times; last: {last}"),
        })
    }
}

pub(crate) async fn local_stats(http: &HttpClient) -> Result<Value, SimulateError> {
    http.call(Method::GET, "/_local/stats", &[], None).await
}

pub(crate) fn dead_letters(stats: &Value) -> Option<u64> {
    stats["queue"]["deadLetters"].as_u64()
}

pub(crate) fn mapping_stats(stats: &Value) -> Option<StatsSnapshot> {
    let m = &stats["mapping"];
    let get = |name: &str| m[name].as_u64().unwrap_or(0);
    m.is_object().then(|| StatsSnapshot {
        invocations: get("invocations"),
        records: get("records"),
        applied: get("applied"),
        duplicates: get("duplicates"),
        poison: get("poison"),
        failed_writes: get("failedWrites"),
        batch_item_failures: get("batchItemFailures"),
        failed_invocations: get("failedInvocations"),
        redelivered: get("redelivered"),
        queue_errors: get("queueErrors"),
    })
}
