//! The HTTP API: API Gateway HTTP API (payload v2) requests, authorised by a JWT authorizer.
//!
//! The caller is the `sub` claim the authorizer put in the request context; it is never read
//! from the body. Every error is an `application/problem+json` response; nothing panics and no
//! internal detail leaks to the caller. The routes are described in `docs/openapi.yaml`.
//!
//! This module holds the route table. A request is first read whole into an `Operation`
//! (`operation`, from what `identity`, `request`, `fields`, `entity_tags` and `query` read),
//! so that a malformed one is refused before any table is read; then the handlers in `tasks`,
//! `analytics` and `settings` run it, and answer with `response` and `problem`.

mod analytics;
pub mod bearer;
mod conditional;
mod cors;
mod cursor;
mod entity_tags;
mod erasure;
mod fields;
mod identity;
mod operation;
mod problem;
mod query;
mod request;
mod response;
mod settings;
mod tasks;
#[cfg(test)]
mod test_support;

use http::Method;
use lambda_http::{Body, Request, RequestExt, Response};
use taskpulse_app::tasks::CommandStore;
use taskpulse_app::{
    CommandQueues, LoadErasures, LoadProjectionConfig, ReadCounters, RollUpMonths, SaveErasure,
    SaveUserSettings, SendWork, TaskCommands,
};

pub use analytics::ANALYTICS_READ_SCOPE;
pub use cors::CorsPolicy;
pub use erasure::USERS_ERASE_SCOPE;
pub use identity::{Caller, CallerSource, caller};
pub use problem::{FieldError, Problem};
pub use query::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use request::{MAX_BODY_BYTES, MAX_IDEMPOTENCY_KEY_CHARS};

use analytics::AnalyticsRoute;
use erasure::ErasureTarget;
use operation::Operation;
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
    ("DELETE", "/me"),
    ("GET", "/me/erasure"),
    ("GET", "/me/settings"),
    ("PUT", "/me/settings"),
    ("DELETE", "/users/{userId}"),
    ("GET", "/users/{userId}/erasure"),
];

/// The route of CORS preflight requests, without the authorizer: every path, `OPTIONS`.
pub const PREFLIGHT_ROUTE: (&str, &str) = ("OPTIONS", "/{proxy+}");

/// The HTTP API over the task commands; erasures are handed to the eraser through `W`.
pub struct Api<S, P, R, W> {
    commands: TaskCommands<S, P>,
    analytics: R,
    erasure_work: W,
    cors: CorsPolicy,
    caller_source: CallerSource,
}

/// A path of the route table, with what it names.
#[derive(Debug, Clone, Copy)]
enum Route<'a> {
    Tasks,
    Task(&'a str),
    TaskChange(&'a str, ChangeRoute),
    Analytics(AnalyticsRoute),
    /// The subject of an erasure (`DELETE`).
    Erase(ErasureTarget<'a>),
    /// The status of an erasure (`GET`).
    Erasure(ErasureTarget<'a>),
    /// The caller's settings.
    Settings,
}

impl<'a> Route<'a> {
    fn find(path: &'a str) -> Option<Self> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        Some(match segments.as_slice() {
            ["tasks"] => Self::Tasks,
            ["tasks", id] => Self::Task(id),
            ["tasks", id, "status"] => Self::TaskChange(id, ChangeRoute::Status),
            ["tasks", id, "priority"] => Self::TaskChange(id, ChangeRoute::Priority),
            ["tasks", id, "planned-date"] => Self::TaskChange(id, ChangeRoute::PlannedDate),
            ["analytics", "me"] => Self::Analytics(AnalyticsRoute::Me),
            ["analytics", "global"] => Self::Analytics(AnalyticsRoute::Global),
            ["me"] => Self::Erase(ErasureTarget::Me),
            ["me", "erasure"] => Self::Erasure(ErasureTarget::Me),
            ["me", "settings"] => Self::Settings,
            ["users", user] if !user.is_empty() => Self::Erase(ErasureTarget::User(user)),
            ["users", user, "erasure"] if !user.is_empty() => {
                Self::Erasure(ErasureTarget::User(user))
            }
            _ => return None,
        })
    }

    /// The methods the route serves, as an `Allow` header lists them.
    fn methods(self) -> &'static str {
        match self {
            Self::Tasks => "GET, POST",
            Self::Task(_) | Self::Analytics(_) | Self::Erasure(_) => "GET",
            Self::TaskChange(..) => "POST",
            Self::Erase(_) => "DELETE",
            Self::Settings => "GET, PUT",
        }
    }
}

/// What the API needs of the task table: what the commands need (tasks, their outboxes,
/// idempotency records, the owners' settings), settings saved, and the erasure records that
/// refuse an erased identity.
pub trait ApiTaskTable: CommandStore + SaveUserSettings + LoadErasures + SaveErasure {}

impl<S> ApiTaskTable for S where S: CommandStore + SaveUserSettings + LoadErasures + SaveErasure {}

