//! What a command request carries besides its path: the JSON object body (size and media type
//! checked first; its fields are read in `fields`), and the `If-Match` and `Idempotency-Key`
//! headers.

use http::{HeaderMap, header};
use lambda_http::Request;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use taskpulse_app::{CommandContext, IdempotencyKey};

use super::entity_tags;
use super::identity::Caller;
use super::problem::{FieldError, Problem};

/// Request bodies larger than this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// A command's input read from the body by `parse_body`, then its context from the headers:
/// body problems are reported before header problems.
pub(super) fn command_request<T>(
    request: &Request,
    caller: Caller,
    parse_body: impl FnOnce(&Map<String, Value>) -> Result<T, Problem>,
) -> Result<(T, CommandContext), Problem> {
    let input = parse_body(&json_object_body(request)?)?;
    Ok((input, command_context(request, caller)?))
}

/// `If-Match` and `Idempotency-Key`, and the caller, as the use cases need them.
fn command_context(request: &Request, caller: Caller) -> Result<CommandContext, Problem> {
    let headers = request.headers();
    let if_match = match header_text(headers, "If-Match")? {
        None => None,
        Some(raw) => Some(entity_tags::if_match(&raw).ok_or_else(|| {
            Problem::validation(vec![FieldError::new(
                "If-Match",
                entity_tags::IF_MATCH_EXPECTED,
            )])
        })?),
    };
    let idempotency = match header_text(headers, "Idempotency-Key")? {
        None => None,
        Some(key) => {
            let valid = !key.is_empty()
                && key.chars().count() <= MAX_IDEMPOTENCY_KEY_CHARS
                && key.chars().all(|c| c.is_ascii_graphic());
            if !valid {
                return Err(Problem::validation(vec![FieldError::new(
                    "Idempotency-Key",
                    format!("must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"),
                )]));
            }
            Some(IdempotencyKey {
                key: key.to_owned(),
                fingerprint: request_fingerprint(request),
            })
        }
    };
    Ok(CommandContext {
        caller: caller.user_id,
        if_match,
        idempotency,
    })
}

/// A header's value, trimmed; `name` as problems name it (headers match in any case). Values
/// of repeated lines are joined with commas, as API Gateway joins them. One that is not visible
/// ASCII is refused rather than ignored: a precondition or an idempotency key the server cannot
/// read must not be dropped.
pub(super) fn header_text(headers: &HeaderMap, name: &str) -> Result<Option<String>, Problem> {
    let mut texts = vec![];
    for value in headers.get_all(name) {
        let text = value.to_str().map_err(|_| {
            Problem::validation(vec![FieldError::new(name, "must be visible ASCII")])
        })?;
        texts.push(text.trim());
    }
    Ok((!texts.is_empty()).then(|| texts.join(", ")))
}

/// Identifies a request for idempotency: the same key may only be retried with the same
/// method, path and body.
fn request_fingerprint(request: &Request) -> String {
    let mut hasher = Sha256::new();
    hasher.update(request.method().as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(request.uri().path().as_bytes());
    hasher.update(b"\n");
    hasher.update(request.body().as_ref());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The body as a JSON object, after the size and media-type checks.
pub(super) fn json_object_body(request: &Request) -> Result<Map<String, Value>, Problem> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Problem::body_too_large(bytes.len(), MAX_BODY_BYTES));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !is_json_media_type(content_type) {
        return Err(Problem::body_not_json());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(Problem::body_not_an_object()),
        Err(e) => Err(Problem::invalid_json(&e)),
    }
}

#[cfg(test)]
mod tests {
    use http::{StatusCode, header};
    use serde_json::json;

    use super::*;
    use crate::api::test_support::{VALID, api, create, fields, post, request, send};

    #[tokio::test]
    async fn malformed_json_is_400() {
        let api = api();
        for body in [r#"{"title":"#, "[1,2]", ""] {
            let r = send(
                &api,
                request("POST", "/tasks", Some("u"), "application/json", body),
            )
            .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
            assert!(
                r.body["detail"].as_str().unwrap().contains("JSON"),
                "{}",
                r.body
            );
        }
    }

