//! A rebuild of the analytics from the event archive, run inside the local stack
//! (`POST /_local/rebuild`, followed with `GET /_local/rebuild`): the same
//! `taskpulse_app::rebuild` steps the coordinator and worker functions take on AWS, on the
//! stack's own archive and counter table.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use taskpulse_app::rebuild::{
    RebuildPlan, RebuildProgressEvent, Rereads, WritePace, retire, run_rebuild, settle_time,
};
use taskpulse_app::{LoadErasures, PlanLimits};
use taskpulse_domain::analytics::Projection;

use crate::archive::LocalArchive;
use crate::backend::AnalyticsTable;

/// Differences listed in the state (all are counted).
const SAMPLE_DIFFERENCES: usize = 20;

/// What `POST /_local/rebuild` takes.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RebuildRequest {
    /// The projection to build [default: `tasks-by-priority`].
    #[serde(default)]
    pub projection: Option<String>,
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    #[serde(default = "activate_by_default")]
    pub activate: bool,
    #[serde(default)]
    pub force: bool,
    /// Counter item writes per second (unpaced when absent).
    #[serde(default)]
    pub write_rate: Option<f64>,
    /// The settle time [default: the configuration cache plus the consumer's timeout].
    #[serde(default)]
    pub settle_seconds: Option<u64>,
}

fn activate_by_default() -> bool {
    true
}

/// The rebuild's state, as `GET /_local/rebuild` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildState {
    /// `idle`, `registered`, `settling`, `backfilling`, `verifying`, `done` or `failed`.
    pub stage: &'static str,
    pub version: Option<u32>,
    pub projection: Option<&'static str>,
    pub partitions_pending: usize,
    pub partitions_done: usize,
    pub events: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub repeated_lines: u64,
    pub corrupt: Vec<Value>,
    pub events_per_second: f64,
    pub differences: Option<usize>,
    pub sample_differences: Vec<Value>,
    /// Users the versions count on other days with the same totals (their time zones), and
    /// their differing day items.
    pub users_on_other_days: u64,
    pub user_days_on_other_days: u64,
    pub activated: bool,
    pub refused: Option<String>,
    pub error: Option<String>,
}

impl Default for RebuildState {
    fn default() -> Self {
        Self {
            stage: "idle",
            version: None,
            projection: None,
            partitions_pending: 0,
            partitions_done: 0,
            events: 0,
            applied: 0,
            duplicates: 0,
            repeated_lines: 0,
            corrupt: vec![],
            events_per_second: 0.0,
            differences: None,
            sample_differences: vec![],
            users_on_other_days: 0,
            user_days_on_other_days: 0,
            activated: false,
            refused: None,
            error: None,
        }
    }
}

impl RebuildState {
    fn running(&self) -> bool {
        !matches!(self.stage, "idle" | "done" | "failed")
    }
}

/// Why a rebuild was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartRefused {
    Running,
    Invalid(String),
}

/// The local stack's rebuild: at most one at a time.
#[derive(Debug, Default)]
pub struct LocalRebuild {
    state: Mutex<RebuildState>,
}

