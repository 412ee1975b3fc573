//! A client for the API handler with one method per HTTP route: each builds the API Gateway
//! HTTP API (payload v2) request the route takes, as API Gateway would after its JWT
//! authorizer accepted the caller, and answers with the status, headers and JSON body.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use taskpulse_lambda::gateway_request::GatewayRequest;

use taskpulse_aws::{DynamoAnalyticsStore, DynamoTaskStore, SqsEventPublisher, SqsWorkQueue};
use taskpulse_lambda::api::Api;

/// The routes the client serves, as `taskpulse_lambda::api::ROUTES` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    CreateTask,
    GetTask,
    ListTasks,
    ChangeStatus,
    ChangePriority,
    MovePlannedDate,
    AnalyticsMe,
    AnalyticsGlobal,
    EraseMe,
    MyErasure,
    EraseUser,
    UserErasure,
    MySettings,
    ChangeMySettings,
}

impl Route {
    pub const ALL: [Route; 14] = [
        Route::CreateTask,
        Route::GetTask,
        Route::ListTasks,
        Route::ChangeStatus,
        Route::ChangePriority,
        Route::MovePlannedDate,
        Route::AnalyticsMe,
        Route::AnalyticsGlobal,
        Route::EraseMe,
        Route::MyErasure,
        Route::EraseUser,
        Route::UserErasure,
        Route::MySettings,
        Route::ChangeMySettings,
    ];

    /// (method, path template), as the API and `docs/openapi.yaml` write it.
    pub fn key(self) -> (&'static str, &'static str) {
        match self {
            Route::CreateTask => ("POST", "/tasks"),
            Route::GetTask => ("GET", "/tasks/{id}"),
            Route::ListTasks => ("GET", "/tasks"),
            Route::ChangeStatus => ("POST", "/tasks/{id}/status"),
            Route::ChangePriority => ("POST", "/tasks/{id}/priority"),
            Route::MovePlannedDate => ("POST", "/tasks/{id}/planned-date"),
            Route::AnalyticsMe => ("GET", "/analytics/me"),
            Route::AnalyticsGlobal => ("GET", "/analytics/global"),
            Route::EraseMe => ("DELETE", "/me"),
            Route::MyErasure => ("GET", "/me/erasure"),
            Route::EraseUser => ("DELETE", "/users/{userId}"),
            Route::UserErasure => ("GET", "/users/{userId}/erasure"),
            Route::MySettings => ("GET", "/me/settings"),
            Route::ChangeMySettings => ("PUT", "/me/settings"),
        }
    }

    /// The request of `user` to this route, for the task or user `id` where the path has one.
    fn request(self, user: &str, id: &str) -> GatewayRequest {
        let (method, template) = self.key();
        let path = template.replace("{id}", id).replace("{userId}", id);
        GatewayRequest::new(method, &path).caller(user)
    }
}

/// What the API answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

/// The API on the SDK adapters, as the functions wire it.
pub type AwsApi = Api<DynamoTaskStore, SqsEventPublisher, DynamoAnalyticsStore, SqsWorkQueue>;

/// The API handler, one method per route.
#[derive(Clone, Copy)]
pub struct ApiClient<'a> {
    api: &'a AwsApi,
}

impl<'a> ApiClient<'a> {
    pub fn new(api: &'a AwsApi) -> Self {
        Self { api }
    }

