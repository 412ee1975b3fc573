//! The HTTP API: API Gateway HTTP API (payload v2) requests, authorised by a JWT authorizer.
//!
//! The caller is the `sub` claim the authorizer put in the request context; it is never read
//! from the body. Every error is an `application/problem+json` response; nothing panics and no
//! internal detail leaks to the caller.

use chrono::{DateTime, Utc};
use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use taskpulse_app::{
    CommandError, InsertTask, MarkEventsPublished, NewTask, PublishEvents, TaskCommands,
};
use taskpulse_domain::task::StatusChange;
use taskpulse_domain::{Description, DomainError, Priority, Task, Title, UserId};

use crate::problem::{FieldError, Problem};

/// Request bodies larger than this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The routes this handler serves, as `(method, path template)`.
pub const ROUTES: &[(&str, &str)] = &[("POST", "/tasks")];

/// The HTTP API over the task commands.
pub struct Api<S, P> {
    commands: TaskCommands<S, P>,
}

/// The authenticated caller, as the JWT authorizer described them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
}

/// A task as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskView<'a> {
    id: String,
    user_id: &'a str,
    title: &'a str,
    description: Option<&'a str>,
    priority: Priority,
    status: taskpulse_domain::TaskStatus,
    status_history: &'a [StatusChange],
    planned_accomplish_date: DateTime<Utc>,
    actual_accomplish_date: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    version: u64,
}

impl<'a> From<&'a Task> for TaskView<'a> {
    fn from(task: &'a Task) -> Self {
        Self {
            id: task.id.to_string(),
            user_id: task.owner.as_str(),
            title: task.title.as_str(),
            description: task.description.as_ref().map(Description::as_str),
            priority: task.priority,
            status: task.status(),
            status_history: &task.status_history,
            planned_accomplish_date: task.planned_accomplish_date,
            actual_accomplish_date: task.actual_accomplish_date,
            created_at: task.created_at,
            version: task.version,
        }
    }
}

impl<S, P> Api<S, P>
where
    S: InsertTask + MarkEventsPublished,
    P: PublishEvents,
{
    pub fn new(commands: TaskCommands<S, P>) -> Self {
        Self { commands }
    }

    pub fn commands(&self) -> &TaskCommands<S, P> {
        &self.commands
    }

    /// Serves one request. Always answers: failures become problem responses.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        match self.route(&request).await {
            Ok(response) => response,
            Err(problem) => problem.into_response(),
        }
    }

    async fn route(&self, request: &Request) -> Result<Response<Body>, Problem> {
        let path = request.uri().path().trim_end_matches('/');
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["tasks"] => match *request.method() {
                Method::POST => self.create_task(request).await,
                _ => Err(method_not_allowed("POST")),
            },
            _ => Err(Problem::new(
                StatusCode::NOT_FOUND,
                format!("no route for {path}"),
            )),
        }
    }

    async fn create_task(&self, request: &Request) -> Result<Response<Body>, Problem> {
        let caller = caller(request)?;
        let body = json_object_body(request)?;
        let new_task = parse_new_task(&body)?;
        let task = self
            .commands
            .create_task(caller.user_id, new_task)
            .await
            .map_err(command_problem)?;
        let mut response = task_response(&task, StatusCode::CREATED);
        if let Ok(location) = HeaderValue::from_str(&format!("/tasks/{}", task.id)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(response)
    }
}

fn method_not_allowed(allow: &'static str) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("this resource supports {allow} only"),
    )
    .with_header(header::ALLOW, allow)
}

/// The caller from the JWT authorizer's claims in the request context.
pub fn caller(request: &Request) -> Result<Caller, Problem> {
    let unauthorized = |detail: &str| Problem::new(StatusCode::UNAUTHORIZED, detail);
    let claims = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref())
            .map(|jwt| &jwt.claims),
        _ => None,
    };
    let sub = claims.and_then(|claims| claims.get("sub")).ok_or_else(|| {
        unauthorized("no authenticated caller: the request carries no JWT 'sub' claim")
    })?;
    let user_id = UserId::parse(sub)
        .map_err(|e| unauthorized(&format!("the JWT 'sub' claim is not a usable user id: {e}")))?;
    Ok(Caller { user_id })
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
fn json_object_body(request: &Request) -> Result<Map<String, Value>, Problem> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is {} bytes; at most {MAX_BODY_BYTES} are accepted",
                bytes.len()
            ),
        ));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !is_json_media_type(content_type) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        )),
        Err(e) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

