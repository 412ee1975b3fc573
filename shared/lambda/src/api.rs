//! The HTTP API: API Gateway HTTP API (payload v2) requests, authorised by a JWT authorizer.
//!
//! The caller is the `sub` claim the authorizer put in the request context; it is never read
//! from the body. Every error is an `application/problem+json` response; nothing panics and no
//! internal detail leaks to the caller. The routes are described in `docs/openapi.yaml`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Days, NaiveDate, Utc};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use taskpulse_app::{
    AnalyticsReport, CommandContext, CommandError, CommandOutcome, IdempotencyKey, ListCursor,
    ListQuery, ListTasks, LoadIdempotency, LoadTask, MarkEventsPublished, NewTask, PublishEvents,
    ReadCounters, SaveTask, TaskCommands, analytics_report,
};
use taskpulse_domain::analytics::{Counter, Scope};
use taskpulse_domain::task::StatusChange;
use taskpulse_domain::{
    Description, DomainError, Priority, Task, TaskCommand, TaskId, TaskStatus, Title, UserId,
};

use crate::problem::{FieldError, Problem};

/// Request bodies larger than this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Page size of `GET /tasks` when the caller gives none, and the largest it may ask for.
pub const DEFAULT_PAGE_SIZE: usize = 20;
pub const MAX_PAGE_SIZE: usize = 100;
/// The OAuth scope that lets a caller read everyone's analytics.
pub const ANALYTICS_READ_SCOPE: &str = "analytics:read";
/// The analytics range when the caller names none, and the longest one they may ask for.
pub const DEFAULT_ANALYTICS_DAYS: u64 = 30;
pub const MAX_ANALYTICS_DAYS: i64 = 366;
/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// The routes this handler serves, as `(method, path template)`; `docs/openapi.yaml` must
/// describe exactly these (checked by a test).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/analytics/me"),
    ("GET", "/analytics/global"),
    ("GET", "/tasks"),
    ("POST", "/tasks"),
    ("GET", "/tasks/{id}"),
    ("POST", "/tasks/{id}/status"),
    ("POST", "/tasks/{id}/priority"),
    ("POST", "/tasks/{id}/planned-date"),
];

/// The HTTP API over the task commands.
pub struct Api<S, P, R> {
    commands: TaskCommands<S, P>,
    analytics: R,
}

/// The authenticated caller, as the JWT authorizer described them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    /// OAuth scopes of the token (from `scopes`, or the space-separated `scope` claim).
    pub scopes: Vec<String>,
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
    status: TaskStatus,
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskListView<'a> {
    items: Vec<TaskView<'a>>,
    next_cursor: Option<String>,
}

/// Which command a `POST /tasks/{id}/…` route carries.
#[derive(Debug, Clone, Copy)]
enum ChangeRoute {
    Status,
    Priority,
    PlannedDate,
}

