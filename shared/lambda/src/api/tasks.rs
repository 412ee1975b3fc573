//! The task routes: create, read and list the caller's tasks, and change a task's status,
//! priority or planned date. Each reads its body fields here and leaves the rules to the
//! task commands.

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};
use taskpulse_app::tasks::CommandStore;
use taskpulse_app::{CommandContext, CommandQueues, ListQuery, NewTask};
use taskpulse_domain::{Description, Priority, TaskCommand, TaskId, TaskStatus, Title, UserId};

use super::Api;
use super::fields::{Fields, timestamp};
use super::identity::Caller;
use super::problem::Problem;
use super::request::command_request;
use super::response::{outcome_response, task_page_response, task_response};

/// Which command a `POST /tasks/{id}/…` route carries.
#[derive(Debug, Clone, Copy)]
pub(super) enum ChangeRoute {
    Status,
    Priority,
    PlannedDate,
}

impl<S, P, R, W> Api<S, P, R, W>
where
    S: CommandStore,
    P: CommandQueues,
{
    pub(super) async fn create_task(
        &self,
        context: &CommandContext,
        new_task: NewTask,
    ) -> Result<Response<Body>, Problem> {
        let outcome = self.commands.create_task(context, new_task).await?;
        Ok(outcome_response(&outcome))
    }

    pub(super) async fn get_task(
        &self,
        owner: &UserId,
        id: TaskId,
    ) -> Result<Response<Body>, Problem> {
        let task = self.commands.get_task(owner, id).await?;
        Ok(task_response(&task, StatusCode::OK))
    }

    pub(super) async fn list_tasks(
        &self,
        owner: &UserId,
        query: &ListQuery,
    ) -> Result<Response<Body>, Problem> {
        let page = self.commands.list_tasks(owner, query).await?;
        Ok(task_page_response(&page))
    }

    pub(super) async fn change_task(
        &self,
        context: &CommandContext,
        id: TaskId,
        command: TaskCommand,
    ) -> Result<Response<Body>, Problem> {
        let outcome = self.commands.change_task(context, id, command).await?;
        Ok(outcome_response(&outcome))
    }
}

/// `POST /tasks`: the new task from the body, the context from the headers.
pub(super) fn read_create(
    request: &Request,
    caller: Caller,
) -> Result<(NewTask, CommandContext), Problem> {
    command_request(request, caller, parse_new_task)
}

/// `POST /tasks/{id}/…`: the task named (an unknown spelling is 404 before the body is read),
/// the command from the body, the context from the headers.
pub(super) fn read_change(
    request: &Request,
    caller: Caller,
    id: &str,
    route: ChangeRoute,
) -> Result<(TaskId, TaskCommand, CommandContext), Problem> {
    let id = task_id(id)?;
    let parse_body = match route {
        ChangeRoute::Status => parse_status_change,
        ChangeRoute::Priority => parse_priority_change,
        ChangeRoute::PlannedDate => parse_planned_date_change,
    };
    let (command, context) = command_request(request, caller, parse_body)?;
    Ok((id, command, context))
}

/// A task has one spelling, the one the API answers with (a lowercase, hyphenated UUID): any
/// other (`urn:uuid:…`, braces, no hyphens, upper case) names no task, 404 like any unknown one.
pub(super) fn task_id(raw: &str) -> Result<TaskId, Problem> {
    raw.parse::<TaskId>()
        .ok()
        .filter(|id| id.to_string() == raw)
        .ok_or_else(Problem::no_such_task)
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

#[cfg(test)]
mod tests {
    use http::{StatusCode, header};
    use serde_json::json;

    use crate::api::test_support::{api, create, fields, get, post, send};

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
    async fn get_shows_own_tasks_only() {
        let api = api();
        let id = create(&api, "owner").await;
        let r = send(&api, get(&format!("/tasks/{id}"), "owner", "")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["id"], id.as_str());
        assert_eq!(r.headers[header::ETAG], "\"1\"");
        let r = send(&api, get(&format!("/tasks/{id}"), "stranger", "")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = send(&api, get("/tasks/not-a-uuid", "owner", "")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn status_priority_and_planned_date_commands() {
        let api = api();
        let id = create(&api, "u").await;
        let change = |action: &str, body| post(&format!("/tasks/{id}/{action}"), "u", body);
        let r = send(&api, change("status", json!({"status": "in_progress"}))).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["status"], "in_progress");
        assert_eq!(r.headers[header::ETAG], "\"2\"");
        let r = send(&api, change("priority", json!({"priority": "low"}))).await;
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
            change(
                "planned-date",
                json!({"plannedAccomplishDate": "2031-01-01T00:00:00Z"}),
            ),
        )
        .await;
        assert_eq!(r.body["plannedAccomplishDate"], "2031-01-01T00:00:00Z");
        assert_eq!(r.body["version"], 4);
        let r = send(&api, change("status", json!({"status": "completed"}))).await;
        assert_eq!(r.body["version"], 6, "StatusChanged and Completed");
        assert!(r.body["actualAccomplishDate"].is_string());
        let r = send(&api, change("priority", json!({"priority": "high"}))).await;
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
    async fn a_task_has_one_spelling_of_its_id() {
        let api = api();
        let id = create(&api, "u").await;
        let undashed = id.replace('-', "");
        for other in [
            format!("urn:uuid:{id}"),
            id.to_uppercase(),
            undashed,
            format!("{{{id}}}"),
        ] {
            let r = send(&api, get(&format!("/tasks/{other}"), "u", "")).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{other}");
            let r = send(
                &api,
                post(
                    &format!("/tasks/{other}/priority"),
                    "u",
                    json!({"priority": "low"}),
                ),
            )
            .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{other}");
        }
        let r = send(&api, get(&format!("/tasks/{id}"), "u", "")).await;
        assert_eq!(r.status, StatusCode::OK);
    }

    #[tokio::test]
    async fn text_fields_refuse_control_characters_and_titles_count_what_was_sent() {
        let api = api();
        let planned = "2030-01-01T00:00:00Z";
        for (field, body) in [
            (
                "title",
                json!({"title": "nul\u{0}", "plannedAccomplishDate": planned}),
            ),
            (
                "title",
                json!({"title": "two\nlines", "plannedAccomplishDate": planned}),
            ),
            (
                "title",
                json!({"title": format!("{:^210}", "x"), "plannedAccomplishDate": planned}),
            ),
            (
                "description",
                json!({"title": "t", "description": "bell\u{7}", "plannedAccomplishDate": planned}),
            ),
        ] {
            let r = send(&api, post("/tasks", "u", body.clone())).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(fields(&r.body), [field], "{body}");
        }
        let multiline = json!({"title": "t", "description": "one\r\ntwo\tthree", "plannedAccomplishDate": planned});
        assert_eq!(
            send(&api, post("/tasks", "u", multiline)).await.status,
            StatusCode::CREATED
        );
        assert_eq!(api.commands().store().len(), 1);
    }
}
