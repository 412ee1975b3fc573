use taskpulse_domain::TaskEvent;

use super::*;
use crate::memory::MemoryArchive;
use crate::test_events::history;

/// An archive whose writes all fail.
struct Unwritable;

impl WriteArchive for Unwritable {
    async fn put_archive_object(&self, _: &ArchiveKey, _: Vec<u8>) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("the bucket is unreachable".into()))
    }
}

#[tokio::test]
async fn a_batch_is_one_object_per_day_and_reads_back_deduplicated_without_free_text() {
    let events = history(12, 3);
    let days: HashSet<NaiveDate> = events.iter().map(|e| e.occurred_at.date_naive()).collect();
    let archive = MemoryArchive::default();
    let outcome = archive_events(&archive, &events).await;
    assert_eq!(outcome.objects, days.len());
    assert_eq!(outcome.archived.len(), events.len());
    assert!(outcome.failed.is_empty());
    // A redelivered batch writes its lines again, under new keys.
    archive_events(&archive, &events[..5]).await;
    let listed = archive.archive_days().await.unwrap();
    assert_eq!(listed.len(), days.len());

    let mut read_back = vec![];
    let mut repeated = 0;
    for day in listed {
        let read = read_partition(&archive, day).await.unwrap();
        assert!(read.corrupt.is_empty());
        assert!(
            read.events
                .iter()
                .all(|e| e.occurred_at.date_naive() == day)
        );
        repeated += read.repeated_lines;
        read_back.extend(read.events);
    }
    assert_eq!(repeated, 5);
    let mut expected: Vec<EventEnvelope> = events.iter().map(|e| e.without_free_text()).collect();
    expected.sort_by_key(|e| e.event_id);
    read_back.sort_by_key(|e| e.event_id);
    assert_eq!(read_back, expected);
    for (_, body) in archive.objects() {
        let text = String::from_utf8(body).unwrap();
        assert!(!text.contains("\"title\""), "{text}");
    }
    assert!(
        expected
            .iter()
            .any(|e| matches!(e.event, TaskEvent::Created(_)))
    );
}

#[tokio::test]
async fn a_failed_write_fails_its_events_and_nothing_is_reported_archived() {
    let events = history(4, 2);
    let outcome = archive_events(&Unwritable, &events).await;
    assert_eq!(outcome.failed.len(), events.len());
    assert!(outcome.archived.is_empty());
    assert!(outcome.failed[0].1.contains("unreachable"));
}

#[tokio::test]
async fn a_corrupt_object_is_reported_with_its_key_and_skipped_whole() {
    let events = history(6, 1);
    let archive = MemoryArchive::default();
    archive_events(&archive, &events).await;
    let day = events[0].occurred_at.date_naive();
    let good_line = events[0].to_archive_line();
    let newer = good_line.replace("\"schemaVersion\":1", "\"schemaVersion\":9");
    let cases: [(Vec<u8>, usize); 4] = [
        (b"\xff\xfe not text".to_vec(), 0),
        (b"{oops\n".to_vec(), 1),
        (
            format!("{good_line}\n{{\"eventType\":\"TaskArchived\"}}\n").into_bytes(),
            2,
        ),
        (format!("{newer}\n").into_bytes(), 1),
    ];
    let mut bad_keys = vec![];
    for (body, _) in &cases {
        let key = ArchiveKey::fresh(day);
        archive
            .put_archive_object(&key, body.clone())
            .await
            .unwrap();
        bad_keys.push(key);
    }
    let read = read_partition(&archive, day).await.unwrap();
    assert_eq!(
        read.events.len(),
        events.len(),
        "the good objects are read in full"
    );
    let reported: Vec<(&ArchiveKey, usize)> =
        read.corrupt.iter().map(|c| (&c.key, c.line)).collect();
    let expected: Vec<(&ArchiveKey, usize)> = bad_keys
        .iter()
        .zip(cases.iter().map(|(_, line)| *line))
        .collect();
    assert_eq!(reported, expected);
    assert!(
        read.corrupt[3].reason.contains("schemaVersion 9"),
        "{:?}",
        read.corrupt[3]
    );
    assert_eq!(
        read.repeated_lines, 0,
        "a skipped object's good line is not counted"
    );
}
