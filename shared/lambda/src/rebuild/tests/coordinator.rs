//! The coordinator's commands: what `start` enqueues (and a rerun), verification, activation
//! and retirement.

use serde_json::json;

use super::*;

#[tokio::test]
async fn start_enqueues_one_item_per_pending_partition_held_back_by_the_settle_time() {
    // Given 25 archive partitions
    let coordinator = coordinator();
    live(&coordinator, &history(25, 2)).await;

    // When the rebuild starts
    let answer = command(
        &coordinator,
        json!({"action": "start", "projection": "tasks-by-priority"}),
    )
    .await;

    // Then version 2 is building and each partition is one item, sent in tens, all delayed
    // by the rest of the settle time (whole seconds, never shorter)
    let started = answer.started.unwrap();
    assert_eq!(answer.refused, None);
    assert_eq!(
        (started.version, started.pending, started.enqueued),
        (2, 25, 25)
    );
    let building = answer.config.building.unwrap();
    assert_eq!(building.spec.projection, "tasks-by-priority");
    let calls = coordinator.queue.calls();
    let sizes: Vec<usize> = calls.iter().map(|(bodies, _)| bodies.len()).collect();
    assert_eq!(sizes, [10, 10, 5]);
    let settle = coordinator.settings.settle();
    for (_, delay) in &calls {
        assert!(
            *delay <= settle && *delay >= settle - Duration::from_secs(1),
            "{delay:?}"
        );
        assert_eq!(delay.subsec_nanos(), 0);
    }
    assert_eq!(started.delay_seconds, calls[0].1.as_secs());
    let items = items(&coordinator.queue);
    assert!(items.iter().all(|item| item.version == v(2)));
    let days: Vec<NaiveDate> = items.iter().map(|item| item.day).collect();
    assert_eq!(days, (0..25).map(day).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_rerun_of_start_enqueues_only_the_partitions_not_done_and_within_range() {
    // Given a started rebuild of which the worker did the first two partitions
    let coordinator = coordinator();
    live(&coordinator, &history(6, 3)).await;
    let first = json!({"action": "start", "projection": "tasks", "to": day(1).to_string()});
    assert_eq!(
        command(&coordinator, first).await.started.unwrap().enqueued,
        2
    );
    assert_eq!(drain(&coordinator).await.partitions, 2);

    // When start runs again, for every date
    let again = command(
        &coordinator,
        json!({"action": "start", "projection": "tasks"}),
    )
    .await;

    // Then the same version resumes with the four partitions left
    let started = again.started.unwrap();
    assert_eq!((started.version, started.enqueued), (2, 4));
    let days: Vec<NaiveDate> = items(&coordinator.queue).iter().map(|i| i.day).collect();
    assert_eq!(days, (2..6).map(day).collect::<Vec<_>>());

    // And a start of another projection meanwhile is refused, nothing enqueued
    coordinator.queue.clear();
    let other = command(
        &coordinator,
        json!({"action": "start", "projection": "tasks-by-priority"}),
    )
    .await;
    assert!(other.refused.unwrap().contains("already building"));
    assert!(coordinator.queue.calls().is_empty());
}

#[tokio::test]
async fn a_queue_that_refuses_halfway_fails_the_start_and_a_rerun_sends_the_rest() {
    let mut coordinator = coordinator();
    coordinator.queue.accepts = Some(1);
    live(&coordinator, &history(15, 1)).await;
    let error = handle_command(
        &coordinator,
        json!({"action": "start", "projection": "tasks"}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            error,
            CoordinatorError::Enqueue {
                pending: 15,
                enqueued: 10,
                ..
            }
        ),
        "{error}"
    );
    coordinator.queue.accepts = None;
    let rerun = command(
        &coordinator,
        json!({"action": "start", "projection": "tasks"}),
    )
    .await;
    // Nothing is done yet, so all 15 go again: the 10 already queued are applied once all
    // the same.
    assert_eq!(rerun.started.unwrap().enqueued, 15);
    assert_eq!(drain(&coordinator).await.events_applied, 15);
}

#[tokio::test]
async fn activation_is_refused_while_differences_are_unexplained_unless_forced() {
    // Given events counted live whose archive lost one partition
    let coordinator = coordinator();
    let events = history(3, 3);
    live(&coordinator, &events).await;
    let lost = MemoryArchive::default();
    taskpulse_app::archive::archive_events(
        &lost,
        events
            .iter()
            .filter(|e| e.occurred_at.date_naive() != day(2)),
    )
    .await;
    let coordinator = Coordinator {
        archive: lost,
        ..coordinator
    };
    command(
        &coordinator,
        json!({"action": "start", "projection": "tasks"}),
    )
    .await;
    drain(&coordinator).await;

    // When the building version is verified, and activated without force
    let verified = command(&coordinator, json!({"action": "verify"})).await;
    let activate = command(&coordinator, json!({"action": "activate", "force": false})).await;

    // Then the differences are reported with samples, and the activation refused
    let verification = verified.verification.unwrap();
    assert!(verification.differences > 0);
    assert!(!verification.sample.is_empty());
    assert!(verification.sample.iter().all(|d| d.day == day(2)));
    assert_eq!(
        verified
            .config
            .building
            .unwrap()
            .verification
            .unwrap()
            .differences,
        verification.differences as u64
    );
    assert!(activate.refused.unwrap().contains("differs"));
    assert_eq!(activate.config.active.version, 1);

    // And forced, it goes through; retire then deletes version 1
    let forced = command(&coordinator, json!({"action": "activate", "force": true})).await;
    assert_eq!(forced.refused, None);
    assert_eq!(
        (forced.config.active.version, forced.config.retiring),
        (2, Some(1))
    );
    let retired = command(&coordinator, json!({"action": "retire"})).await;
    let retired_report = retired.retired.unwrap();
    assert_eq!(retired_report.version, Some(1));
    assert!(retired_report.deleted > 0);
    assert_eq!(retired.config.retiring, None);
    assert!(
        coordinator
            .store
            .scan_counters(v(1))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_whole_rebuild_through_the_commands_activates_without_force() {
    let coordinator = coordinator();
    live(&coordinator, &history(4, 5)).await;
    command(
        &coordinator,
        json!({"action": "start", "projection": "tasks-by-priority"}),
    )
    .await;
    assert_eq!(drain(&coordinator).await.events_applied, 20);
    let verified = command(&coordinator, json!({"action": "verify"})).await;
    assert_eq!(verified.verification.unwrap().differences, 0);
    let activated = command(&coordinator, json!({"action": "activate"})).await;
    assert_eq!(activated.refused, None);
    assert_eq!(activated.config.active.projection, "tasks-by-priority");
    let status = command(&coordinator, json!({"action": "status"})).await;
    assert_eq!(status.progress, None, "nothing is building any more");
    let answer = serde_json::to_value(&status).unwrap();
    assert_eq!(answer["action"], "status");
    assert_eq!(answer["config"]["active"]["version"], 2);
}

#[tokio::test]
async fn a_bad_command_fails_the_invocation_and_a_step_out_of_turn_is_refused() {
    let coordinator = coordinator();
    let bad = handle_command(&coordinator, json!({"action": "activate", "froce": true})).await;
    assert!(matches!(bad, Err(CoordinatorError::BadCommand(_))));
    for action in ["verify", "activate", "abandon"] {
        let answer = command(&coordinator, json!({ "action": action })).await;
        assert!(
            answer.refused.unwrap().contains("no version is building"),
            "{action}"
        );
    }
    let retire = command(&coordinator, json!({"action": "retire"})).await;
    assert_eq!(retire.retired.unwrap().version, None);
}