impl<S, P, R> Api<S, P, R>
where
    S: LoadTask + SaveTask + LoadIdempotency + MarkEventsPublished + ListTasks,
    P: PublishEvents,
    R: ReadCounters,
{
    pub fn new(commands: TaskCommands<S, P>, analytics: R) -> Self {
        Self {
            commands,
            analytics,
        }
    }

    pub fn analytics(&self) -> &R {
        &self.analytics
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
        let method = request.method();
        match segments.as_slice() {
            ["tasks"] => match *method {
                Method::GET => self.list_tasks(request).await,
                Method::POST => self.create_task(request).await,
                _ => Err(method_not_allowed("GET, POST")),
            },
            ["tasks", id] => match *method {
                Method::GET => self.get_task(request, id).await,
                _ => Err(method_not_allowed("GET")),
            },
            ["tasks", id, action] => {
                let route = match *action {
                    "status" => ChangeRoute::Status,
                    "priority" => ChangeRoute::Priority,
                    "planned-date" => ChangeRoute::PlannedDate,
                    _ => return Err(not_found_route(path)),
                };
                match *method {
                    Method::POST => self.change_task(request, id, route).await,
                    _ => Err(method_not_allowed("POST")),
                }
            }
            ["analytics", which @ ("me" | "global")] => match *method {
                Method::GET => self.analytics_report(request, which).await,
                _ => Err(method_not_allowed("GET")),
            },
            _ => Err(not_found_route(path)),
        }
    }

    async fn analytics_report(
        &self,
        request: &Request,
        which: &str,
    ) -> Result<Response<Body>, Problem> {
        let caller = caller(request)?;
        let scope = if which == "global" {
            if !caller.scopes.iter().any(|s| s == ANALYTICS_READ_SCOPE) {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    format!("everyone's analytics need the '{ANALYTICS_READ_SCOPE}' scope"),
                ));
            }
            Scope::Global
        } else {
            Scope::User(caller.user_id)
        };
        let (from, to) = analytics_range(request, Utc::now().date_naive())?;
        let report = analytics_report(&self.analytics, &scope, from, to)
            .await
            .map_err(|e| command_problem(e.into()))?;
        Ok(json_response(
            StatusCode::OK,
            &AnalyticsView::new(&scope, &report),
        ))
    }

    async fn create_task(&self, request: &Request) -> Result<Response<Body>, Problem> {
        let caller = caller(request)?;
        let body = json_object_body(request)?;
        let new_task = parse_new_task(&body)?;
        let context = command_context(request, caller)?;
        let outcome = self
            .commands
            .create_task(&context, new_task)
            .await
            .map_err(command_problem)?;
        Ok(outcome_response(&outcome))
    }

    async fn get_task(&self, request: &Request, id: &str) -> Result<Response<Body>, Problem> {
        let caller = caller(request)?;
        let id = task_id(id)?;
        let task = self
            .commands
            .get_task(&caller.user_id, id)
            .await
            .map_err(command_problem)?;
        Ok(task_response(&task, StatusCode::OK))
    }

    async fn list_tasks(&self, request: &Request) -> Result<Response<Body>, Problem> {
        let caller = caller(request)?;
        let query = list_query(request)?;
        let page = self
            .commands
            .list_tasks(&caller.user_id, &query)
            .await
            .map_err(command_problem)?;
        let view = TaskListView {
            items: page.tasks.iter().map(TaskView::from).collect(),
            next_cursor: page.next.as_ref().map(encode_cursor),
        };
        Ok(json_response(StatusCode::OK, &view))
    }

    async fn change_task(
        &self,
        request: &Request,
        id: &str,
        route: ChangeRoute,
    ) -> Result<Response<Body>, Problem> {
        let caller = caller(request)?;
        let id = task_id(id)?;
        let body = json_object_body(request)?;
        let command = match route {
            ChangeRoute::Status => parse_status_change(&body)?,
            ChangeRoute::Priority => parse_priority_change(&body)?,
            ChangeRoute::PlannedDate => parse_planned_date_change(&body)?,
        };
        let context = command_context(request, caller)?;
        let outcome = self
            .commands
            .change_task(&context, id, command)
            .await
            .map_err(command_problem)?;
        Ok(outcome_response(&outcome))
    }
}

fn not_found_route(path: &str) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, format!("no route for {path}"))
}

fn method_not_allowed(allow: &'static str) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("this resource supports {allow} only"),
    )
    .with_header(header::ALLOW, allow)
}

/// An id that is not a UUID names no task: 404, like any unknown task.
fn task_id(raw: &str) -> Result<TaskId, Problem> {
    raw.parse()
        .map_err(|_| Problem::new(StatusCode::NOT_FOUND, "no such task"))
}

/// The caller from the JWT authorizer's claims in the request context.
pub fn caller(request: &Request) -> Result<Caller, Problem> {
    let unauthorized = |detail: &str| Problem::new(StatusCode::UNAUTHORIZED, detail);
    let jwt = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref()),
        _ => None,
    };
    let sub = jwt.and_then(|jwt| jwt.claims.get("sub")).ok_or_else(|| {
        unauthorized("no authenticated caller: the request carries no JWT 'sub' claim")
    })?;
    let user_id = UserId::parse(sub)
        .map_err(|e| unauthorized(&format!("the JWT 'sub' claim is not a usable user id: {e}")))?;
    let mut scopes: Vec<String> = jwt.and_then(|jwt| jwt.scopes.clone()).unwrap_or_default();
    if let Some(scope) = jwt.and_then(|jwt| jwt.claims.get("scope")) {
        scopes.extend(scope.split_whitespace().map(str::to_owned));
    }
    Ok(Caller { user_id, scopes })
}

