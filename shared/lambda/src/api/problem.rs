//! Error responses as RFC 9457 problem details (`application/problem+json`).
//!
//! Every way a request can fail is a constructor here or a conversion of an application error,
//! so this file alone decides which status and detail each failure answers with.

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use taskpulse_app::{CommandError, StoreError};
use taskpulse_domain::DomainError;

use super::response::json_response_as;

/// One invalid input field, named as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(field: &str, detail: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            detail: detail.into(),
        }
    }
}

/// The invalid fields of one request, collected so that the client hears of all of them at
/// once rather than one per attempt.
#[derive(Debug, Default)]
pub(super) struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Starts with an error for each name that is not among `known`.
    pub(super) fn unknown<'a>(
        names: impl IntoIterator<Item = &'a str>,
        known: &[&str],
        detail: &str,
    ) -> Self {
        Self(
            names
                .into_iter()
                .filter(|name| !known.contains(name))
                .map(|name| FieldError::new(name, detail))
                .collect(),
        )
    }

    pub(super) fn push(&mut self, field: &str, detail: impl Into<String>) {
        self.0.push(FieldError::new(field, detail));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `value` when every field was valid, else a validation problem naming each invalid one.
    pub(super) fn finish<T>(self, value: Option<T>) -> Result<T, Problem> {
        match value {
            Some(value) if self.is_empty() => Ok(value),
            _ => Err(Problem::validation(self.0)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: StatusCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Extra response headers, such as `Allow` on 405 or `Retry-After` on 503.
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    r#type: &'static str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            errors: vec![],
            headers: vec![],
        }
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        Self {
            detail: format!("invalid fields: {}", fields.join(", ")),
            errors,
            ..Self::new(StatusCode::BAD_REQUEST, "")
        }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: &'static str) -> Self {
        self.headers.push((name, HeaderValue::from_static(value)));
        self
    }

    pub fn into_response(self) -> Response<Body> {
        let body = ProblemBody {
            // "about:blank": the status code and title say all there is to say about the type.
            r#type: "about:blank",
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
        };
        let mut response = json_response_as(self.status, "application/problem+json", &body);
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }

    pub(super) fn no_route(path: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("no route for {path}"))
    }

    pub(super) fn method_not_allowed(allow: &'static str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("this resource supports {allow} only"),
        )
        .with_header(header::ALLOW, allow)
    }

    /// An unknown task, someone else's task and an id that is no task id all look the same.
    pub(super) fn no_such_task() -> Self {
        Self::new(StatusCode::NOT_FOUND, "no such task")
    }

    pub(super) fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// The caller is known but their token lacks `scope`, which `what` needs.
    pub(super) fn missing_scope(scope: &str, what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("{what} need the '{scope}' scope"),
        )
    }

    pub(super) fn body_too_large(bytes: usize, max_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is {bytes} bytes; at most {max_bytes} are accepted"),
        )
    }

    pub(super) fn body_not_json() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON (Content-Type: application/json)",
        )
    }

    pub(super) fn body_not_an_object() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "the body must be a JSON object")
    }

    pub(super) fn invalid_json(error: &serde_json::Error) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {error}"),
        )
    }
}

impl From<CommandError> for Problem {
    fn from(error: CommandError) -> Self {
        match error {
            CommandError::NotFound => Self::no_such_task(),
            CommandError::Domain(
                e @ (DomainError::AtInFuture { .. } | DomainError::AtBeforeCurrentStatus { .. }),
            ) => Self::validation(vec![FieldError::new("at", e.to_string())]),
            CommandError::Domain(
                e @ (DomainError::Terminal(_) | DomainError::AlreadyExists(_)),
            ) => Self::new(StatusCode::CONFLICT, e.to_string()),
            CommandError::Domain(e) => {
                // Events that do not follow the stored state: a defect, not the caller's doing.
                tracing::error!(error = %e, "stored task and its events disagree");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
            CommandError::PreconditionFailed { .. } => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "the task changed since the version in If-Match; read it again",
            ),
            CommandError::IdempotencyKeyReused => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "this Idempotency-Key was already used with a different request",
            ),
            CommandError::Conflict => Self::new(
                StatusCode::CONFLICT,
                "the task kept changing concurrently; retry",
            ),
            CommandError::Unavailable(reason) => {
                tracing::error!(%reason, "dependency unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "a dependency is unavailable; retry later",
                )
                .with_header(header::RETRY_AFTER, "1")
            }
        }
    }
}

/// A store failure outside a command (the analytics reads) answers as it would inside one.
impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        CommandError::from(error).into()
    }
}

#[cfg(test)]
mod tests {
    use http::{StatusCode, header};

    use crate::api::test_support::{api, create_valid, send};

    #[tokio::test]
    async fn an_unavailable_store_is_503_without_internal_detail() {
        let api = api();
        api.commands().store().set_unavailable(true);
        let r = send(&api, create_valid("u")).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers[header::RETRY_AFTER], "1");
        assert!(!r.body["detail"].as_str().unwrap().contains("task store"));
    }
}
