//! The analytics consumer against moto: hundreds of events delivered three times each in
//! shuffled batches give exact counters; poison messages fail alone and reach the DLQ through
//! the template's redrive policy; injected conflicts, throttling and lost responses cause no
//! drift.

mod busy_user;
mod deliveries;
mod faults;
mod months;
mod poison;

use serde_json::{Value, json};
use taskpulse_domain::{Task, TaskStatus};
use taskpulse_testkit::{AwsPipeline, History};

/// The days the history of `HistoryShape::every_counter` falls in, as a report query.
const REPORTED_DAYS: &str = "from=2026-11-20&to=2026-11-24";

/// Counters recounted from the final task states and the event times, without the projection.
fn recount(history: &History, user: Option<&str>) -> Value {
    let mine = |t: &&Task| user.is_none_or(|u| t.owner.as_str() == u);
    let tasks: Vec<&Task> = history.finals.iter().filter(mine).collect();
    let count = |f: &dyn Fn(&Task) -> bool| tasks.iter().filter(|t| f(t)).count() as i64;
    let completed = |t: &Task| t.status() == TaskStatus::Completed;
    let on_time =
        |t: &Task| completed(t) && t.actual_accomplish_date.unwrap() <= t.planned_accomplish_date;
    let lead: i64 = tasks
        .iter()
        .filter_map(|t| {
            t.actual_accomplish_date
                .map(|d| (d - t.created_at).num_seconds())
        })
        .sum();
    let delayed = history
        .events
        .iter()
        .filter(|e| user.is_none_or(|u| e.user_id.as_str() == u) && e.event_type() == "TaskDelayed")
        .count() as i64;
    json!({
        "created": tasks.len() as i64,
        "completed": count(&completed),
        "completedOnTime": count(&on_time),
        "completedLate": count(&|t| completed(t) && !on_time(t)),
        "leadTimeSecondsSum": lead,
        "delayed": delayed,
        "open": {
            "new": count(&|t| t.status() == TaskStatus::New),
            "in_progress": count(&|t| t.status() == TaskStatus::InProgress),
            "on_hold": count(&|t| t.status() == TaskStatus::OnHold),
        }
    })
}

/// `GET /analytics/global` over the reported days, by a caller with the read scope.
async fn global_report(pipeline: &AwsPipeline) -> Value {
    let call = pipeline.client().analytics_global("ops", REPORTED_DAYS);
    let reply = call.scopes(&["analytics:read"]).await;
    assert_eq!(reply.status.as_u16(), 200);
    reply.body
}

/// `GET /analytics/me` of `user` over the reported days.
async fn user_report(pipeline: &AwsPipeline, user: &str) -> Value {
    let reply = pipeline.client().analytics_me(user, REPORTED_DAYS).await;
    assert_eq!(reply.status.as_u16(), 200);
    reply.body
}

fn assert_matches(report: &Value, expected: &Value, who: &str) {
    for counter in [
        "created",
        "completed",
        "completedOnTime",
        "completedLate",
        "leadTimeSecondsSum",
        "delayed",
    ] {
        assert_eq!(
            report["totals"][counter], expected[counter],
            "{who}: {counter}"
        );
    }
    assert_eq!(report["openTasks"], expected["open"], "{who}: open tasks");
}
