//! The simulation's engine: runs one task's commands in order and recounts their effects,
//! paces commands, and observes when the counters show them.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use http::Method;
use indicatif::ProgressBar;
use serde_json::{Value, json};
use taskpulse_local::server::{SCOPES_HEADER, USER_HEADER};

use crate::SimulateError;
use crate::client::HttpClient;
use crate::durations::{DELAY, LEAD_TIME};
use crate::freshness::Freshness;
use crate::recount::{Recount, completed_with, created_with, observed};
use crate::workload::{Step, TaskScript};

/// The simulation in progress, shared by the workers running task scripts and the observer
/// polling the analytics API.
pub(crate) struct Simulation {
    pub http: HttpClient,
    pub users: Vec<String>,
    pub recounts: Vec<Mutex<Recount>>,
    pub freshness: Vec<Mutex<Freshness>>,
    pub commands: std::sync::atomic::AtomicU64,
    pub events: std::sync::atomic::AtomicU64,
    pub errors: Mutex<Vec<String>>,
    pub progress: ProgressBar,
    /// Reads that showed less than an earlier read of the same user: never a complete answer.
    pub regressions: Mutex<Vec<String>>,
    /// The user to erase during the run (`--erase`), and whether its erasure was asked for:
    /// from then on its tasks stop at their next command.
    pub erasing: Option<usize>,
    pub erase_requested: std::sync::atomic::AtomicBool,
    /// The earliest instant of the next command when the rate is limited.
    pub next_slot: Option<Mutex<tokio::time::Instant>>,
    pub slot_interval: Duration,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A timestamp of the task the API answered.
fn server_time(task: &Value, field: &str) -> Option<DateTime<Utc>> {
    task[field].as_str()?.parse().ok()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Simulation {
    pub(crate) fn user_headers(&self, user: usize) -> [(&str, &str); 1] {
        [(USER_HEADER, self.users[user].as_str())]
    }

    /// Whether `user` is the one erased and its erasure was asked for.
    pub(crate) fn is_erased(&self, user: usize) -> bool {
        self.erasing == Some(user)
            && self
                .erase_requested
                .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Runs one task's steps in order, recounting each accepted command's effect.
    pub async fn run_task(
        &self,
        script: &TaskScript,
        key_prefix: &str,
    ) -> Result<(), SimulateError> {
        let user = script.user;
        let mut task_path = String::new();
        let mut status = "new";
        let mut planned = Utc::now();
        let mut priority = "medium";
        let mut created_at = Utc::now();
        for (n, step) in script.steps.iter().enumerate() {
            let key = format!("{key_prefix}-{n}");
            let mut headers = vec![("idempotency-key", key.as_str())];
            headers.extend(self.user_headers(user));
            let (path, body) = match step {
                Step::Create { planned, priority } => (
                    "/tasks".to_owned(),
                    json!({"title": format!("Simulated task {key_prefix}"), "priority": priority,
                           "plannedAccomplishDate": rfc3339(*planned)}),
                ),
                Step::Priority(p) => (format!("{task_path}/priority"), json!({ "priority": p })),
                Step::PlannedDate(at) => (
                    format!("{task_path}/planned-date"),
                    json!({ "plannedAccomplishDate": rfc3339(*at) }),
                ),
                Step::Status(s) => (format!("{task_path}/status"), json!({ "status": s })),
            };
            if self.is_erased(user) {
                return Ok(());
            }
            self.pace().await;
            let answer = match self
                .http
                .call(Method::POST, &path, &headers, Some(body))
                .await
            {
                Ok(answer) => answer,
                // Refused because the erasure began meanwhile: the task ends here.
                Err(SimulateError::Http { detail, .. })
                    if self.is_erased(user) && detail.starts_with("410") =>
                {
                    return Ok(());
                }
                Err(error) => return Err(error),
            };
            let accepted = Instant::now();
            let mut recount = lock(&self.recounts[user]);
            let before = recount.monotone();
            let events = match step {
                Step::Create {
                    planned: p,
                    priority: created_with_priority,
                } => {
                    let id = answer["id"].as_str().ok_or_else(|| SimulateError::Http {
                        method: Method::POST,
                        path: path.clone(),
                        detail: format!("the created task has no id: {answer}"),
                    })?;
                    task_path = format!("/tasks/{id}");
                    planned = *p;
                    priority = *created_with_priority;
                    created_at = server_time(&answer, "createdAt").unwrap_or(created_at);
                    recount.add("created", 1);
                    if let Some(counter) = created_with(priority) {
                        recount.add(counter, 1);
                    }
                    recount.gauge("new", 1);
                    recount.open_by_planned_date.add(planned, 1);
                    1
                }
                Step::Priority(to) => {
                    recount.add("priorityChanges", 1);
                    priority = *to;
                    1
                }
                Step::PlannedDate(to) => {
                    if *to > planned {
                        let seconds = (*to - planned).num_seconds();
                        recount.add("delayed", 1);
                        recount.add("delaySecondsSum", seconds);
                        recount.duration(DELAY, u64::try_from(seconds).unwrap_or(0));
                    } else {
                        recount.add("rescheduled", 1);
                    }
                    recount.open_by_planned_date.add(planned, -1);
                    recount.open_by_planned_date.add(*to, 1);
                    planned = *to;
                    1
                }
                Step::Status(to) => {
                    recount.gauge(status, -1);
                    recount.gauge(to, 1);
                    status = to;
                    if ["completed", "cancelled"].contains(to) {
                        recount.open_by_planned_date.add(planned, -1);
                    }
                    if *to == "completed" {
                        // The server's own completion time decides, as it does for the event.
                        let done_at =
                            server_time(&answer, "actualAccomplishDate").unwrap_or_else(Utc::now);
                        let on_time = done_at <= planned;
                        recount.add("completed", 1);
                        recount.add(
                            if on_time {
                                "completedOnTime"
                            } else {
                                "completedLate"
                            },
                            1,
                        );
                        for counter in completed_with(priority, on_time).into_iter().flatten() {
                            recount.add(counter, 1);
                        }
                        let lead_time = (done_at - created_at).num_seconds();
                        recount.duration(LEAD_TIME, u64::try_from(lead_time).unwrap_or(0));
                        2
                    } else {
                        1
                    }
                }
            };
            let raised = recount.monotone() - before;
            drop(recount);
            if raised > 0 {
                let mut freshness = lock(&self.freshness[user]);
                for _ in 0..raised {
                    freshness.accepted.push(accepted);
                }
            }
            self.commands
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.events
                .fetch_add(events, std::sync::atomic::Ordering::Relaxed);
            self.progress.inc(1);
        }
        Ok(())
    }

    pub async fn analytics(
        &self,
        user: Option<usize>,
        from: NaiveDate,
    ) -> Result<Value, SimulateError> {
        // A day more on each side: a user's local day is at most a day from the UTC day, and
        // under `tasks-v2` the user's events count on it.
        let from = from.pred_opt().unwrap_or(from);
        let to = Utc::now().date_naive();
        let to = to.succ_opt().unwrap_or(to);
        let range = format!("from={from}&to={to}");
        match user {
            Some(user) => {
                self.http
                    .call(
                        Method::GET,
                        &format!("/analytics/me?{range}"),
                        &self.user_headers(user),
                        None,
                    )
                    .await
            }
            None => {
                self.http
                    .call(
                        Method::GET,
                        &format!("/analytics/global?{range}"),
                        &[
                            (USER_HEADER, "simulator"),
                            (SCOPES_HEADER, "analytics:read"),
                        ],
                        None,
                    )
                    .await
            }
        }
    }

    /// Waits for this command's slot when the rate is limited.
    async fn pace(&self) {
        let Some(next_slot) = &self.next_slot else {
            return;
        };
        let slot = {
            let mut next = lock(next_slot);
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.slot_interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Notes the levels of the monotone counters that `answer` (read just now) shows. A level
    /// below one seen before means the answer was incomplete (e.g. served from a version still
    /// being rebuilt): recorded as a regression.
    pub fn note_seen(&self, user: usize, answer: &Value) {
        let now = Instant::now();
        let level = usize::try_from(observed(answer).monotone()).unwrap_or(0);
        let mut f = lock(&self.freshness[user]);
        if level < f.seen.len() {
            lock(&self.regressions).push(format!(
                "{}: a read showed {level} counted events after one showed {} (projection version {})",
                self.users[user],
                f.seen.len(),
                answer["projectionVersion"]
            ));
        }
        while f.seen.len() < level {
            f.seen.push(now);
        }
    }

    /// Polls the users with levels not yet seen until `done` turns true; returns the mean
    /// time of a polling round, the resolution of the freshness samples.
    pub async fn observe(
        &self,
        from: NaiveDate,
        done: tokio::sync::watch::Receiver<bool>,
    ) -> Duration {
        let started = Instant::now();
        let mut rounds = 0u32;
        while !*done.borrow() {
            rounds += 1;
            for user in 0..self.users.len() {
                if self.is_erased(user) {
                    continue;
                }
                let behind = {
                    let f = lock(&self.freshness[user]);
                    f.seen.len() < f.accepted.len()
                };
                if behind && let Ok(answer) = self.analytics(Some(user), from).await {
                    self.note_seen(user, &answer);
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        started.elapsed() / rounds.max(1)
    }
}