impl LocalRebuild {
    pub fn state(&self) -> RebuildState {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RebuildState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut RebuildState)) {
        change(&mut self.lock());
    }

    /// Starts a rebuild in the background; `consumer_timeout` bounds the settle time.
    pub fn start<C: AnalyticsTable, E: LoadErasures + 'static>(
        self: &std::sync::Arc<Self>,
        archive: LocalArchive,
        erasures: E,
        store: C,
        request: RebuildRequest,
        limits: PlanLimits,
        consumer_timeout: Duration,
    ) -> Result<(), StartRefused> {
        let name = request.projection.as_deref().unwrap_or("tasks-by-priority");
        let projection = Projection::from_name(name).ok_or_else(|| {
            StartRefused::Invalid(format!(
                "no projection named '{name}' (known: {})",
                Projection::ALL.map(|p| p.name()).join(", ")
            ))
        })?;
        if let (Some(from), Some(to)) = (request.from, request.to)
            && from > to
        {
            return Err(StartRefused::Invalid("'from' is after 'to'".into()));
        }
        let plan = RebuildPlan {
            projection,
            from: request.from,
            to: request.to,
            settle: request
                .settle_seconds
                .map_or_else(|| settle_time(consumer_timeout), Duration::from_secs),
            write_rate: request.write_rate,
            limits,
            rereads: Rereads::default(),
            activate: request.activate,
            force: request.force,
        };
        {
            let mut state = self.lock();
            if state.running() {
                return Err(StartRefused::Running);
            }
            *state = RebuildState {
                stage: "registered",
                projection: Some(projection.name()),
                ..RebuildState::default()
            };
        }
        let this = std::sync::Arc::clone(self);
        tokio::spawn(async move { this.run(archive, erasures, store, plan).await });
        Ok(())
    }

    async fn run<C: AnalyticsTable>(
        &self,
        archive: LocalArchive,
        erasures: impl LoadErasures,
        store: C,
        plan: RebuildPlan,
    ) {
        let mut backfill_started: Option<Instant> = None;
        let result = run_rebuild(&archive, &erasures, &store, &plan, |event| match event {
            RebuildProgressEvent::Registered { version } => {
                self.update(|s| s.version = Some(version.number()));
            }
            RebuildProgressEvent::Settling { .. } => self.update(|s| s.stage = "settling"),
            RebuildProgressEvent::Partitions { pending } => {
                backfill_started = Some(Instant::now());
                self.update(|s| {
                    s.stage = if pending == 0 { "verifying" } else { "backfilling" };
                    s.partitions_pending = pending;
                });
            }
            RebuildProgressEvent::PartitionDone(partition) => {
                let elapsed = backfill_started.map_or(0.0, |at| at.elapsed().as_secs_f64());
                self.update(|s| {
                    s.partitions_done += 1;
                    s.events += partition.done.events;
                    s.applied += partition.done.applied;
                    s.duplicates += partition.done.duplicates;
                    s.repeated_lines += partition.done.repeated_lines;
                    s.corrupt.extend(partition.corrupt.iter().map(|c| {
                        json!({"key": c.key.as_str(), "line": c.line, "reason": c.reason})
                    }));
                    s.events_per_second = s.events as f64 / elapsed.max(1e-6);
                    if s.partitions_done >= s.partitions_pending {
                        s.stage = "verifying";
                    }
                });
            }
            RebuildProgressEvent::Verified(report) => self.update(|s| {
                s.differences = Some(report.differences.len());
                s.users_on_other_days = report.users_on_other_days;
                s.user_days_on_other_days = report.user_days_on_other_days;
                s.sample_differences = report
                    .differences
                    .iter()
                    .take(SAMPLE_DIFFERENCES)
                    .map(|d| {
                        json!({"key": format!("{:?} {}", d.key.scope, d.key.day),
                               "counter": d.counter.name(), "active": d.active, "building": d.building})
                    })
                    .collect();
            }),
        })
        .await;
        self.update(|s| match result {
            Ok(report) => {
                s.stage = "done";
                s.version = Some(report.version.number());
                s.activated = report.activated;
                s.refused = report.refused.map(|r| r.to_string());
            }
            Err(error) => {
                s.stage = "failed";
                s.error = Some(error.to_string());
            }
        });
    }

    /// Deletes the retiring version's items; how many.
    pub async fn retire<C: AnalyticsTable>(
        &self,
        store: &C,
        write_rate: Option<f64>,
    ) -> Result<u64, String> {
        if self.lock().running() {
            return Err("a rebuild is running".into());
        }
        retire(store, &mut WritePace::new(write_rate))
            .await
            .map_err(|e| e.to_string())
    }
}