    #[tokio::test]
    async fn wrong_media_type_and_size() {
        let api = api();
        let r = send(
            &api,
            request("POST", "/tasks", Some("u"), "text/plain", VALID),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let big = format!(
            r#"{{"title":"x","description":"{}"}}"#,
            "a".repeat(MAX_BODY_BYTES)
        );
        let r = send(
            &api,
            request("POST", "/tasks", Some("u"), "application/json", &big),
        )
        .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        let r = send(
            &api,
            request(
                "POST",
                "/tasks",
                Some("u"),
                "application/merge-patch+json; charset=utf-8",
                VALID,
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }

    #[tokio::test]
    async fn if_match_guards_against_lost_updates() {
        let api = api();
        let id = create(&api, "u").await;
        let path = format!("/tasks/{id}/priority");
        let stale = post(&path, "u", json!({"priority": "low"})).header("if-match", "\"7\"");
        assert_eq!(
            send(&api, stale).await.status,
            StatusCode::PRECONDITION_FAILED
        );
        let garbage = post(&path, "u", json!({"priority": "low"})).header("if-match", "\"abc\"");
        assert_eq!(
            send(&api, garbage).await.status,
            StatusCode::PRECONDITION_FAILED
        );
        let current = post(&path, "u", json!({"priority": "low"})).header("if-match", "\"1\"");
        assert_eq!(send(&api, current).await.status, StatusCode::OK);
        let any = post(&path, "u", json!({"priority": "high"})).header("if-match", "*");
        assert_eq!(send(&api, any).await.status, StatusCode::OK);
    }

    #[tokio::test]
    async fn idempotency_key_replays_and_refuses_reuse() {
        let api = api();
        let body = json!({"title": "once", "plannedAccomplishDate": "2030-01-01T00:00:00Z"});
        let first = send(
            &api,
            post("/tasks", "u", body.clone()).header("idempotency-key", "abc-1"),
        )
        .await;
        let again = send(
            &api,
            post("/tasks", "u", body.clone()).header("idempotency-key", "abc-1"),
        )
        .await;
        assert_eq!(first.status, StatusCode::CREATED);
        assert_eq!(again.status, StatusCode::CREATED);
        assert_eq!(again.body, first.body);
        assert_eq!(
            again.headers[header::LOCATION],
            first.headers[header::LOCATION]
        );
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(api.commands().store().len(), 1);
        assert_eq!(
            api.commands().publisher().drain().len(),
            1,
            "the replay emitted nothing"
        );
        let other = json!({"title": "twice", "plannedAccomplishDate": "2030-01-01T00:00:00Z"});
        let reused = send(
            &api,
            post("/tasks", "u", other).header("idempotency-key", "abc-1"),
        )
        .await;
        assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
        let invalid = send(
            &api,
            post("/tasks", "u", body).header("idempotency-key", "has space"),
        )
        .await;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
        assert_eq!(fields(&invalid.body), ["Idempotency-Key"]);
    }

    #[tokio::test]
    async fn header_values_that_are_not_ascii_are_refused_never_ignored() {
        let api = api();
        let id = create(&api, "u").await;
        let keyed = || post("/tasks", "u", serde_json::from_str(VALID).unwrap());
        for _ in 0..2 {
            let r = send(&api, keyed().header("idempotency-key", "ключ")).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
            assert_eq!(fields(&r.body), ["Idempotency-Key"]);
        }
        let guarded = post(
            &format!("/tasks/{id}/priority"),
            "u",
            json!({"priority": "low"}),
        )
        .header("if-match", "ä");
        let r = send(&api, guarded).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(fields(&r.body), ["If-Match"]);
        assert_eq!(
            api.commands().store().len(),
            1,
            "nothing was created or changed"
        );
        assert_eq!(
            api.commands()
                .store()
                .get(id.parse().unwrap())
                .unwrap()
                .task
                .version,
            1
        );
    }
}
