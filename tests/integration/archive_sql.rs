//! The README's archive queries, run by DuckDB over an archive written the way the consumer
//! writes it (retried batches included), answer what a recount of the history says.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::{Datelike, Days, NaiveDate};
use serde_json::Value;
use taskpulse_app::archive::archive_events;
use taskpulse_app::memory::MemoryArchive;
use taskpulse_domain::{EventEnvelope, TaskEvent};
use taskpulse_testkit::{HistoryShape, readme_archive_queries, run_archive_query};

/// An archive directory of the history, every fifth batch written twice (a retried batch).
async fn archive_directory(events: &[EventEnvelope], name: &str) -> PathBuf {
    let archive = MemoryArchive::default();
    for (n, batch) in events.chunks(25).enumerate() {
        archive_events(&archive, batch).await;
        if n % 5 == 0 {
            archive_events(&archive, batch).await;
        }
    }
    let root = std::env::temp_dir().join(format!(
        "taskpulse-archive-sql-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&root);
    for (key, body) in archive.objects() {
        let path = root.join(key.as_str());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    root
}

fn monday_of(day: NaiveDate) -> NaiveDate {
    day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
        .unwrap()
}

/// (week, priority) -> (completed, on time), the priority being the task's at completion.
fn on_time_by_priority_per_week(
    events: &[EventEnvelope],
) -> BTreeMap<(String, String), (i64, i64)> {
    let mut priorities: HashMap<_, Vec<(u64, String)>> = HashMap::new();
    for event in events {
        let priority = match &event.event {
            TaskEvent::Created(created) => created.priority.as_str(),
            TaskEvent::PriorityChanged(change) => change.to.as_str(),
            _ => continue,
        };
        priorities
            .entry(event.task_id)
            .or_default()
            .push((event.sequence, priority.to_owned()));
    }
    let mut rows: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for event in events {
        let TaskEvent::Completed(done) = &event.event else {
            continue;
        };
        let priority = priorities[&event.task_id]
            .iter()
            .filter(|(sequence, _)| *sequence < event.sequence)
            .max_by_key(|(sequence, _)| *sequence)
            .map(|(_, p)| p.clone())
            .unwrap();
        let week = monday_of(event.occurred_at.date_naive()).to_string();
        let row = rows.entry((week, priority)).or_default();
        row.0 += 1;
        row.1 += i64::from(done.on_time);
    }
    rows
}

#[tokio::test]
async fn the_readme_queries_answer_the_recount_of_an_archive_with_retried_batches() {
    let events = HistoryShape::workload(30, 400, 21).generate().events;
    let root = archive_directory(&events, "readme").await;
    assert!(
        readme_archive_queries().len() >= 3,
        "the README shows the view and two questions"
    );

    let expected = on_time_by_priority_per_week(&events);
    assert!(
        expected.len() >= 8,
        "several weeks and priorities: {expected:?}"
    );
    let rows = run_archive_query(&root, "on-time-by-priority-per-week").unwrap();
    let found: BTreeMap<(String, String), (i64, f64)> = rows
        .iter()
        .map(|r| {
            (
                (
                    r["week"].as_str().unwrap().to_owned(),
                    r["priority"].as_str().unwrap().to_owned(),
                ),
                (
                    r["completed"].as_i64().unwrap(),
                    r["on_time_rate"].as_f64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (key, (completed, on_time)) in &expected {
        let (found_completed, rate) = found[key];
        assert_eq!(
            found_completed, *completed,
            "{key:?}: retried lines are counted once"
        );
        let exact = *on_time as f64 / *completed as f64;
        assert!((rate - exact).abs() < 1e-4, "{key:?}: {rate} vs {exact}");
    }

    let mut lead_times: Vec<(u64, String, String)> = events
        .iter()
        .filter_map(|e| match &e.event {
            TaskEvent::Completed(done) => Some((
                done.lead_time_seconds,
                e.task_id.to_string(),
                e.user_id.to_string(),
            )),
            _ => None,
        })
        .collect();
    lead_times.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let slowest = run_archive_query(&root, "slowest-lead-times").unwrap();
    let found: Vec<(u64, String, String)> = slowest
        .iter()
        .map(|r: &Value| {
            (
                r["lead_time_seconds"].as_u64().unwrap(),
                r["taskId"].as_str().unwrap().to_owned(),
                r["userId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(found, lead_times[..10].to_vec());
    let _ = std::fs::remove_dir_all(&root);
}