impl<S, P, R, W> Api<S, P, R, W>
where
    S: ApiTaskTable,
    P: CommandQueues,
    R: ReadCounters + RollUpMonths + LoadProjectionConfig,
    W: SendWork,
{
    pub fn new(commands: TaskCommands<S, P>, analytics: R, erasure_work: W) -> Self {
        Self {
            commands,
            analytics,
            erasure_work,
            cors: CorsPolicy::default(),
            caller_source: CallerSource::default(),
        }
    }

    /// Where callers are read from: the JWT authorizer's claims unless told otherwise.
    pub fn with_caller_source(mut self, source: CallerSource) -> Self {
        self.caller_source = source;
        self
    }

    /// Lets the browser pages of these origins call the API.
    pub fn with_cors(mut self, cors: CorsPolicy) -> Self {
        self.cors = cors;
        self
    }

    pub fn analytics(&self) -> &R {
        &self.analytics
    }

    pub fn commands(&self) -> &TaskCommands<S, P> {
        &self.commands
    }

    /// Where erasure requests are handed to the eraser.
    pub fn erasure_work(&self) -> &W {
        &self.erasure_work
    }

    /// Serves one request. Always answers: failures become problem responses.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let mut response = match self.route(&request).await {
            Ok(response) => response,
            Err(problem) => problem.into_response(),
        };
        self.cors.apply(request.headers(), &mut response);
        response
    }

    async fn route(&self, request: &Request) -> Result<Response<Body>, Problem> {
        // The path the client asked for, as API Gateway received it: the URI lambda_http builds
        // from it also depends on the Host and X-Forwarded-Proto headers, which must never
        // decide which route runs.
        let raw_path = request.raw_http_path();
        let path = if raw_path.is_empty() {
            request.uri().path()
        } else {
            raw_path
        };
        let path = path.trim_end_matches('/');
        let route = Route::find(path).ok_or_else(|| Problem::no_route(path))?;
        let method = request.method();
        if method == Method::OPTIONS {
            return self.cors.preflight(request.headers(), route.methods());
        }
        match (route, method) {
            (Route::Erase(target), &Method::DELETE) => {
                return self.request_erasure(request, target).await;
            }
            (Route::Erasure(target), &Method::GET) => {
                return self.erasure_status(request, target).await;
            }
            (Route::Erase(_) | Route::Erasure(_), _) => {
                return Err(Problem::method_not_allowed(route.methods()));
            }
            _ => {}
        }
        let operation = Operation::read(route, method, request, self.caller_source)?;
        self.perform(operation).await
    }
}

#[cfg(test)]
mod tests {
    use http::{StatusCode, header};

    use super::test_support::{VALID, api, get, request, send};

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

    #[tokio::test]
    async fn preflight_and_answers_let_only_the_configured_origins_in() {
        use super::CorsPolicy;
        use crate::gateway_request::GatewayRequest;
        let dashboard = "https://dash.example.com";
        let api = api().with_cors(CorsPolicy::parse(dashboard).unwrap());
        let preflight = |origin: &str, path: &str| {
            GatewayRequest::new("OPTIONS", path)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
        };

        // No token: the template routes OPTIONS past the JWT authorizer.
        let allowed = send(&api, preflight(dashboard, "/tasks")).await;
        assert_eq!(allowed.status, StatusCode::NO_CONTENT);
        let h = &allowed.headers;
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], dashboard);
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_METHODS], "GET, POST");
        let allowed_headers = h[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap();
        for needed in [
            "authorization",
            "content-type",
            "if-none-match",
            "idempotency-key",
        ] {
            assert!(allowed_headers.contains(needed), "{allowed_headers}");
        }
        assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "7200");
        let analytics = send(&api, preflight(dashboard, "/analytics/me")).await;
        assert_eq!(
            analytics.headers[header::ACCESS_CONTROL_ALLOW_METHODS],
            "GET"
        );

        let stranger = send(&api, preflight("https://evil.example", "/tasks")).await;
        assert_eq!(stranger.status, StatusCode::FORBIDDEN);
        assert!(
            stranger
                .headers
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );
        assert!(
            stranger.body["detail"]
                .as_str()
                .unwrap()
                .contains("evil.example")
        );
        let nowhere = send(&api, preflight(dashboard, "/nope")).await;
        assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
        let plain = send(&api, GatewayRequest::new("OPTIONS", "/tasks/abc")).await;
        assert_eq!(plain.status, StatusCode::NO_CONTENT);
        assert_eq!(plain.headers[header::ALLOW], "GET");

        // The answers themselves, problems too, are readable by the allowed origin only.
        let from_dashboard = send(
            &api,
            get("/analytics/me", "ana", "").header("origin", dashboard),
        )
        .await;
        assert_eq!(
            from_dashboard.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            dashboard
        );
        let exposed = from_dashboard.headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
            .to_str()
            .unwrap();
        assert!(exposed.contains("etag"), "{exposed}");
        assert_eq!(from_dashboard.headers[header::VARY], "origin");
        let refused = send(
            &api,
            get("/analytics/global", "ana", "").header("origin", dashboard),
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(
            refused.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            dashboard
        );
        let from_elsewhere = send(
            &api,
            get("/analytics/me", "ana", "").header("origin", "https://evil.example"),
        )
        .await;
        assert!(
            from_elsewhere
                .headers
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );

        // Without a policy no answer names an origin, and a preflight is refused.
        let closed = super::test_support::api();
        let refused = send(&closed, preflight(dashboard, "/tasks")).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let answer = send(
            &closed,
            get("/analytics/me", "ana", "").header("origin", dashboard),
        )
        .await;
        assert!(
            answer
                .headers
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );
        assert!(answer.headers.get(header::VARY).is_none());
    }

    #[tokio::test]
    async fn the_route_is_the_path_the_client_asked_for_whatever_the_host() {
        let api = api();
        super::test_support::create(&api, "u").await;
        for (name, value) in [
            ("host", "x/analytics/global?"),
            ("host", "x/analytics/me#"),
            ("x-forwarded-proto", "https://x/analytics/me?"),
        ] {
            let r = send(&api, get("/tasks", "u", "").header(name, value)).await;
            assert_eq!(r.status, StatusCode::OK, "{name}: {value}");
            assert_eq!(r.body["items"].as_array().map(Vec::len), Some(1), "{value}");
        }
    }
}
