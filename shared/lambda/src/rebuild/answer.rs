//! The coordinator's answer to a command: what the step did (or why it was refused, nothing
//! changed), and the projection configuration after it. Serialised as the JSON
//! `aws lambda invoke` prints.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use taskpulse_app::projections::{ProjectionConfig, ProjectionSpec};
use taskpulse_app::rebuild::{Difference, VerificationReport};
use taskpulse_domain::analytics::Scope;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub action: &'static str,
    /// Why the step was refused; absent when it was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<Started>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired: Option<Retired>,
    pub config: ConfigView,
}

impl Answer {
    pub fn new(action: &'static str, config: &ProjectionConfig) -> Self {
        Self {
            action,
            refused: None,
            started: None,
            progress: None,
            verification: None,
            retired: None,
            config: ConfigView::from(config),
        }
    }
}

/// What `start` enqueued.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub version: u32,
    pub projection: &'static str,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Partitions in range not done yet, each enqueued once.
    pub pending: usize,
    pub enqueued: usize,
    /// How long the work items wait on the queue: the rest of the settle time.
    pub delay_seconds: u64,
}

/// How far the building version's backfill is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub version: u32,
    pub partitions_done: usize,
    /// Archive partitions (of every date) not done yet.
    pub partitions_pending: usize,
    pub events_read: u64,
    pub events_applied: u64,
    /// Events the live consumer (or an earlier run) had applied already.
    pub duplicates: u64,
    pub corrupt_objects: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationView {
    pub items: u64,
    pub counters: Vec<String>,
    pub differences: usize,
    /// The first differences found, to start explaining them from.
    pub sample: Vec<DifferenceView>,
    /// Users counted on other days by the two versions (one counts local days, the other UTC
    /// days) with the same totals, and their differing day items: their time zones explain
    /// them, so they are no differences.
    pub users_on_other_days: u64,
    pub user_days_on_other_days: u64,
}

impl VerificationView {
    pub fn new(report: &VerificationReport, sample: usize) -> Self {
        Self {
            items: report.items,
            counters: report
                .counters
                .iter()
                .map(|c| c.name().into_owned())
                .collect(),
            differences: report.differences.len(),
            sample: report
                .differences
                .iter()
                .take(sample)
                .map(DifferenceView::from)
                .collect(),
            users_on_other_days: report.users_on_other_days,
            user_days_on_other_days: report.user_days_on_other_days,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DifferenceView {
    /// `global`, or the user id.
    pub scope: String,
    pub day: NaiveDate,
    pub counter: String,
    pub active: i64,
    pub building: i64,
}

impl From<&Difference> for DifferenceView {
    fn from(difference: &Difference) -> Self {
        Self {
            scope: match &difference.key.scope {
                Scope::Global => "global".to_owned(),
                Scope::User(user) => format!("user:{user}"),
            },
            day: difference.key.day,
            counter: difference.counter.name().into_owned(),
            active: difference.active,
            building: difference.building,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retired {
    /// The version whose items were deleted; none when nothing was retiring.
    pub version: Option<u32>,
    pub deleted: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigView {
    pub active: SpecView,
    pub building: Option<BuildingView>,
    pub retiring: Option<u32>,
    pub highest: u32,
    pub revision: u64,
}

impl From<&ProjectionConfig> for ConfigView {
    fn from(config: &ProjectionConfig) -> Self {
        Self {
            active: SpecView::from(config.active),
            building: config.building.map(|b| BuildingView {
                spec: SpecView::from(b.spec),
                since: b.since,
                verification: b.verification.map(|v| LastVerification {
                    at: v.at,
                    items: v.items,
                    differences: v.differences,
                }),
            }),
            retiring: config.retiring.map(|v| v.number()),
            highest: config.highest.number(),
            revision: config.revision,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecView {
    pub version: u32,
    pub projection: &'static str,
}

impl From<ProjectionSpec> for SpecView {
    fn from(spec: ProjectionSpec) -> Self {
        Self {
            version: spec.version.number(),
            projection: spec.projection.name(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildingView {
    #[serde(flatten)]
    pub spec: SpecView,
    pub since: DateTime<Utc>,
    pub verification: Option<LastVerification>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastVerification {
    pub at: DateTime<Utc>,
    pub items: u64,
    pub differences: u64,
}
