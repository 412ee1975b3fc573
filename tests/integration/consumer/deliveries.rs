//! Every event delivered three times, shuffled, in batches of uneven sizes.

use std::collections::BTreeMap;

use taskpulse_testkit::{HistoryShape, pipeline_on_moto, shuffle, sqs_event, sqs_record};

use super::{assert_matches, global_report, recount, user_report};

#[tokio::test]
async fn three_shuffled_deliveries_of_every_event_give_exact_counters() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let shape = HistoryShape::every_counter();
    let history = shape.generate();
    let events = &history.events;
    assert!(events.len() >= 300, "{} events", events.len());

    let mut deliveries: Vec<String> = events
        .iter()
        .flat_map(|e| [e.to_json(), e.to_json(), e.to_json()])
        .collect();
    shuffle(&mut deliveries, 0x5EED);
    let mut total = (0, 0);
    let mut n = 0;
    let sizes = [100, 7, 10, 63, 1, 100, 25];
    let mut rest = &deliveries[..];
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, tail) = rest.split_at((*size).min(rest.len()));
        rest = tail;
        let records = batch
            .iter()
            .map(|body| {
                n += 1;
                sqs_record(format!("m-{n}"), body.clone())
            })
            .collect();
        let (response, summary) = pipeline.consume(sqs_event(records)).await;
        assert!(response.batch_item_failures.is_empty());
        total.0 += summary.applied;
        total.1 += summary.duplicates;
    }
    assert_eq!(
        total,
        (events.len(), 2 * events.len()),
        "(applied, duplicates)"
    );

    let global = global_report(&pipeline).await;
    assert_matches(&global, &recount(&history, None), "everyone");
    for user in 0..shape.users {
        let user = shape.user(user);
        let mine = user_report(&pipeline, &user).await;
        assert_matches(&mine, &recount(&history, Some(&user)), &user);
    }
    // Per day: tasks created on each UTC day, counted from the events themselves.
    let mut created_per_day: BTreeMap<String, i64> = BTreeMap::new();
    for e in events.iter().filter(|e| e.event_type() == "TaskCreated") {
        *created_per_day
            .entry(e.occurred_at.date_naive().to_string())
            .or_default() += 1;
    }
    for day in global["days"].as_array().unwrap() {
        let date = day["date"].as_str().unwrap();
        assert_eq!(
            day["created"],
            created_per_day.get(date).copied().unwrap_or(0),
            "{date}"
        );
    }
}