/// `If-Match` and `Idempotency-Key`, and the caller, as the use cases need them.
fn command_context(request: &Request, caller: Caller) -> Result<CommandContext, Problem> {
    let headers = request.headers();
    let if_match = match header_text(headers, header::IF_MATCH.as_str())? {
        None => None,
        Some(raw) => parse_if_match(raw)?,
    };
    let idempotency = match header_text(headers, "idempotency-key")? {
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

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, Problem> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| Problem::validation(vec![FieldError::new(name, "must be visible ASCII")])),
    }
}

/// `If-Match: "3"` (or `W/"3"`, or `3`) names version 3; `*` matches any version.
fn parse_if_match(raw: &str) -> Result<Option<u64>, Problem> {
    if raw == "*" {
        return Ok(None);
    }
    let tag = raw.trim_start_matches("W/").trim_matches('"');
    tag.parse::<u64>().map(Some).map_err(|_| {
        Problem::new(
            StatusCode::PRECONDITION_FAILED,
            format!("If-Match {raw} names no version of this task"),
        )
    })
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

/// Reads the fields of a JSON object one by one, collecting every problem rather than the
/// first, and refusing fields it was not asked about.
struct Fields<'a> {
    body: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    fn new(body: &'a Map<String, Value>, known: &[&str]) -> Self {
        let errors = body
            .keys()
            .filter(|key| !known.contains(&key.as_str()))
            .map(|key| FieldError::new(key, "unknown field"))
            .collect();
        Self { body, errors }
    }

    /// A string field, parsed; `None` (with an error recorded) if it is missing or invalid.
    /// `default` is used when the field is absent or null; without one, the field is required.
    fn parse<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        default: Option<T>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match self.body.get(field) {
            None | Some(Value::Null) => {
                if default.is_none() {
                    self.errors.push(FieldError::new(field, "is required"));
                }
                default
            }
            Some(Value::String(raw)) => match parse(raw) {
                Ok(value) => Some(value),
                Err(e) => {
                    self.errors.push(FieldError::new(field, e.to_string()));
                    None
                }
            },
            Some(_) => {
                self.errors.push(FieldError::new(field, "must be a string"));
                None
            }
        }
    }

    /// An optional string field: absent or null is `Some(None)`.
    fn optional<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        self.parse(field, Some(None), |raw| parse(raw).map(Some))
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, Problem> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(Problem::validation(self.errors)),
        }
    }
}

fn timestamp(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            format!("must be an RFC 3339 timestamp such as 2026-12-01T17:00:00Z (got '{raw}')")
        })
}

fn parse_new_task(body: &Map<String, Value>) -> Result<NewTask, Problem> {
    let mut fields = Fields::new(
        body,
        &["title", "description", "priority", "plannedAccomplishDate"],
    );
    let title = fields.parse("title", None, Title::parse);
    let description = fields.optional("description", Description::parse);
    let priority = fields.parse(
        "priority",
        Some(Priority::default()),
        str::parse::<Priority>,
    );
    let planned = fields.parse("plannedAccomplishDate", None, timestamp);
    let new_task = match (title, description, priority, planned) {
        (Some(title), Some(description), Some(priority), Some(planned_accomplish_date)) => {
            Some(NewTask {
                title,
                description,
                priority,
                planned_accomplish_date,
            })
        }
        _ => None,
    };
    fields.finish(new_task)
}

fn parse_status_change(body: &Map<String, Value>) -> Result<TaskCommand, Problem> {
    let mut fields = Fields::new(body, &["status", "at"]);
    let status = fields.parse("status", None, str::parse::<TaskStatus>);
    let at = fields.optional("at", timestamp);
    let command = match (status, at) {
        (Some(status), Some(at)) => Some(TaskCommand::ChangeStatus { status, at }),
        _ => None,
    };
    fields.finish(command)
}

fn parse_priority_change(body: &Map<String, Value>) -> Result<TaskCommand, Problem> {
    let mut fields = Fields::new(body, &["priority"]);
    let priority = fields.parse("priority", None, str::parse::<Priority>);
    fields.finish(priority.map(|priority| TaskCommand::ChangePriority { priority }))
}

