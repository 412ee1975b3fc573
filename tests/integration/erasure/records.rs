//! The erasure record's conditional writes and batch reads, a task deletion's condition, and
//! idempotency records in the key layout written before each user's records shared a
//! partition: still replayed by a retry, and found and deleted by an erasure.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{TimeDelta, Utc};
use http::StatusCode;
use taskpulse_app::erasure::request_erasure;
use taskpulse_app::{DeleteTask, LoadErasures, LoadTask, SaveErasure, StoreError};
use taskpulse_aws::keys;
use taskpulse_devstack::TASKS_TABLE;
use taskpulse_domain::TaskId;
use taskpulse_domain::erasure::{ErasureProgress, ErasureStep};
use taskpulse_testkit::{delete_item, pipeline_on_moto, read_item, write_item};

use super::{ERASED, Item, KEPT, erase, mentioning, mentions, new_task, scan_table, user};

#[tokio::test]
async fn an_erasure_is_recorded_once_and_a_stale_save_is_a_conflict() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let store = pipeline.tasks();
    let first = request_erasure(store, &user(ERASED), Utc::now())
        .await
        .unwrap();
    let again = request_erasure(store, &user(ERASED), Utc::now() + TimeDelta::seconds(5))
        .await
        .unwrap();
    assert_eq!(again, first, "the second request answers the first record");
    let stored = read_item(&stack, TASKS_TABLE, keys::erasure_key(&user(ERASED))).await;
    assert!(
        !stored.is_empty() && !mentions(&stored, ERASED),
        "{stored:?}"
    );

    let loaded = store.load_erasures(&[user(ERASED)]).await.unwrap();
    assert_eq!(loaded[&user(ERASED)], first);
    let next = first
        .clone()
        .step_done(ErasureProgress::default(), Utc::now());
    store
        .save_erasure(&user(ERASED), &first, &next)
        .await
        .unwrap();
    // A run that read the record before that save may not record over it.
    let rival = first.clone().step_done(
        ErasureProgress {
            tasks_deleted: 9,
            ..ErasureProgress::default()
        },
        Utc::now(),
    );
    assert_eq!(
        store.save_erasure(&user(ERASED), &first, &rival).await,
        Err(StoreError::Conflict)
    );
    let loaded = store.load_erasures(&[user(ERASED)]).await.unwrap();
    assert_eq!(loaded[&user(ERASED)], next);
    assert_eq!(next.step, ErasureStep::Tasks);
    // No record to save over is a conflict too.
    assert_eq!(
        store.save_erasure(&user(KEPT), &first, &next).await,
        Err(StoreError::Conflict)
    );
}

