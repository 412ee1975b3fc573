//! API Gateway HTTP API (payload format 2.0) events, built the way API Gateway builds them after
//! its JWT authorizer accepted a token. Used wherever a request must reach the API handler
//! without API Gateway in front: the local runner and the tests.

use std::collections::BTreeMap;

use lambda_http::Request;
use serde_json::{Value, json};

/// A request to the HTTP API as API Gateway hands it to the function: what the client sent,
/// plus the claims its JWT authorizer verified. Built up with `caller`, `header`, … and turned
/// into the handler's `Request` (or the payload-v2 JSON of a Lambda event).
#[derive(Debug, Clone, Default)]
pub struct GatewayRequest {
    pub method: String,
    pub path: String,
    pub raw_query: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    /// JWT claims; `None` means no authorizer context (an unauthenticated request).
    pub claims: Option<BTreeMap<String, String>>,
    pub scopes: Vec<String>,
}

impl GatewayRequest {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            ..Self::default()
        }
    }

    /// Acts as the user with this JWT `sub`.
    pub fn caller(mut self, sub: &str) -> Self {
        self.claims
            .get_or_insert_with(BTreeMap::new)
            .insert("sub".into(), sub.into());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_ascii_lowercase(), value.into());
        self
    }

    /// A JSON body with its content type.
    pub fn json(self, body: &Value) -> Self {
        self.raw_body("application/json", &body.to_string())
    }

    pub fn raw_body(mut self, content_type: &str, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self.header("content-type", content_type)
    }

    /// The event as API Gateway sends it to the function.
    pub fn to_json(&self) -> Value {
        let mut event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": self.raw_query,
            "headers": self.headers,
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "local",
                "domainName": "localhost",
                "domainPrefix": "localhost",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": self.headers.get("user-agent").cloned().unwrap_or_default()
                },
                "requestId": uuid_like(),
                "routeKey": "$default",
                "stage": "$default",
                "time": chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S %z").to_string(),
                "timeEpoch": chrono::Utc::now().timestamp_millis()
            },
            "isBase64Encoded": false
        });
        if let Some(body) = &self.body {
            event["body"] = Value::String(body.clone());
        }
        if let Some(claims) = &self.claims {
            event["requestContext"]["authorizer"] = json!({
                "jwt": { "claims": claims, "scopes": if self.scopes.is_empty() { Value::Null } else { json!(self.scopes) } }
            });
        }
        event
    }

    /// The event as the `lambda_http` request the handler receives, or why `lambda_http` cannot
    /// read it (a header value that is no HTTP header value, for one).
    pub fn try_to_request(&self) -> Result<Request, String> {
        lambda_http::request::from_str(&self.to_json().to_string()).map_err(|e| e.to_string())
    }

    /// The request of an event built to be valid (tests): one that is not is a defect there.
    pub fn to_request(&self) -> Request {
        self.try_to_request()
            .unwrap_or_else(|e| panic!("{self:?} is not an API Gateway event: {e}"))
    }
}

fn uuid_like() -> String {
    format!(
        "local-{}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}