fn parse_planned_date_change(body: &Map<String, Value>) -> Result<TaskCommand, Problem> {
    let mut fields = Fields::new(body, &["plannedAccomplishDate"]);
    let planned = fields.parse("plannedAccomplishDate", None, timestamp);
    fields.finish(
        planned.map(|planned_accomplish_date| TaskCommand::ChangePlannedDate {
            planned_accomplish_date,
        }),
    )
}

/// The cursor is opaque to clients: the position after the last task of the page.
fn encode_cursor(cursor: &ListCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}|{}",
        cursor
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        cursor.task_id
    ))
}

fn decode_cursor(raw: &str) -> Option<ListCursor> {
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (at, id) = decoded.split_once('|')?;
    Some(ListCursor {
        created_at: DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
        task_id: id.parse().ok()?,
    })
}

fn list_query(request: &Request) -> Result<ListQuery, Problem> {
    let parameters = request.query_string_parameters();
    let mut errors: Vec<FieldError> = parameters
        .iter()
        .map(|(name, _)| name)
        .filter(|name| !["status", "limit", "cursor"].contains(name))
        .map(|name| FieldError::new(name, "unknown query parameter"))
        .collect();
    let status = match parameters.first("status") {
        None => None,
        Some(raw) => raw
            .parse::<TaskStatus>()
            .map_err(|e| errors.push(FieldError::new("status", e.to_string())))
            .ok(),
    };
    let limit = match parameters.first("limit") {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => match raw.parse::<usize>() {
            Ok(limit) if (1..=MAX_PAGE_SIZE).contains(&limit) => limit,
            _ => {
                errors.push(FieldError::new(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"),
                ));
                DEFAULT_PAGE_SIZE
            }
        },
    };
    let after = match parameters.first("cursor") {
        None => None,
        Some(raw) => {
            let cursor = decode_cursor(raw);
            if cursor.is_none() {
                errors.push(FieldError::new(
                    "cursor",
                    "is not a cursor this API returned",
                ));
            }
            cursor
        }
    };
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    Ok(ListQuery {
        status,
        limit,
        after,
    })
}

