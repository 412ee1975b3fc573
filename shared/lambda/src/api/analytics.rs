//! The analytics routes: the caller's own counters (`/analytics/me`, over the caller's local
//! days where the active version counts them) and everyone's (`/analytics/global`, for tokens
//! with the analytics scope, over UTC days). Each
//! answer has an `ETag`; asking again with `If-None-Match` costs no body while nothing moved.

use chrono::{NaiveDate, Utc};
use http::StatusCode;
use lambda_http::RequestExt;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use taskpulse_app::{
    AnalyticsReport, LoadProjectionConfig, LoadUserSettings, ReadCounters, analytics_report,
};
use taskpulse_domain::analytics::{Counter, ProjectionVersion, Scope, quantile};

use super::Api;
use super::conditional::conditional_json;
use super::identity::caller;
use super::problem::Problem;
use super::query::analytics_range;
use super::request::header_text;

/// The OAuth scope that lets a caller read everyone's analytics.
pub const ANALYTICS_READ_SCOPE: &str = "analytics:read";

/// Which analytics a route shows.
#[derive(Debug, Clone, Copy)]
pub(super) enum AnalyticsRoute {
    /// The caller's own.
    Me,
    /// Everyone's together.
    Global,
}

impl<S: LoadUserSettings, P, R: ReadCounters + LoadProjectionConfig, W> Api<S, P, R, W> {
    pub(super) async fn analytics_report(
        &self,
        request: &Request,
        route: AnalyticsRoute,
    ) -> Result<Response<Body>, Problem> {
        let caller = caller(request, self.caller_source)?;
        let scope = match route {
            AnalyticsRoute::Global => {
                caller.require_scope(ANALYTICS_READ_SCOPE, "everyone's analytics")?;
                Scope::Global
            }
            AnalyticsRoute::Me => Scope::User(caller.user_id),
        };
        let today = self.today_of(request, &scope).await?;
        let (from, to) = analytics_range(request, today)?;
        let if_none_match = header_text(request.headers(), "If-None-Match")?;
        // One configuration read per request: the whole answer comes from one version.
        let active = self.analytics.load_projection_config().await?.active;
        let report = analytics_report(&self.analytics, active, &scope, from, to).await?;
        let view = AnalyticsView::new(&scope, active.version, &report);
        let body = serde_json::to_string(&view).map_err(|error| {
            tracing::error!(%error, "an analytics answer could not be serialised");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the answer could not be written",
            )
        })?;
        Ok(conditional_json(if_none_match.as_deref(), body))
    }
}

impl<S: LoadUserSettings, P, R, W> Api<S, P, R, W> {
    /// The last day of a range that names none: the caller's local today for the caller's own
    /// analytics (whose days are the caller's local days in a version that counts them, and
    /// UTC days otherwise, which the local today is at most a day from), the UTC today for
    /// everyone's. The settings are read only when the range needs them.
    async fn today_of(&self, request: &Request, scope: &Scope) -> Result<NaiveDate, Problem> {
        let now = Utc::now();
        let names_its_end = request.query_string_parameters().first("to").is_some();
        match scope {
            Scope::User(user) if !names_its_end => {
                let settings = self.commands.store().load_user_settings(user).await?;
                Ok(settings.unwrap_or_default().time_zone.local_day(now))
            }
            _ => Ok(now.date_naive()),
        }
    }
}

/// The analytics as the API shows them: camelCase counters, derived rates, one row per day.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AnalyticsView {
    scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    /// The projection version that answered.
    projection_version: u32,
    from: NaiveDate,
    to: NaiveDate,
    totals: Map<String, Value>,
    /// p50, p90 and p99 of each histogram the projection keeps, over the range.
    #[serde(skip_serializing_if = "Map::is_empty")]
    percentiles: Map<String, Value>,
    open_tasks: Map<String, Value>,
    days: Vec<Map<String, Value>>,
}

/// The quantiles answered of each histogram.
const QUANTILES: [(&str, f64); 3] = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)];

/// A histogram's answer: how many durations it counts and its quantiles (`null` when none),
/// each within `HISTOGRAM_RELATIVE_ERROR` of a duration it counts.
fn percentiles_json(counts: &[(u8, i64)]) -> Value {
    let count: i64 = counts.iter().map(|(_, n)| (*n).max(0)).sum();
    let mut answer = Map::from_iter([("count".to_owned(), Value::from(count))]);
    for (name, q) in QUANTILES {
        // Tenths of a second: the buckets are 4.9 % wide, more digits would be noise.
        let value = quantile(counts, q).map(|v| (v * 10.0).round() / 10.0);
        answer.insert(name.to_owned(), value.map_or(Value::Null, Value::from));
    }
    Value::Object(answer)
}

fn counters_json(counters: &std::collections::BTreeMap<Counter, i64>) -> Map<String, Value> {
    counters
        .iter()
        .map(|(c, v)| (c.name().to_owned(), Value::from(*v)))
        .collect()
}

impl AnalyticsView {
    fn new(scope: &Scope, version: ProjectionVersion, report: &AnalyticsReport) -> Self {
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
        let percentiles = report
            .histograms
            .iter()
            .map(|(histogram, counts)| (histogram.name().to_owned(), percentiles_json(counts)))
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
            projection_version: version.number(),
            from: report.from,
            to: report.to,
            totals,
            percentiles,
            open_tasks,
            days,
        }
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use serde_json::json;

    use crate::api::test_support::{api, assert_queries_refused, create, get, post, send};

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
        let active = taskpulse_app::projections::ProjectionConfig::initial().active;
        let outcome = taskpulse_app::apply_events(
            api.analytics(),
            active,
            &events,
            &Default::default(),
            deadline,
        )
        .await;
        assert_eq!(outcome.applied.len(), events.len());