    /// `POST /tasks` with this task as the body.
    pub fn create_task(&self, user: &str, task: &Value) -> Call<'a> {
        self.call(Route::CreateTask.request(user, "").json(task))
    }

    pub fn get_task(&self, user: &str, id: &str) -> Call<'a> {
        self.call(Route::GetTask.request(user, id))
    }

    /// `GET /tasks?{query}` (`query` as in the URL, without the `?`).
    pub fn list_tasks(&self, user: &str, query: &str) -> Call<'a> {
        self.call(Route::ListTasks.request(user, "")).query(query)
    }

    pub fn change_status(&self, user: &str, id: &str, status: &str) -> Call<'a> {
        self.call(
            Route::ChangeStatus
                .request(user, id)
                .json(&json!({"status": status})),
        )
    }

    pub fn change_priority(&self, user: &str, id: &str, priority: &str) -> Call<'a> {
        self.call(
            Route::ChangePriority
                .request(user, id)
                .json(&json!({"priority": priority})),
        )
    }

    /// `POST /tasks/{id}/planned-date` with the new date (RFC 3339).
    pub fn move_planned_date(&self, user: &str, id: &str, planned: &str) -> Call<'a> {
        let body = json!({"plannedAccomplishDate": planned});
        self.call(Route::MovePlannedDate.request(user, id).json(&body))
    }

    pub fn analytics_me(&self, user: &str, query: &str) -> Call<'a> {
        self.call(Route::AnalyticsMe.request(user, "")).query(query)
    }

    /// `GET /analytics/global`; the caller needs the `analytics:read` scope (see
    /// [`Call::scopes`]).
    pub fn analytics_global(&self, user: &str, query: &str) -> Call<'a> {
        self.call(Route::AnalyticsGlobal.request(user, ""))
            .query(query)
    }

    /// `DELETE /me`: `user` asks to be erased.
    pub fn erase_me(&self, user: &str) -> Call<'a> {
        self.call(Route::EraseMe.request(user, ""))
    }

    pub fn my_erasure(&self, user: &str) -> Call<'a> {
        self.call(Route::MyErasure.request(user, ""))
    }

    /// `DELETE /users/{userId}` (percent-encoded by the caller); the caller needs the
    /// `users:erase` scope (see [`Call::scopes`]).
    pub fn erase_user(&self, caller: &str, user: &str) -> Call<'a> {
        self.call(Route::EraseUser.request(caller, user))
    }

    pub fn user_erasure(&self, caller: &str, user: &str) -> Call<'a> {
        self.call(Route::UserErasure.request(caller, user))
    }

    pub fn my_settings(&self, user: &str) -> Call<'a> {
        self.call(Route::MySettings.request(user, ""))
    }

    /// `PUT /me/settings` with this body.
    pub fn change_my_settings(&self, user: &str, settings: &Value) -> Call<'a> {
        self.call(Route::ChangeMySettings.request(user, "").json(settings))
    }

    fn call(&self, event: GatewayRequest) -> Call<'a> {
        Call {
            api: self.api,
            event,
        }
    }
}

/// One request, not sent yet: add headers or scopes, then `.await` it.
pub struct Call<'a> {
    api: &'a AwsApi,
    event: GatewayRequest,
}

impl<'a> Call<'a> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.event = self.event.header(name, value);
        self
    }

    pub fn idempotency_key(self, key: &str) -> Self {
        self.header("idempotency-key", key)
    }

    /// `If-Match` with the task version as the API's ETag writes it.
    pub fn if_match(self, version: u64) -> Self {
        self.header("if-match", &format!("\"{version}\""))
    }

    /// The OAuth scopes the authorizer granted the caller.
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.event.scopes = scopes.iter().map(|s| s.to_string()).collect();
        self
    }

    fn query(mut self, query: &str) -> Self {
        self.event.raw_query = query.to_owned();
        self
    }

    /// Sends the request to the handler. Every answer of the API has a JSON body; one that
    /// has not fails the caller.
    pub async fn send(self) -> Reply {
        let response = self.api.handle(self.event.to_request()).await;
        let status = response.status();
        let body = serde_json::from_slice(response.body().as_ref()).unwrap_or_else(|e| {
            panic!(
                "{} {} answered {status} without a JSON body: {e}",
                self.event.method, self.event.path
            )
        });
        Reply {
            status,
            headers: response.headers().clone(),
            body,
        }
    }
}

impl<'a> IntoFuture for Call<'a> {
    type Output = Reply;
    type IntoFuture = Pin<Box<dyn Future<Output = Reply> + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
