//! Rewriting a partition's objects with one owner's events re-owned: how an erasure takes the
//! user id out of the archive. Each object that holds an event of `from` is written again,
//! under its own key, with `to` in place of `from`; the others are left as they are, so a
//! repeated rewrite finds nothing more to do.

use chrono::NaiveDate;
use futures_util::stream::{self, StreamExt};
use taskpulse_domain::{EventEnvelope, UserId};

use super::{ArchiveKey, archive_body};
use crate::ports::{ReadArchive, StoreError, WriteArchive};

/// Archive objects a day's rewrite reads and writes at once: a busy deployment's day holds
/// thousands, and one at a time they would outlast an invocation.
pub const REWRITE_CONCURRENCY: usize = 16;

/// Rewrites the objects of `day` that hold events of `from`; answers how many it rewrote. An
/// object that cannot be read as events but names `from` is an error: it cannot be rewritten
/// line by line, and it must not be left behind silently.
pub async fn rewrite_owner(
    archive: &(impl ReadArchive + WriteArchive),
    day: NaiveDate,
    from: &UserId,
    to: &UserId,
) -> Result<usize, StoreError> {
    let keys = archive.archive_objects(day).await?;
    // Owned keys: a stream of borrowed ones makes the future too general for `tokio::spawn`.
    let outcomes: Vec<Result<bool, StoreError>> = stream::iter(keys)
        .map(|key| async move { rewrite_object(archive, &key, from, to).await })
        .buffer_unordered(REWRITE_CONCURRENCY)
        .collect()
        .await;
    let mut rewritten = 0;
    for outcome in outcomes {
        rewritten += usize::from(outcome?);
    }
    Ok(rewritten)
}

/// Rewrites one object if it holds events of `from`; answers whether it did.
async fn rewrite_object(
    archive: &(impl ReadArchive + WriteArchive),
    key: &ArchiveKey,
    from: &UserId,
    to: &UserId,
) -> Result<bool, StoreError> {
    let bytes = archive.read_archive_object(key).await?;
    let events: Option<Vec<EventEnvelope>> = std::str::from_utf8(&bytes).ok().and_then(|text| {
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| EventEnvelope::from_archive_line(line).ok())
            .collect()
    });
    let Some(mut events) = events else {
        let named = String::from_utf8_lossy(&bytes).contains(from.as_str());
        if named {
            return Err(StoreError::Rejected(format!(
                "archive object {key} is unreadable and may hold the erased user's events"
            )));
        }
        return Ok(false);
    };
    let mut owned = false;
    for event in events.iter_mut().filter(|e| &e.user_id == from) {
        event.user_id = to.clone();
        owned = true;
    }
    if owned {
        archive
            .put_archive_object(key, archive_body(events.iter()))
            .await?;
    }
    Ok(owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{archive_events, read_partition};
    use crate::memory::MemoryArchive;
    use crate::test_events::history;

    #[tokio::test]
    async fn only_the_objects_holding_the_owner_are_rewritten_and_a_rerun_finds_nothing() {
        let events = history(12, 1);
        let archive = MemoryArchive::default();
        // One object per user: each batch holds one user's events.
        for owner in ["user-0", "user-1", "user-2"] {
            let own: Vec<&EventEnvelope> = events
                .iter()
                .filter(|e| e.user_id.as_str() == owner)
                .collect();
            archive_events(&archive, own).await;
        }
        let day = events[0].occurred_at.date_naive();
        let (from, to) = (
            UserId::parse("user-1").unwrap(),
            UserId::parse("erased-x").unwrap(),
        );
        let before = read_partition(&archive, day).await.unwrap();

        assert_eq!(rewrite_owner(&archive, day, &from, &to).await, Ok(1));
        assert_eq!(
            rewrite_owner(&archive, day, &from, &to).await,
            Ok(0),
            "nothing left"
        );

        let after = read_partition(&archive, day).await.unwrap();
        assert_eq!(after.events.len(), before.events.len());
        assert!(after.events.iter().all(|e| e.user_id != from));
        for (old, new) in before.events.iter().zip(&after.events) {
            let mut expected = old.clone();
            if expected.user_id == from {
                expected.user_id = to.clone();
            }
            assert_eq!(new, &expected, "only the owner changed");
        }
    }

    #[tokio::test]
    async fn an_unreadable_object_naming_the_owner_stops_the_rewrite() {
        let archive = MemoryArchive::default();
        let day: NaiveDate = "2026-11-28".parse().unwrap();
        let key = crate::archive::ArchiveKey::fresh(day);
        archive
            .put_archive_object(&key, b"{\"userId\":\"user-1\", cut".to_vec())
            .await
            .unwrap();
        let (from, to) = (
            UserId::parse("user-1").unwrap(),
            UserId::parse("erased-x").unwrap(),
        );
        assert!(matches!(
            rewrite_owner(&archive, day, &from, &to).await,
            Err(StoreError::Rejected(_))
        ));
        let other = UserId::parse("user-9").unwrap();
        assert_eq!(rewrite_owner(&archive, day, &other, &to).await, Ok(0));
    }
}
