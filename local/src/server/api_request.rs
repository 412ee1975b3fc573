//! A request of the local server as API Gateway would hand it to the API function: the local
//! identity headers (or a bearer token's claims) become the JWT authorizer's claims, and the
//! headers API Gateway sets itself
//! (`Host`, `X-Forwarded-*`) are set here, never taken from the client.

use http::{HeaderName, StatusCode, header};
use hyper::body::Bytes;
use serde_json::json;
use taskpulse_lambda::gateway_request::GatewayRequest;

use taskpulse_lambda::api::bearer;

use super::{HttpResponse, full, json_response, problem};
use crate::backend::{AnalyticsTable, Backend, TaskTable};
use crate::queue::EventQueue;

pub const USER_HEADER: &str = "x-local-user";
pub const SCOPES_HEADER: &str = "x-local-scopes";

/// The domain name of the local API, as API Gateway names its own in the `Host` header.
const LOCAL_DOMAIN: &str = "localhost";

/// Why a request does not reach the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// No identity: what API Gateway's JWT authorizer answers without a valid token.
    Unauthorized,
    BodyNotUtf8,
    /// A header the event cannot carry: its value is not UTF-8 text.
    HeaderNotText(HeaderName),
    /// What `lambda_http` could not read as an API Gateway event.
    NotAnEvent(String),
}

impl Refusal {
    pub(super) fn response(&self) -> HttpResponse {
        match self {
            Self::Unauthorized => json_response(
                StatusCode::UNAUTHORIZED,
                &json!({ "message": "Unauthorized" }),
            ),
            Self::BodyNotUtf8 => problem(
                StatusCode::BAD_REQUEST,
                "the request body is not UTF-8 text",
            ),
            Self::HeaderNotText(name) => problem(
                StatusCode::BAD_REQUEST,
                &format!("the {name} header is not UTF-8 text"),
            ),
            Self::NotAnEvent(reason) => problem(
                StatusCode::BAD_REQUEST,
                &format!("the request cannot be passed on: {reason}"),
            ),
        }
    }
}

/// Headers that API Gateway sets from the connection and that a client cannot choose.
fn set_by_the_gateway(name: &HeaderName) -> bool {
    name == header::HOST
        || name == header::FORWARDED
        || name.as_str().starts_with("x-forwarded-")
        || name == USER_HEADER
        || name == SCOPES_HEADER
}

/// Who a request acts as: the JWT `sub` and the token's scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identity {
    user: String,
    scopes: Vec<String>,
}

/// The caller API Gateway's authorizer would let through, checked before the body is read:
/// the local identity headers, or else the claims of a bearer token (see `taskpulse_lambda::api::bearer`). A CORS
/// preflight carries no token: the template's preflight route has no authorizer.
pub(super) fn identity(parts: &http::request::Parts) -> Result<Option<Identity>, Refusal> {
    let text = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let identity = match text(USER_HEADER) {
        Some(user) => Some(Identity {
            user: user.to_owned(),
            scopes: text(SCOPES_HEADER)
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        }),
        None => text(header::AUTHORIZATION.as_str())
            .and_then(bearer::unverified_claims)
            .map(|(user, scopes)| Identity { user, scopes }),
    };
    match identity {
        None if parts.method == http::Method::OPTIONS => Ok(None),
        None => Err(Refusal::Unauthorized),
        Some(identity) => Ok(Some(identity)),
    }
}

