//! The analytics routes over the in-memory adapters.

use http::StatusCode;
use serde_json::json;

use crate::api::test_support::{api, assert_queries_refused, create, get, post, send};
use crate::gateway_request::GatewayRequest;

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
    assert!(reply.body.get("overdueTasks").is_none(), "nor due gauges");
}

#[tokio::test]
async fn a_tasks_v3_answer_has_percentiles_per_priority_completions_and_overdue_tasks_but_no_bucket_rows()
 {
    use taskpulse_app::SaveProjectionConfig;
    use taskpulse_app::projections::{ProjectionConfig, ProjectionSpec};
    use taskpulse_domain::analytics::{HISTOGRAM_RELATIVE_ERROR, Projection};

    let api = api();
    let v2 = ProjectionSpec {
        version: taskpulse_domain::analytics::ProjectionVersion::FIRST,
        projection: Projection::TasksV3,
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
    let outcome =
        taskpulse_app::apply_events(api.analytics(), v2, &events, &Default::default(), deadline)
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
            (value - exact).abs() <= exact * HISTOGRAM_RELATIVE_ERROR + 0.005,
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
    assert!(
        rows.iter()
            .all(|row| !row.as_object().unwrap().keys().any(|k| k.starts_with("du")))
    );

    // VALID is planned for 2030-01-01T10:00Z; one of ana's two tasks is still open.
    let overdue = |user: &'static str, query: &'static str| {
        let api = &api;
        async move {
            let reply = send(api, get("/analytics/me", user, query)).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            reply.body["overdueTasks"].clone()
        }
    };
    assert_eq!(overdue("ana", "").await, 0, "not due yet");
    assert_eq!(overdue("ana", "from=2029-12-31&to=2029-12-31").await, 0);
    assert_eq!(overdue("ana", "from=2030-01-01&to=2030-01-01").await, 1);
    // In Kiritimati (UTC+14) that planned date is 2030-01-02.
    let zone = GatewayRequest::new("PUT", "/me/settings")
        .caller("kit")
        .json(&json!({"timeZone": "Pacific/Kiritimati"}));
    assert_eq!(send(&api, zone).await.status, StatusCode::OK);
    create(&api, "kit").await;
    let events = api.commands().publisher().drain_envelopes();
    taskpulse_app::apply_events(api.analytics(), v2, &events, &Default::default(), deadline).await;
    assert_eq!(overdue("kit", "from=2030-01-01&to=2030-01-01").await, 0);
    assert_eq!(overdue("kit", "from=2030-01-02&to=2030-01-02").await, 1);
    let mut reader = get("/analytics/global", "ops", "from=2030-01-01&to=2030-01-01");
    reader.scopes = vec!["analytics:read".into()];
    let global = send(&api, reader).await;
    assert_eq!(global.body["overdueTasks"], 2, "ana's and kit's, in UTC");
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

#[tokio::test]
async fn weeks_and_months_cut_the_range_and_a_bad_granularity_or_range_is_named() {
    let api = api();
    create(&api, "ana").await;
    let events = api.commands().publisher().drain_envelopes();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let active = taskpulse_app::projections::ProjectionConfig::initial().active;
    taskpulse_app::apply_events(
        api.analytics(),
        active,
        &events,
        &Default::default(),
        deadline,
    )
    .await;
    let today = events[0].occurred_at.date_naive();

    // Five years of months, ending with this month: 60 rows, today's task in the last.
    let to = today.format("%Y-%m-%d").to_string();
    let from = (today - chrono::Months::new(59))
        .format("%Y-%m-01")
        .to_string();
    let months = send(
        &api,
        get(
            "/analytics/me",
            "ana",
            &format!("granularity=month&from={from}&to={to}"),
        ),
    )
    .await;
    assert_eq!(months.status, StatusCode::OK, "{}", months.body);
    assert_eq!(months.body["granularity"], "month");
    assert!(months.body.get("days").is_none());
    let rows = months.body["periods"].as_array().unwrap();
    assert_eq!(rows.len(), 60);
    let last = rows.last().unwrap();
    assert_eq!(last["period"], today.format("%Y-%m").to_string());
    assert_eq!(last["to"], to.as_str());
    assert_eq!(last["created"], 1);
    assert_eq!(months.body["totals"]["created"], 1);

    // By default: twelve weeks, the last one this week's.
    let weeks = send(&api, get("/analytics/me", "ana", "granularity=week")).await;
    assert_eq!(weeks.status, StatusCode::OK, "{}", weeks.body);
    let rows = weeks.body["periods"].as_array().unwrap();
    assert_eq!(rows.len(), 12);
    assert!(rows[0]["period"].as_str().unwrap().contains("-W"));
    assert_eq!(rows.last().unwrap()["created"], 1);
    let days = send(&api, get("/analytics/me", "ana", "")).await;
    assert_eq!(days.body["granularity"], "day");
    assert_eq!(days.body["days"].as_array().unwrap().len(), 30);

    for (query, field) in [
        ("granularity=fortnight", "granularity"),
        ("granularity=month&from=2020-01-01&to=2026-01-01", "from"),
        ("granularity=week&from=2020-01-01&to=2026-01-01", "from"),
        ("granularity=day&from=2025-01-01&to=2026-01-02", "from"),
        ("granularity=month&from=2026-02-01&to=2026-01-01", "from"),
    ] {
        let reply = send(&api, get("/analytics/me", "ana", query)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(
            crate::api::test_support::fields(&reply.body),
            [field],
            "{query}"
        );
    }
}