/// Reads the fields of a create request, collecting every problem rather than the first.
fn parse_new_task(body: &Map<String, Value>) -> Result<NewTask, Problem> {
    const FIELDS: [&str; 4] = ["title", "description", "priority", "plannedAccomplishDate"];
    let mut errors: Vec<FieldError> = body
        .keys()
        .filter(|key| !FIELDS.contains(&key.as_str()))
        .map(|key| FieldError::new(key, "unknown field"))
        .collect();

    let title = match body.get("title") {
        Some(Value::String(raw)) => Title::parse(raw)
            .map_err(|e| errors.push(FieldError::new("title", e.to_string())))
            .ok(),
        Some(_) => {
            errors.push(FieldError::new("title", "must be a string"));
            None
        }
        None => {
            errors.push(FieldError::new("title", "is required"));
            None
        }
    };
    let description = match body.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => match Description::parse(raw) {
            Ok(description) => Some(description),
            Err(e) => {
                errors.push(FieldError::new("description", e.to_string()));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new("description", "must be a string"));
            None
        }
    };
    let priority = match body.get("priority") {
        None | Some(Value::Null) => Some(Priority::default()),
        Some(Value::String(raw)) => raw
            .parse::<Priority>()
            .map_err(|e| errors.push(FieldError::new("priority", e.to_string())))
            .ok(),
        Some(_) => {
            errors.push(FieldError::new("priority", "must be a string"));
            None
        }
    };
    let planned = required_timestamp(body, "plannedAccomplishDate", &mut errors);

    match (title, priority, planned) {
        (Some(title), Some(priority), Some(planned_accomplish_date)) if errors.is_empty() => {
            Ok(NewTask {
                title,
                description,
                priority,
                planned_accomplish_date,
            })
        }
        _ => Err(Problem::validation(errors)),
    }
}

fn required_timestamp(
    body: &Map<String, Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    match body.get(field) {
        Some(Value::String(raw)) => {
            match DateTime::parse_from_rfc3339(raw) {
                Ok(at) => Some(at.with_timezone(&Utc)),
                Err(_) => {
                    errors.push(FieldError::new(
                    field,
                    format!("must be an RFC 3339 timestamp such as 2026-12-01T17:00:00Z (got '{raw}')"),
                ));
                    None
                }
            }
        }
        Some(_) => {
            errors.push(FieldError::new(
                field,
                "must be an RFC 3339 timestamp string",
            ));
            None
        }
        None => {
            errors.push(FieldError::new(field, "is required"));
            None
        }
    }
}

fn task_response(task: &Task, status: StatusCode) -> Response<Body> {
    let json = serde_json::to_string(&TaskView::from(task)).unwrap_or_default();
    let mut response = Response::new(Body::from(json));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", task.version)) {
        headers.insert(header::ETAG, etag);
    }
    response
}

