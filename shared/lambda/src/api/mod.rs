//! The HTTP API: API Gateway HTTP API (payload v2) requests, authorised by a JWT authorizer.
//!
//! The caller is the `sub` claim the authorizer put in the request context; it is never read
//! from the body. Every error is an `application/problem+json` response; nothing panics and no
//! internal detail leaks to the caller. The routes are described in `docs/openapi.yaml`.
//!
//! This module holds the route table; the handlers are in `tasks` and `analytics`, what they
//! read from a request in `identity`, `request` and `query`, and what they answer in
//! `response` and `problem`.

mod analytics;
mod cursor;
mod identity;
mod problem;
mod query;
mod request;
mod response;
mod tasks;
#[cfg(test)]
mod test_support;

use http::Method;
use lambda_http::{Body, Request, Response};
use taskpulse_app::{
    ListTasks, LoadIdempotency, LoadProjectionConfig, LoadTask, MarkEventsPublished, PublishEvents,
    ReadCounters, SaveTask, TaskCommands,
};

pub use analytics::ANALYTICS_READ_SCOPE;
pub use identity::{Caller, caller};
pub use problem::{FieldError, Problem};
pub use query::{DEFAULT_ANALYTICS_DAYS, DEFAULT_PAGE_SIZE, MAX_ANALYTICS_DAYS, MAX_PAGE_SIZE};
pub use request::{MAX_BODY_BYTES, MAX_IDEMPOTENCY_KEY_CHARS};

use analytics::AnalyticsRoute;
use tasks::ChangeRoute;

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

impl<S, P, R> Api<S, P, R>
where
    S: LoadTask + SaveTask + LoadIdempotency + MarkEventsPublished + ListTasks,
    P: PublishEvents,
    R: ReadCounters + LoadProjectionConfig,
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
                _ => Err(Problem::method_not_allowed("GET, POST")),
            },
            ["tasks", id] => match *method {
                Method::GET => self.get_task(request, id).await,
                _ => Err(Problem::method_not_allowed("GET")),
            },
            ["tasks", id, action] => {
                let route = match *action {
                    "status" => ChangeRoute::Status,
                    "priority" => ChangeRoute::Priority,
                    "planned-date" => ChangeRoute::PlannedDate,
                    _ => return Err(Problem::no_route(path)),
                };
                match *method {
                    Method::POST => self.change_task(request, id, route).await,
                    _ => Err(Problem::method_not_allowed("POST")),
                }
            }
            ["analytics", which] => {
                let route = match *which {
                    "me" => AnalyticsRoute::Me,
                    "global" => AnalyticsRoute::Global,
                    _ => return Err(Problem::no_route(path)),
                };
                match *method {
                    Method::GET => self.analytics_report(request, route).await,
                    _ => Err(Problem::method_not_allowed("GET")),
                }
            }
            _ => Err(Problem::no_route(path)),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::{StatusCode, header};

    use super::test_support::{VALID, api, request, send};

    #[tokio::test]
    async fn wrong_route_and_method() {
        let api = api();
        for path in [
            "/nope",
            "/tasks/x/y/z",
            "/tasks/00000000-0000-0000-0000-000000000001/archive",
        ] {
            let r = send(
                &api,
                request("POST", path, Some("u"), "application/json", VALID),
            )
            .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        }
        let r = send(
            &api,
            request("DELETE", "/tasks", Some("u"), "application/json", ""),
        )
        .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers[header::ALLOW], "GET, POST");
    }
}