/// `from` and `to` (inclusive, `YYYY-MM-DD`, UTC days): by default the 30 days ending today.
fn analytics_range(request: &Request, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), Problem> {
    let parameters = request.query_string_parameters();
    let mut errors: Vec<FieldError> = parameters
        .iter()
        .map(|(name, _)| name)
        .filter(|name| !["from", "to"].contains(name))
        .map(|name| FieldError::new(name, "unknown query parameter"))
        .collect();
    let mut date = |name: &str| match parameters.first(name) {
        None => None,
        Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(day) => Some(day),
            Err(_) => {
                errors.push(FieldError::new(
                    name,
                    format!("must be a date YYYY-MM-DD (got '{raw}')"),
                ));
                None
            }
        },
    };
    let (from, to) = (date("from"), date("to"));
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| {
        to.checked_sub_days(Days::new(DEFAULT_ANALYTICS_DAYS - 1))
            .unwrap_or(to)
    });
    if errors.is_empty() {
        let days = (to - from).num_days() + 1;
        if days < 1 {
            errors.push(FieldError::new("from", "must not be after 'to'"));
        } else if days > MAX_ANALYTICS_DAYS {
            errors.push(FieldError::new(
                "from",
                format!("the range is {days} days; at most {MAX_ANALYTICS_DAYS} are allowed"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    Ok((from, to))
}

/// The analytics as the API shows them: camelCase counters, derived rates, one row per day.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AnalyticsView {
    scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    from: NaiveDate,
    to: NaiveDate,
    totals: Map<String, Value>,
    open_tasks: Map<String, Value>,
    days: Vec<Map<String, Value>>,
}

fn counters_json(counters: &std::collections::BTreeMap<Counter, i64>) -> Map<String, Value> {
    counters
        .iter()
        .map(|(c, v)| (c.name().to_owned(), Value::from(*v)))
        .collect()
}

impl AnalyticsView {
    fn new(scope: &Scope, report: &AnalyticsReport) -> Self {
        let get = |c: Counter| report.totals.get(&c).copied().unwrap_or(0);
        let mut totals = counters_json(&report.totals);
        let completed = get(Counter::Completed);
        let ratio = |part: i64| {
            if completed == 0 {
                Value::Null
            } else {
                Value::from(part as f64 / completed as f64)
            }
        };
        totals.insert("onTimeRate".into(), ratio(get(Counter::CompletedOnTime)));
        totals.insert(
            "avgLeadTimeSeconds".into(),
            ratio(get(Counter::LeadTimeSecondsSum)),
        );
        let open = |c: Counter| Value::from(report.open.get(&c).copied().unwrap_or(0));
        let open_tasks = Map::from_iter([
            ("new".to_owned(), open(Counter::OpenNew)),
            ("in_progress".to_owned(), open(Counter::OpenInProgress)),
            ("on_hold".to_owned(), open(Counter::OpenOnHold)),
        ]);
        let days = report
            .days
            .iter()
            .map(|(day, counters)| {
                let mut row = Map::from_iter([("date".to_owned(), Value::from(day.to_string()))]);
                row.extend(counters_json(counters));
                row
            })
            .collect();
        Self {
            scope: match scope {
                Scope::User(_) => "user",
                Scope::Global => "global",
            },
            user_id: match scope {
                Scope::User(user) => Some(user.to_string()),
                Scope::Global => None,
            },
            from: report.from,
            to: report.to,
            totals,
            open_tasks,
            days,
        }
    }
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let json = serde_json::to_string(body).unwrap_or_default();
    let mut response = Response::new(Body::from(json));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn task_response(task: &Task, status: StatusCode) -> Response<Body> {
    let mut response = json_response(status, &TaskView::from(task));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", task.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// 201 with `Location` for a created task, 200 otherwise; replays are marked as such.
fn outcome_response(outcome: &CommandOutcome) -> Response<Body> {
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = task_response(&outcome.task, status);
    let headers = response.headers_mut();
    if outcome.created
        && let Ok(location) = HeaderValue::from_str(&format!("/tasks/{}", outcome.task.id))
    {
        headers.insert(header::LOCATION, location);
    }
    if outcome.replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

fn command_problem(error: CommandError) -> Problem {
    match error {
        CommandError::NotFound => Problem::new(StatusCode::NOT_FOUND, "no such task"),
        CommandError::Domain(
            e @ (DomainError::AtInFuture { .. } | DomainError::AtBeforeCurrentStatus { .. }),
        ) => Problem::validation(vec![FieldError::new("at", e.to_string())]),
        CommandError::Domain(e @ (DomainError::Terminal(_) | DomainError::AlreadyExists(_))) => {
            Problem::new(StatusCode::CONFLICT, e.to_string())
        }
        CommandError::Domain(e) => {
            // Events that do not follow the stored state: a defect, not the caller's doing.
            tracing::error!(error = %e, "stored task and its events disagree");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
        CommandError::PreconditionFailed { .. } => Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "the task changed since the version in If-Match; read it again",
        ),
        CommandError::IdempotencyKeyReused => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "this Idempotency-Key was already used with a different request",
        ),
        CommandError::Conflict => Problem::new(
            StatusCode::CONFLICT,
            "the task kept changing concurrently; retry",
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
    use taskpulse_app::memory::{MemoryAnalyticsStore, MemoryEventQueue, MemoryTaskStore};

    type MemoryApi = Api<MemoryTaskStore, MemoryEventQueue, MemoryAnalyticsStore>;

    fn api() -> MemoryApi {
        Api::new(
            TaskCommands::new(MemoryTaskStore::default(), MemoryEventQueue::default()),
            MemoryAnalyticsStore::default(),
        )
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

    struct Reply {
        status: StatusCode,
        headers: HeaderMap,
        body: Value,
    }

    async fn send(api: &MemoryApi, event: HttpApiEvent) -> Reply {
        reply(api.handle(event.to_request()).await)
    }

    async fn call(api: &MemoryApi, req: Request) -> Reply {
        reply(api.handle(req).await)
    }

    fn reply(response: Response<Body>) -> Reply {
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            body: serde_json::from_slice(response.body().as_ref()).unwrap(),
        }
    }

    const VALID: &str = r#"{"title":"  Write report ","priority":"high","plannedAccomplishDate":"2030-01-01T12:00:00+02:00"}"#;

    async fn create(api: &MemoryApi, user: &str) -> String {
        let r = call(
            api,
            request("POST", "/tasks", Some(user), "application/json", VALID),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        r.body["id"].as_str().unwrap().to_owned()
    }

    fn post(path: &str, user: &str, body: Value) -> HttpApiEvent {
        HttpApiEvent::new("POST", path).caller(user).json(&body)
    }

    fn fields(problem: &Value) -> Vec<String> {
        problem["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn create_answers_201_with_the_task_location_and_etag() {
        let api = api();
        let r = call(
            &api,
            request("POST", "/tasks", Some("user-1"), "application/json", VALID),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.body["title"], "Write report");
        assert_eq!(r.body["userId"], "user-1");
        assert_eq!(r.body["priority"], "high");
        assert_eq!(r.body["status"], "new");
        assert_eq!(r.body["version"], 1);
        assert_eq!(r.body["plannedAccomplishDate"], "2030-01-01T10:00:00Z");
        assert_eq!(r.body["statusHistory"][0]["status"], "new");
        assert!(r.body["actualAccomplishDate"].is_null());
        assert!(r.body["description"].is_null());
        let id = r.body["id"].as_str().unwrap();
        assert_eq!(r.headers[header::LOCATION], format!("/tasks/{id}").as_str());
        assert_eq!(r.headers[header::ETAG], "\"1\"");
        assert_eq!(api.commands().store().len(), 1);
    }

    #[tokio::test]
    async fn the_owner_comes_from_the_token_never_the_body() {
        let api = api();
        let body = json!({"title": "x", "plannedAccomplishDate": "2030-01-01T00:00:00Z", "userId": "mallory"});
        let r = send(&api, post("/tasks", "user-1", body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(fields(&r.body), ["userId"]);
    }

    #[tokio::test]
    async fn priority_defaults_to_medium_and_description_is_kept() {
        let api = api();
        let body = json!({"title": "x", "description": "why", "plannedAccomplishDate": "2030-01-01T00:00:00Z"});
        let r = send(&api, post("/tasks", "u", body)).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.body["priority"], "medium");
        assert_eq!(r.body["description"], "why");
    }

    #[tokio::test]
    async fn invalid_fields_are_all_named() {
        let api = api();
        let body = json!({"title": "   ", "priority": "urgent", "plannedAccomplishDate": "tomorrow", "description": "d".repeat(2001)});
        let r = send(&api, post("/tasks", "u", body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(
            fields(&r.body),
            ["title", "description", "priority", "plannedAccomplishDate"]
        );
        assert_eq!(r.body["status"], 400);
        assert!(api.commands().store().is_empty());
    }

    #[tokio::test]
    async fn missing_and_mistyped_fields_are_named() {
        let api = api();
        let r = send(&api, post("/tasks", "u", json!({"title": 5}))).await;
        let errors = r.body["errors"].as_array().unwrap();
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
            let r = call(
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
    async fn no_identity_is_401_on_every_route() {
        let api = api();
        let id = create(&api, "u").await;
        for (method, path) in [
            ("POST", "/tasks".to_owned()),
            ("GET", "/tasks".to_owned()),
            ("GET", format!("/tasks/{id}")),
            ("POST", format!("/tasks/{id}/status")),
            ("POST", format!("/tasks/{id}/priority")),
            ("POST", format!("/tasks/{id}/planned-date")),
        ] {
            let r = call(
                &api,
                request(method, &path, None, "application/json", VALID),
            )
            .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(r.body["title"], "Unauthorized");
        }
        assert_eq!(api.commands().store().len(), 1);
    }

    #[tokio::test]
    async fn wrong_media_type_size_route_and_method() {
        let api = api();
        let r = call(
            &api,
            request("POST", "/tasks", Some("u"), "text/plain", VALID),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let big = format!(
            r#"{{"title":"x","description":"{}"}}"#,
            "a".repeat(MAX_BODY_BYTES)
        );
        let r = call(
            &api,
            request("POST", "/tasks", Some("u"), "application/json", &big),
        )
        .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        for path in [
            "/nope",
            "/tasks/x/y/z",
            "/tasks/00000000-0000-0000-0000-000000000001/archive",
        ] {
            let r = call(
                &api,
                request("POST", path, Some("u"), "application/json", VALID),
            )
            .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        }
        let r = call(
            &api,
            request("DELETE", "/tasks", Some("u"), "application/json", ""),
        )
        .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers[header::ALLOW], "GET, POST");
        let r = call(
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
    async fn get_shows_own_tasks_only() {
        let api = api();
        let id = create(&api, "owner").await;
        let r = send(
            &api,
            HttpApiEvent::new("GET", &format!("/tasks/{id}")).caller("owner"),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["id"], id.as_str());
        assert_eq!(r.headers[header::ETAG], "\"1\"");
        let r = send(
            &api,
            HttpApiEvent::new("GET", &format!("/tasks/{id}")).caller("stranger"),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = send(
            &api,
            HttpApiEvent::new("GET", "/tasks/not-a-uuid").caller("owner"),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn status_priority_and_planned_date_commands() {
        let api = api();
        let id = create(&api, "u").await;
        let r = send(
            &api,
            post(
                &format!("/tasks/{id}/status"),
                "u",
                json!({"status": "in_progress"}),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["status"], "in_progress");
        assert_eq!(r.headers[header::ETAG], "\"2\"");
        let r = send(
            &api,
            post(
                &format!("/tasks/{id}/priority"),
                "u",
                json!({"priority": "low"}),
            ),
        )
        .await;
        assert_eq!(
            (
                r.status,
                r.body["priority"].clone(),
                r.body["version"].clone()
            ),
            (StatusCode::OK, json!("low"), json!(3))
        );
        let r = send(
            &api,
            post(
                &format!("/tasks/{id}/planned-date"),
                "u",
                json!({"plannedAccomplishDate": "2031-01-01T00:00:00Z"}),
            ),
        )
        .await;
        assert_eq!(r.body["plannedAccomplishDate"], "2031-01-01T00:00:00Z");
        assert_eq!(r.body["version"], 4);
        let r = send(
            &api,
            post(
                &format!("/tasks/{id}/status"),
                "u",
                json!({"status": "completed"}),
            ),
        )
        .await;
        assert_eq!(r.body["version"], 6, "StatusChanged and Completed");
        assert!(r.body["actualAccomplishDate"].is_string());
        let r = send(
            &api,
            post(
                &format!("/tasks/{id}/priority"),
                "u",
                json!({"priority": "high"}),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.body["detail"].as_str().unwrap().contains("completed"));
    }

    #[tokio::test]
    async fn command_bodies_are_validated() {
        let api = api();
        let id = create(&api, "u").await;
        let cases = [
            ("status", json!({"status": "done"}), vec!["status"]),
            (
                "status",
                json!({"status": "in_progress", "at": "2999-01-01T00:00:00Z"}),
                vec!["at"],
            ),
            ("status", json!({"at": "yesterday"}), vec!["status", "at"]),
            ("priority", json!({"priority": 3}), vec!["priority"]),
            (
                "planned-date",
                json!({"plannedAccomplishDate": "soon", "extra": 1}),
                vec!["extra", "plannedAccomplishDate"],
            ),
        ];
        for (action, body, expected) in cases {
            let r = send(
                &api,
                post(&format!("/tasks/{id}/{action}"), "u", body.clone()),
            )
            .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{action} {body}");
            assert_eq!(fields(&r.body), expected, "{action} {body}");
        }
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
    async fn listing_pages_with_an_opaque_cursor_and_filters_by_status() {
        let api = api();
        let mut ids = vec![];
        for _ in 0..3 {
            ids.push(create(&api, "u").await);
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        create(&api, "someone-else").await;
        send(
            &api,
            post(
                &format!("/tasks/{}/status", ids[0]),
                "u",
                json!({"status": "on_hold"}),
            ),
        )
        .await;

        let mut event = HttpApiEvent::new("GET", "/tasks").caller("u");
        event.raw_query = "limit=2".into();
        let page = send(&api, event).await;
        assert_eq!(page.status, StatusCode::OK);
        let got: Vec<&str> = page.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
        let cursor = page.body["nextCursor"].as_str().unwrap();

        let mut event = HttpApiEvent::new("GET", "/tasks").caller("u");
        event.raw_query = format!("limit=2&cursor={cursor}");
        let page = send(&api, event).await;
        let got: Vec<&str> = page.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, [ids[0].as_str()]);
        assert!(page.body["nextCursor"].is_null());

        let mut event = HttpApiEvent::new("GET", "/tasks").caller("u");
        event.raw_query = "status=on_hold".into();
        let page = send(&api, event).await;
        assert_eq!(page.body["items"].as_array().unwrap().len(), 1);

        for query in [
            "limit=0",
            "limit=101",
            "status=done",
            "cursor=zzz",
            "color=red",
        ] {
            let mut event = HttpApiEvent::new("GET", "/tasks").caller("u");
            event.raw_query = query.into();
            assert_eq!(
                send(&api, event).await.status,
                StatusCode::BAD_REQUEST,
                "{query}"
            );
        }
    }

    #[tokio::test]
    async fn an_unavailable_store_is_503_without_internal_detail() {
        let api = api();
        api.commands().store().set_unavailable(true);
        let r = call(
            &api,
            request("POST", "/tasks", Some("u"), "application/json", VALID),
        )
        .await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers[header::RETRY_AFTER], "1");
        assert!(!r.body["detail"].as_str().unwrap().contains("task store"));
    }

    #[tokio::test]
    async fn analytics_report_the_callers_counters_and_guard_the_global_view() {
        let api = api();
        let id = create(&api, "ana").await;
        create(&api, "ana").await;
        create(&api, "ben").await;
        send(
            &api,
            post(
                &format!("/tasks/{id}/status"),
                "ana",
                json!({"status": "completed"}),
            ),
        )
        .await;
        let events = api.commands().publisher().drain_envelopes();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        let outcome =
            taskpulse_app::apply_events(api.analytics(), &events, &Default::default(), deadline)
                .await;
        assert_eq!(outcome.applied.len(), events.len());

        let me = send(
            &api,
            HttpApiEvent::new("GET", "/analytics/me").caller("ana"),
        )
        .await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        assert_eq!(me.body["scope"], "user");
        assert_eq!(me.body["days"].as_array().unwrap().len(), 30);
        assert_eq!(me.body["totals"]["created"], 2);
        assert_eq!(me.body["totals"]["completed"], 1);
        assert_eq!(me.body["totals"]["onTimeRate"], 1.0);
        assert!(me.body["totals"]["avgLeadTimeSeconds"].is_number());
        assert_eq!(
            me.body["openTasks"],
            json!({"new": 1, "in_progress": 0, "on_hold": 0})
        );
        let today = me.body["days"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(today["created"], 2);

        let forbidden = send(
            &api,
            HttpApiEvent::new("GET", "/analytics/global").caller("ana"),
        )
        .await;
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
        let mut reader = HttpApiEvent::new("GET", "/analytics/global").caller("ops");
        reader.scopes = vec!["analytics:read".into()];
        let global = send(&api, reader).await;
        assert_eq!(global.status, StatusCode::OK);
        assert_eq!(global.body["totals"]["created"], 3);
        assert_eq!(global.body["openTasks"]["new"], 2);

        for query in [
            "from=2026-02-01&to=2026-01-01",
            "from=2024-01-01&to=2026-01-01",
            "from=yesterday",
            "days=3",
        ] {
            let mut event = HttpApiEvent::new("GET", "/analytics/me").caller("ana");
            event.raw_query = query.into();
            assert_eq!(
                send(&api, event).await.status,
                StatusCode::BAD_REQUEST,
                "{query}"
            );
        }
        let mut one_day = HttpApiEvent::new("GET", "/analytics/me").caller("ana");
        one_day.raw_query = "from=2026-01-01&to=2026-01-01".into();
        let reply = send(&api, one_day).await;
        assert_eq!(
            reply.body["days"],
            json!([{"date": "2026-01-01", "created": 0, "completed": 0, "completedOnTime": 0, "completedLate": 0, "leadTimeSecondsSum": 0, "delayed": 0, "delaySecondsSum": 0, "rescheduled": 0, "priorityChanges": 0}])
        );
        assert!(reply.body["totals"]["onTimeRate"].is_null());
    }
}
