//! Successful responses: JSON bodies, and tasks as the API shows them, with the `ETag`,
//! `Location` and replay headers that go with them.

use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use taskpulse_app::{CommandOutcome, TaskPage};
use taskpulse_domain::task::StatusChange;
use taskpulse_domain::{Description, Priority, Task, TaskStatus};

use super::cursor::encode_cursor;

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

pub(super) fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    json_response_as(status, "application/json", body)
}

/// `body` as JSON, under a JSON media type such as `application/problem+json`.
pub(super) fn json_response_as(
    status: StatusCode,
    content_type: &'static str,
    body: &impl Serialize,
) -> Response<Body> {
    let json = serde_json::to_string(body).unwrap_or_default();
    let mut response = Response::new(Body::from(json));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(super) fn task_response(task: &Task, status: StatusCode) -> Response<Body> {
    let mut response = json_response(status, &TaskView::from(task));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", task.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// One page of `GET /tasks`, with the cursor of the next page if there is one.
pub(super) fn task_page_response(page: &TaskPage) -> Response<Body> {
    let view = TaskListView {
        items: page.tasks.iter().map(TaskView::from).collect(),
        next_cursor: page.next.as_ref().map(encode_cursor),
    };
    json_response(StatusCode::OK, &view)
}

/// 201 with `Location` for a created task, 200 otherwise; replays are marked as such.
pub(super) fn outcome_response(outcome: &CommandOutcome) -> Response<Body> {
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

#[cfg(test)]
mod tests {
    use http::{StatusCode, header};

    use crate::api::test_support::{api, create_valid, send};

    #[tokio::test]
    async fn create_answers_201_with_the_task_location_and_etag() {
        let api = api();
        let r = send(&api, create_valid("user-1")).await;
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
}
