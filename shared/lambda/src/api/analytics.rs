//! The analytics routes: the caller's own counters (`/analytics/me`) and everyone's
//! (`/analytics/global`, for tokens with the analytics scope), over a range of UTC days. Each
//! answer has an `ETag`; asking again with `If-None-Match` costs no body while nothing moved.

use chrono::{NaiveDate, Utc};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use taskpulse_app::{AnalyticsReport, LoadProjectionConfig, ReadCounters, analytics_report};
use taskpulse_domain::analytics::{Counter, ProjectionVersion, Scope};

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

impl<S, P, R: ReadCounters + LoadProjectionConfig, W> Api<S, P, R, W> {
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
        let (from, to) = analytics_range(request, Utc::now().date_naive())?;
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
    open_tasks: Map<String, Value>,
    days: Vec<Map<String, Value>>,
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