/// The request of `identity` (see [`identity`]) as API Gateway would hand it to the API
/// function.
fn api_event(
    parts: &http::request::Parts,
    identity: Option<Identity>,
    body: &Bytes,
) -> Result<GatewayRequest, Refusal> {
    let mut event = GatewayRequest::new(parts.method.as_str(), parts.uri.path());
    event.raw_query = parts.uri.query().unwrap_or_default().to_owned();
    for (name, value) in &parts.headers {
        if set_by_the_gateway(name) {
            continue;
        }
        // API Gateway passes text on as it came; the handler refuses what it cannot read.
        let value = std::str::from_utf8(value.as_bytes())
            .map_err(|_| Refusal::HeaderNotText(name.clone()))?;
        // API Gateway joins repeated headers with commas.
        event
            .headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push(',');
                v.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    event = event
        .header(header::HOST.as_str(), LOCAL_DOMAIN)
        .header("x-forwarded-proto", "http")
        .header("x-forwarded-for", "127.0.0.1");
    if !body.is_empty() {
        let text = String::from_utf8(body.to_vec()).map_err(|_| Refusal::BodyNotUtf8)?;
        event.body = Some(text);
    }
    if let Some(identity) = identity {
        event = event.caller(&identity.user);
        event.scopes = identity.scopes;
    }
    Ok(event)
}

pub(super) async fn respond<T: TaskTable, Q: EventQueue, C: AnalyticsTable>(
    backend: &Backend<T, Q, C>,
    parts: &http::request::Parts,
    identity: Option<Identity>,
    body: Bytes,
) -> HttpResponse {
    let request = api_event(parts, identity, &body)
        .and_then(|event| event.try_to_request().map_err(Refusal::NotAnEvent));
    let request = match request {
        Ok(request) => request,
        Err(refusal) => return refusal.response(),
    };
    let response = backend.api.handle(request).await;
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

    /// The event of a request, its identity checked first as the server does.
    fn event_of(parts: &http::request::Parts, body: &Bytes) -> Result<GatewayRequest, Refusal> {
        api_event(parts, identity(parts)?, body)
    }

    fn parts(method: &str, uri: &str, headers: &[(&str, &[u8])]) -> http::request::Parts {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, http::HeaderValue::from_bytes(value).unwrap());
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn identity_headers_become_authorizer_claims_and_are_not_passed_on() {
        let parts = parts(
            "GET",
            "/analytics/global?from=2026-01-01",
            &[
                ("x-local-user", b"ana"),
                ("x-local-scopes", b"analytics:read  tasks:write"),
                ("accept", b"application/json"),
                ("x-trace", b"a"),
                ("x-trace", b"b"),
            ],
        );
        let event = event_of(&parts, &Bytes::new()).unwrap();
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
        let parts = parts("GET", "/tasks", &[("authorization", b"Bearer x")]);
        let refusal = event_of(&parts, &Bytes::new()).unwrap_err();
        assert_eq!(refusal, Refusal::Unauthorized);
        assert_eq!(refusal.response().status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn a_body_that_is_not_utf8_is_a_bad_request() {
        let parts = parts("POST", "/tasks", &[("x-local-user", b"ana")]);
        let refusal = event_of(&parts, &Bytes::from_static(&[0xff, 0xfe])).unwrap_err();
        assert_eq!(refusal.response().status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn host_and_forwarding_headers_are_the_gateways_own() {
        for (name, value) in [
            ("host", &b"x/analytics/global?"[..]),
            ("host", b"localhost:99999"),
            ("host", b"[::1"),
            ("x-forwarded-proto", b"1x"),
            ("x-forwarded-host", b"evil.example"),
            ("forwarded", b"for=1.2.3.4"),
        ] {
            let parts = parts("GET", "/tasks", &[("x-local-user", b"ana"), (name, value)]);
            let event = event_of(&parts, &Bytes::new()).unwrap();
            let headers = &event.to_json()["headers"];
            assert_eq!(headers["host"], LOCAL_DOMAIN, "{name}");
            assert_eq!(headers["x-forwarded-proto"], "http", "{name}");
            assert!(headers.get("x-forwarded-host").is_none());
            assert!(headers.get("forwarded").is_none());
            let request = event.try_to_request().unwrap();
            assert_eq!(request.uri().path(), "/tasks", "{name}");
        }
    }

    #[test]
    fn utf8_header_values_are_passed_on_and_others_refused() {
        let utf8 = parts(
            "POST",
            "/tasks",
            &[
                ("x-local-user", b"ana"),
                ("idempotency-key", "ключ".as_bytes()),
            ],
        );
        let event = event_of(&utf8, &Bytes::new()).unwrap();
        assert_eq!(event.headers["idempotency-key"], "ключ");

        let latin1 = parts(
            "POST",
            "/tasks",
            &[("x-local-user", b"ana"), ("if-match", b"\"\xe4\"")],
        );
        let refusal = event_of(&latin1, &Bytes::new()).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::HeaderNotText(HeaderName::from_static("if-match"))
        );
        assert_eq!(refusal.response().status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_bearer_token_names_the_caller_when_no_local_user_is_given() {
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"sub":"ana","scope":"analytics:read"}"#);
        let authorization = format!("Bearer e30.{payload}.sig");
        let parts = parts(
            "GET",
            "/analytics/global",
            &[("authorization", authorization.as_bytes())],
        );
        let json = event_of(&parts, &Bytes::new()).unwrap().to_json();
        let authorizer = &json["requestContext"]["authorizer"]["jwt"];
        assert_eq!(authorizer["claims"]["sub"], "ana");
        assert_eq!(authorizer["scopes"], json!(["analytics:read"]));
        let garbage = parts_with_authorization("Bearer not-a-jwt");
        assert_eq!(
            event_of(&garbage, &Bytes::new()).unwrap_err(),
            Refusal::Unauthorized
        );
    }

    fn parts_with_authorization(value: &str) -> http::request::Parts {
        parts("GET", "/tasks", &[("authorization", value.as_bytes())])
    }
}