        let me = send(&api, get("/analytics/me", "ana", "")).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        assert_eq!(me.body["scope"], "user");
        assert_eq!(me.body["projectionVersion"], 1);
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

        let forbidden = send(&api, get("/analytics/global", "ana", "")).await;
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
        let mut reader = get("/analytics/global", "ops", "");
        reader.scopes = vec!["analytics:read".into()];
        let global = send(&api, reader).await;
        assert_eq!(global.status, StatusCode::OK);
        assert_eq!(global.body["totals"]["created"], 3);
        assert_eq!(global.body["openTasks"]["new"], 2);

        assert_queries_refused(
            &api,
            "/analytics/me",
            "ana",
            &[
                "from=2026-02-01&to=2026-01-01",
                "from=2024-01-01&to=2026-01-01",
                "from=yesterday",
                "from=2026-1-1",
                "to=2026-01-1",
                "from=+2026-01-01",
                "days=3",
            ],
        )
        .await;
        let one_day = get("/analytics/me", "ana", "from=2026-01-01&to=2026-01-01");
        let reply = send(&api, one_day).await;
        assert_eq!(
            reply.body["days"],
            json!([{"date": "2026-01-01", "created": 0, "completed": 0, "completedOnTime": 0, "completedLate": 0, "leadTimeSecondsSum": 0, "delayed": 0, "delaySecondsSum": 0, "rescheduled": 0, "priorityChanges": 0}])
        );
        assert!(reply.body["totals"]["onTimeRate"].is_null());
        assert!(
            reply.body.get("percentiles").is_none(),
            "the tasks projection keeps none"
        );
    }

    #[tokio::test]
    async fn a_tasks_v2_answer_has_percentiles_and_per_priority_completions_but_no_bucket_rows() {
        use taskpulse_app::SaveProjectionConfig;
        use taskpulse_app::projections::{ProjectionConfig, ProjectionSpec};
        use taskpulse_domain::analytics::{HISTOGRAM_RELATIVE_ERROR, Projection};

        let api = api();
        let v2 = ProjectionSpec {
            version: taskpulse_domain::analytics::ProjectionVersion::FIRST,
            projection: Projection::TasksV2,
        };
        let config = ProjectionConfig {
            active: v2,
            revision: 1,
            ..ProjectionConfig::initial()
        };
        api.analytics()
            .save_projection_config(&config)
            .await
            .unwrap();
        let id = create(&api, "ana").await;
        create(&api, "ana").await;
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
        let lead_time = events
            .iter()
            .find_map(|e| match &e.event {
                taskpulse_domain::TaskEvent::Completed(done) => Some(done.lead_time_seconds),
                _ => None,
            })
            .unwrap();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        let outcome = taskpulse_app::apply_events(
            api.analytics(),
            v2,
            &events,
            &Default::default(),
            deadline,
        )
        .await;
        assert_eq!(outcome.applied.len(), events.len());

        let me = send(&api, get("/analytics/me", "ana", "")).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        assert_eq!(
            me.body["totals"]["completedHigh"], 1,
            "VALID is a high-priority task"
        );
        assert_eq!(me.body["totals"]["completedOnTimeHigh"], 1);
        assert_eq!(me.body["totals"]["createdHigh"], 2);
        let lead = &me.body["percentiles"]["leadTimeSeconds"];
        assert_eq!(lead["count"], 1);
        for q in ["p50", "p90", "p99"] {
            let value = lead[q].as_f64().unwrap();
            let exact = lead_time as f64;
            assert!(
                (value - exact).abs() <= exact * HISTOGRAM_RELATIVE_ERROR + 0.05,
                "{q}: {value} for {exact}"
            );
        }
        let delay = &me.body["percentiles"]["delaySeconds"];
        assert_eq!(
            (delay["count"].clone(), delay["p50"].clone()),
            (json!(0), json!(null))
        );
        let rows = me.body["days"].as_array().unwrap();
        assert!(
            rows.iter()
                .all(|row| !row.as_object().unwrap().keys().any(|k| k.starts_with("lt")))
        );
        assert!(!me.body["totals"].as_object().unwrap().contains_key("lt0"));
    }

    #[tokio::test]
    async fn an_unchanged_answer_is_304_and_a_counted_event_changes_the_tag() {
        let api = api();
        let first = send(&api, get("/analytics/me", "ana", "")).await;
        assert_eq!(first.status, StatusCode::OK);
        let tag = first.headers[http::header::ETAG]
            .to_str()
            .unwrap()
            .to_owned();
        let mut again = get("/analytics/me", "ana", "");
        again = again.header("if-none-match", &tag);
        let unchanged = send(&api, again.clone()).await;
        assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
        assert!(unchanged.body.is_null(), "no body: {}", unchanged.body);
        assert_eq!(unchanged.headers[http::header::ETAG], tag.as_str());
        // Another user's answer is another body, so another tag.
        let other = send(
            &api,
            get("/analytics/me", "ben", "").header("if-none-match", &tag),
        )
        .await;
        assert_eq!(other.status, StatusCode::OK);

        create(&api, "ana").await;
        let events = api.commands().publisher().drain_envelopes();
        let active = taskpulse_app::projections::ProjectionConfig::initial().active;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        taskpulse_app::apply_events(
            api.analytics(),
            active,
            &events,
            &Default::default(),
            deadline,
        )
        .await;
        let moved = send(&api, again).await;
        assert_eq!(moved.status, StatusCode::OK);
        assert_eq!(moved.body["totals"]["created"], 1);
        assert_ne!(moved.headers[http::header::ETAG], tag.as_str());
    }
}
