//! Rewriting a partition's objects with one owner's events re-owned: how an erasure takes the
//! user id out of the archive. Each object that holds an event of `from` is written again,
//! under its own key, with `to` in place of `from`; the others are left as they are, so a
//! repeated rewrite finds nothing more to do.

use chrono::NaiveDate;
use futures_util::stream::{self, StreamExt};
use taskpulse_domain::{EventEnvelope, UserId};

use super::{ArchiveKey, archive_body};
use crate::ports::{ReadArchive, ReplaceArchiveObject, StoreError};

/// Archive objects a day's rewrite reads and writes at once: a busy deployment's day holds
/// thousands, and one at a time they would outlast an invocation.
pub const REWRITE_CONCURRENCY: usize = 16;

/// How often an object's rewrite is tried again when another rewrite replaced it between the
/// read and the write.
const REPLACE_ATTEMPTS: usize = 5;

/// Rewrites the objects of `day` that hold events of `from`; answers how many it rewrote. An
/// object that cannot be read as events but names `from` is an error: it cannot be rewritten
/// line by line, and it must not be left behind silently.
pub async fn rewrite_owner(
    archive: &(impl ReadArchive + ReplaceArchiveObject),
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

/// Rewrites one object if it holds events of `from`, replacing only the version it read (read
/// again and redone if another rewrite replaced it meanwhile); answers whether it did.
async fn rewrite_object(
    archive: &impl ReplaceArchiveObject,
    key: &ArchiveKey,
    from: &UserId,
    to: &UserId,
) -> Result<bool, StoreError> {
    for _ in 0..REPLACE_ATTEMPTS {
        let read = archive.read_tagged_archive_object(key).await?;
        let Some(body) = reowned(key, &read.bytes, from, to)? else {
            return Ok(false);
        };
        match archive.replace_archive_object(key, body, &read.tag).await {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(StoreError::Conflict)
}

/// The object's body with `from`'s events re-owned by `to`, or `None` if it holds none.
fn reowned(
    key: &ArchiveKey,
    bytes: &[u8],
    from: &UserId,
    to: &UserId,
) -> Result<Option<Vec<u8>>, StoreError> {
    let events: Option<Vec<EventEnvelope>> = std::str::from_utf8(bytes).ok().and_then(|text| {
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| EventEnvelope::from_archive_line(line).ok())
            .collect()
    });
    let Some(mut events) = events else {
        if String::from_utf8_lossy(bytes).contains(from.as_str()) {
            return Err(StoreError::Rejected(format!(
                "archive object {key} is unreadable and may hold the erased user's events"
            )));
        }
        return Ok(None);
    };
    let mut owned = false;
    for event in events.iter_mut().filter(|e| &e.user_id == from) {
        event.user_id = to.clone();
        owned = true;
    }
    Ok(owned.then(|| archive_body(events.iter())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{archive_events, read_partition};
    use crate::memory::MemoryArchive;
    use crate::ports::{TaggedObject, WriteArchive};
    use crate::test_events::history;

    /// The memory archive, where another erasure replaces each object between this rewrite's
    /// read and its write, once.
    struct Interfering {
        archive: MemoryArchive,
        other: (UserId, UserId),
        interfered: std::sync::Mutex<std::collections::HashSet<ArchiveKey>>,
    }

    impl ReplaceArchiveObject for Interfering {
        async fn read_tagged_archive_object(
            &self,
            key: &ArchiveKey,
        ) -> Result<TaggedObject, StoreError> {
            self.archive.read_tagged_archive_object(key).await
        }

        async fn replace_archive_object(
            &self,
            key: &ArchiveKey,
            body: Vec<u8>,
            tag: &str,
        ) -> Result<(), StoreError> {
            if self.interfered.lock().unwrap().insert(key.clone()) {
                let (from, to) = &self.other;
                rewrite_object(&self.archive, key, from, to).await?;
            }
            self.archive.replace_archive_object(key, body, tag).await
        }
    }

    #[tokio::test]
    async fn two_rewrites_of_one_object_at_once_both_stay() {
        let events = history(12, 1);
        let archive = MemoryArchive::default();
        archive_events(&archive, events.iter()).await;
        let day = events[0].occurred_at.date_naive();
        let user = |raw: &str| UserId::parse(raw).unwrap();
        let interfering = Interfering {
            archive: archive.clone(),
            other: (user("user-2"), user("erased-2")),
            interfered: Default::default(),
        };
        let keys = archive.archive_objects(day).await.unwrap();
        assert_eq!(keys.len(), 1, "every user's events in one object");
        let rewritten = rewrite_object(&interfering, &keys[0], &user("user-1"), &user("erased-1"))
            .await
            .unwrap();
        assert!(rewritten);
        let after = read_partition(&archive, day).await.unwrap();
        let owners: std::collections::BTreeSet<&str> =
            after.events.iter().map(|e| e.user_id.as_str()).collect();
        assert_eq!(
            owners,
            ["erased-1", "erased-2", "user-0"].into_iter().collect(),
            "neither rewrite undid the other"
        );
    }

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
