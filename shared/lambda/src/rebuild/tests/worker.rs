//! The worker's batches: a partition applied, a stale item acknowledged, a bad record failed
//! alone.

use serde_json::json;

use super::*;

#[tokio::test]
async fn the_worker_applies_a_partition_and_status_reports_it() {
    // Given a started rebuild over three partitions
    let coordinator = coordinator();
    let events = history(3, 4);
    live(&coordinator, &events).await;
    command(
        &coordinator,
        json!({"action": "start", "projection": "tasks"}),
    )
    .await;
    let item = items(&coordinator.queue)[1];

    // When the worker takes one work item
    let (response, summary) = handle_work(
        &worker(&coordinator),
        batch(vec![record("m1", &item.to_body())]),
    )
    .await
    .unwrap();

    // Then its partition is applied to version 2 and recorded as done
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((summary.partitions, summary.events_applied), (1, 4));
    let done = coordinator.store.done_partitions(v(2)).await.unwrap();
    assert_eq!(done.keys().copied().collect::<Vec<_>>(), [day(1)]);
    for event in events
        .iter()
        .filter(|e| e.occurred_at.date_naive() == day(1))
    {
        let spec = taskpulse_app::projections::ProjectionSpec {
            version: v(2),
            projection: taskpulse_domain::analytics::Projection::Tasks,
        };
        assert!(coordinator.store.is_applied(spec, event));
    }
    let status = command(&coordinator, json!({"action": "status"})).await;
    let progress = status.progress.unwrap();
    assert_eq!(
        (
            progress.version,
            progress.partitions_done,
            progress.partitions_pending
        ),
        (2, 1, 2)
    );
    assert_eq!((progress.events_read, progress.events_applied), (4, 4));
}

#[tokio::test]
async fn an_item_for_a_version_no_longer_building_is_acknowledged_without_writes() {
    // Given a work item of version 2, and the build abandoned before a worker took it
    let coordinator = coordinator();
    live(&coordinator, &history(2, 2)).await;
    command(
        &coordinator,
        json!({"action": "start", "projection": "tasks"}),
    )
    .await;
    let item = items(&coordinator.queue)[0];
    let abandoned = command(&coordinator, json!({"action": "abandon"})).await;
    assert_eq!(abandoned.refused, None);
    assert_eq!(abandoned.config.retiring, Some(2));

    // When the worker takes it
    let (response, summary) = handle_work(
        &worker(&coordinator),
        batch(vec![record("m1", &item.to_body())]),
    )
    .await
    .unwrap();

    // Then it is acknowledged, and nothing was written to version 2
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((summary.stale, summary.partitions), (1, 0));
    assert!(
        coordinator
            .store
            .scan_counters(v(2))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        coordinator
            .store
            .done_partitions(v(2))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_bad_record_fails_alone_and_its_neighbours_are_applied() {
    let coordinator = coordinator();
    live(&coordinator, &history(2, 2)).await;
    command(
        &coordinator,
        json!({"action": "start", "projection": "tasks"}),
    )
    .await;
    let items = items(&coordinator.queue);
    let (response, summary) = handle_work(
        &worker(&coordinator),
        batch(vec![
            record("m1", "{not json"),
            record("m2", &items[0].to_body()),
            record(
                "m3",
                r#"{"version":2,"day":"2026-01-02","priority":"high"}"#,
            ),
            record("m4", &items[1].to_body()),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(failed_ids(&response), ["m1", "m3"]);
    assert_eq!(
        (summary.bad, summary.partitions, summary.events_applied),
        (2, 2, 4)
    );
}