fn command_problem(error: CommandError) -> Problem {
    match error {
        CommandError::Domain(DomainError::NotFound) => {
            Problem::new(StatusCode::NOT_FOUND, "no such task")
        }
        CommandError::Domain(
            e @ (DomainError::AtInFuture { .. } | DomainError::AtBeforeCurrentStatus { .. }),
        ) => Problem::validation(vec![FieldError::new("at", e.to_string())]),
        CommandError::Domain(e) => Problem::new(StatusCode::CONFLICT, e.to_string()),
        CommandError::Conflict => Problem::new(
            StatusCode::CONFLICT,
            "the task changed concurrently; read it again and retry",
        ),
        CommandError::Unavailable(reason) => {
            tracing::error!(%reason, "dependency unavailable");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "a dependency is unavailable; retry later",
            )
            .with_header(header::RETRY_AFTER, "1")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apigw::HttpApiEvent;
    use serde_json::json;
    use taskpulse_app::memory::{MemoryEventQueue, MemoryTaskStore};

    fn api() -> Api<MemoryTaskStore, MemoryEventQueue> {
        Api::new(TaskCommands::new(
            MemoryTaskStore::default(),
            MemoryEventQueue::default(),
        ))
    }

    fn request(
        method: &str,
        path: &str,
        sub: Option<&str>,
        content_type: &str,
        body: &str,
    ) -> Request {
        let event = HttpApiEvent::new(method, path).raw_body(content_type, body);
        match sub {
            Some(sub) => event.caller(sub),
            None => event,
        }
        .to_request()
    }

    async fn call(
        api: &Api<MemoryTaskStore, MemoryEventQueue>,
        req: Request,
    ) -> (StatusCode, Value, http::HeaderMap) {
        let response = api.handle(req).await;
        let status = response.status();
        let headers = response.headers().clone();
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        (status, body, headers)
    }

    const VALID: &str = r#"{"title":"  Write report ","priority":"high","plannedAccomplishDate":"2030-01-01T12:00:00+02:00"}"#;

    #[tokio::test]
    async fn create_answers_201_with_the_task_location_and_etag() {
        let api = api();
        let (status, body, headers) = call(
            &api,
            request("POST", "/tasks", Some("user-1"), "application/json", VALID),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(body["title"], "Write report");
        assert_eq!(body["userId"], "user-1");
        assert_eq!(body["priority"], "high");
        assert_eq!(body["status"], "new");
        assert_eq!(body["version"], 1);
        assert_eq!(body["plannedAccomplishDate"], "2030-01-01T10:00:00Z");
        assert_eq!(body["statusHistory"][0]["status"], "new");
        assert!(body["actualAccomplishDate"].is_null());
        let id = body["id"].as_str().unwrap();
        assert_eq!(headers[header::LOCATION], format!("/tasks/{id}").as_str());
        assert_eq!(headers[header::ETAG], "\"1\"");
        assert_eq!(api.commands().store().len(), 1);
    }

    #[tokio::test]
    async fn the_owner_comes_from_the_token_never_the_body() {
        let api = api();
        let body =
            r#"{"title":"x","plannedAccomplishDate":"2030-01-01T00:00:00Z","userId":"mallory"}"#;
        let (status, problem, _) = call(
            &api,
            request("POST", "/tasks", Some("user-1"), "application/json", body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["errors"][0]["field"], "userId");
    }

    #[tokio::test]
    async fn priority_defaults_to_medium() {
        let api = api();
        let body = r#"{"title":"x","plannedAccomplishDate":"2030-01-01T00:00:00Z"}"#;
        let (status, task, _) = call(
            &api,
            request("POST", "/tasks", Some("u"), "application/json", body),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(task["priority"], "medium");
    }

    #[tokio::test]
    async fn invalid_fields_are_all_named() {
        let api = api();
        let body = r#"{"title":"   ","priority":"urgent","plannedAccomplishDate":"tomorrow"}"#;
        let (status, problem, headers) = call(
            &api,
            request("POST", "/tasks", Some("u"), "application/json", body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["title", "priority", "plannedAccomplishDate"]);
        assert_eq!(problem["status"], 400);
        assert!(api.commands().store().is_empty());
    }

    #[tokio::test]
    async fn missing_and_mistyped_fields_are_named() {
        let api = api();
        let (_, problem, _) = call(
            &api,
            request(
                "POST",
                "/tasks",
                Some("u"),
                "application/json",
                r#"{"title": 5}"#,
            ),
        )
        .await;
        let errors = problem["errors"].as_array().unwrap();
        assert_eq!(
            errors[0],
            json!({"field": "title", "detail": "must be a string"})
        );
        assert_eq!(
            errors[1],
            json!({"field": "plannedAccomplishDate", "detail": "is required"})
        );
    }

    #[tokio::test]
    async fn malformed_json_is_400() {
        let api = api();
        for body in [r#"{"title":"#, "[1,2]", ""] {
            let (status, problem, _) = call(
                &api,
                request("POST", "/tasks", Some("u"), "application/json", body),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(
                problem["detail"].as_str().unwrap().contains("JSON"),
                "{problem}"
            );
        }
    }

    #[tokio::test]
    async fn no_identity_is_401() {
        let api = api();
        let (status, problem, _) = call(
            &api,
            request("POST", "/tasks", None, "application/json", VALID),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(problem["title"], "Unauthorized");
        assert!(api.commands().store().is_empty());
    }

    #[tokio::test]
    async fn wrong_media_type_size_route_and_method() {
        let api = api();
        let (status, ..) = call(
            &api,
            request("POST", "/tasks", Some("u"), "text/plain", VALID),
        )
        .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let big = format!(
            r#"{{"title":"x","description":"{}"}}"#,
            "a".repeat(MAX_BODY_BYTES)
        );
        let (status, ..) = call(
            &api,
            request("POST", "/tasks", Some("u"), "application/json", &big),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let (status, ..) = call(
            &api,
            request("POST", "/nope", Some("u"), "application/json", VALID),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, headers) = call(
            &api,
            request("DELETE", "/tasks", Some("u"), "application/json", ""),
        )
        .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers[header::ALLOW], "POST");
        let (status, ..) = call(
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
        assert_eq!(status, StatusCode::CREATED);
    }
}