#[tokio::test]
async fn erasures_are_read_in_batches_of_a_hundred_each_user_once() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let store = pipeline.tasks();
    let users: Vec<_> = (0..230).map(|n| user(&format!("batch-{n}"))).collect();
    let erased = [&users[0], &users[101], &users[229]];
    for who in erased {
        request_erasure(store, who, Utc::now()).await.unwrap();
    }
    // Every user twice: AWS refuses a batch read naming a key twice (moto does not check).
    let asked: Vec<_> = users.iter().chain(&users).cloned().collect();
    let found = store.load_erasures(&asked).await.unwrap();
    let mut found_users: Vec<_> = found.keys().cloned().collect();
    found_users.sort();
    let mut expected: Vec<_> = erased.into_iter().cloned().collect();
    expected.sort();
    assert_eq!(found_users, expected);
    assert!(store.load_erasures(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_task_is_deleted_only_at_the_version_read_and_a_deleted_one_is_no_error() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let client = pipeline.client();
    let reply = client.create_task(ERASED, &new_task("to delete")).await;
    let id: TaskId = reply.body["id"].as_str().unwrap().parse().unwrap();
    let reply = client
        .change_priority(ERASED, &id.to_string(), "high")
        .await;
    assert_eq!(reply.body["version"], 2);
    let store = pipeline.tasks();
    assert_eq!(store.delete_task(id, 1).await, Err(StoreError::Conflict));
    assert!(store.load_task(id).await.unwrap().is_some());
    store.delete_task(id, 2).await.unwrap();
    assert!(store.load_task(id).await.unwrap().is_none());
    store.delete_task(id, 2).await.unwrap();
    let listed = client.list_tasks(ERASED, "").await;
    assert_eq!(listed.body["items"], serde_json::json!([]));
}

#[tokio::test]
async fn a_record_in_the_earlier_layout_is_replayed_and_the_erasure_deletes_it() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let client = pipeline.client();
    let created = client.create_task(ERASED, &new_task("keyed")).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let change = || {
        client
            .change_priority(ERASED, &id, "high")
            .idempotency_key("old-1")
    };
    let first = change().await;
    assert_eq!(first.status, StatusCode::OK);

    // The record as the release before wrote it: the same attributes under its own
    // partition, and no record under the current key.
    let current = keys::idempotency_key(&user(ERASED), "old-1");
    let mut record = read_item(&stack, TASKS_TABLE, current.clone()).await;
    assert!(!record.is_empty(), "written under the current key");
    delete_item(&stack, TASKS_TABLE, current.clone()).await;
    let (pk, sk) = keys::legacy_idempotency_key(&user(ERASED), "old-1");
    assert_eq!(pk, format!("IDEMPOTENCY#{ERASED}#old-1"));
    record.insert(keys::PK.into(), AttributeValue::S(pk.clone()));
    record.insert(keys::SK.into(), AttributeValue::S(sk.clone()));
    write_item(&stack, TASKS_TABLE, record).await;
    // Another user's record in the earlier layout, whose id starts with the user's: kept.
    let other = user(&format!("{ERASED}x"));
    let other_key = keys::legacy_idempotency_key(&other, "old-1");
    let others: Item = keys::key_attributes(other_key.clone());
    write_item(&stack, TASKS_TABLE, others).await;

    let again = change().await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first.body);
    assert!(
        read_item(&stack, TASKS_TABLE, current).await.is_empty(),
        "a replay writes nothing"
    );
    let reused = client
        .change_priority(ERASED, &id, "low")
        .idempotency_key("old-1")
        .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);

    let erasure = erase(&pipeline, &user(ERASED)).await;
    assert_eq!(erasure.progress.idempotency_records_deleted, 1);
    assert!(read_item(&stack, TASKS_TABLE, (pk, sk)).await.is_empty());
    // Of everything that spells the user's id, only the other user's record is left (its
    // id starts with it).
    let left = scan_table(&stack, TASKS_TABLE).await;
    let spelled: Vec<_> = mentioning(&left, ERASED).into_keys().cloned().collect();
    assert_eq!(spelled, [other_key]);
}

#[tokio::test]
async fn archive_day_markers_add_up_and_an_archive_object_is_replaced_only_as_read() {
    use taskpulse_app::ArchiveDayMarkers;
    use taskpulse_app::archive::ArchiveKey;
    use taskpulse_app::ports::ReplaceArchiveObject;
    use taskpulse_app::{ReadArchive, WriteArchive};

    let (stack, pipeline) = pipeline_on_moto().await;
    let store = pipeline.tasks();
    let (day, next) = ("2026-11-28".parse().unwrap(), "2026-11-29".parse().unwrap());
    let (this, earlier) = (user("erased-this"), user("erased-earlier"));
    let erased = user(ERASED);
    store
        .mark_archive_day(&erased, &this, day, 3)
        .await
        .unwrap();
    store
        .mark_archive_day(&erased, &this, day, 0)
        .await
        .unwrap();
    store
        .mark_archive_day(&erased, &this, next, 2)
        .await
        .unwrap();
    // An earlier erasure of the same id, and another user's: neither counts.
    store
        .mark_archive_day(&erased, &earlier, day, 7)
        .await
        .unwrap();
    store
        .mark_archive_day(&user(KEPT), &this, day, 9)
        .await
        .unwrap();
    let marked = store.marked_archive_days(&erased, &this).await.unwrap();
    assert_eq!(
        marked.into_iter().collect::<Vec<_>>(),
        [(day, 3), (next, 2)]
    );
    let earlier_marks = store.marked_archive_days(&erased, &earlier).await.unwrap();
    assert_eq!(earlier_marks.into_iter().collect::<Vec<_>>(), [(day, 7)]);
    assert!(mentioning(&scan_table(&stack, TASKS_TABLE).await, ERASED).is_empty());

    let archive = &pipeline.archive;
    let key = ArchiveKey::fresh(day);
    archive
        .put_archive_object(&key, b"first".to_vec())
        .await
        .unwrap();
    let read = archive.read_tagged_archive_object(&key).await.unwrap();
    assert_eq!(read.bytes, b"first");
    archive
        .replace_archive_object(&key, b"second".to_vec(), &read.tag)
        .await
        .unwrap();
    assert_eq!(
        archive
            .replace_archive_object(&key, b"stale".to_vec(), &read.tag)
            .await,
        Err(StoreError::Conflict),
        "the object changed since it was read"
    );
    assert_eq!(archive.read_archive_object(&key).await.unwrap(), b"second");
}
