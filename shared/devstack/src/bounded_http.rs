//! One HTTP/1.1 exchange with a local emulator, bounded in time: what the SAM emulators are
//! driven with (Lambda's Invoke API, the local API Gateway).

use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::DevstackError;

/// What an emulator answered.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpAnswer {
    /// The body as JSON, or why it is none.
    pub fn json(&self) -> Result<serde_json::Value, DevstackError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            DevstackError::Tool(format!(
                "the answer ({}) is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            ))
        })
    }
}

/// Sends one request and reads the whole answer, failing after `timeout`.
pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<HttpAnswer, DevstackError> {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let mut request = http::Request::builder().method(method.clone()).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| DevstackError::Tool(format!("{method} {url}: {e}")))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok::<_, String>(HttpAnswer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(error)) => Err(DevstackError::Tool(format!("{method} {url}: {error}"))),
        Err(_) => Err(DevstackError::Tool(format!(
            "{method} {url}: no answer within {timeout:?}"
        ))),
    }
}
