//! A request of the local server as API Gateway would hand it to the API function: the local
//! identity headers become the JWT authorizer's claims.

use http::StatusCode;
use hyper::body::Bytes;
use serde_json::json;
use taskpulse_lambda::gateway_request::GatewayRequest;

use super::{HttpResponse, full, json_response, problem};
use crate::backend::{AnalyticsTable, Backend, TaskTable};
use crate::queue::EventQueue;

pub const USER_HEADER: &str = "x-local-user";
pub const SCOPES_HEADER: &str = "x-local-scopes";

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
fn api_event(parts: &http::request::Parts, body: &Bytes) -> Result<GatewayRequest, Refusal> {
    let header_text = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let mut event = GatewayRequest::new(parts.method.as_str(), parts.uri.path());
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
        // The template's preflight route has no authorizer: a CORS preflight carries no token.
        if parts.method == http::Method::OPTIONS {
            return Ok(event);
        }
        return Err(Refusal::Unauthorized);
    };
    event = event.caller(user);
    if let Some(scopes) = header_text(SCOPES_HEADER) {
        event.scopes = scopes.split_whitespace().map(str::to_owned).collect();
    }
    Ok(event)
}

pub(super) async fn respond<T: TaskTable, Q: EventQueue, C: AnalyticsTable>(
    backend: &Backend<T, Q, C>,
    parts: &http::request::Parts,
    body: Bytes,
) -> HttpResponse {
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
    hyper::Response::from_parts(parts, full(bytes))
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
