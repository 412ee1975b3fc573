//! Notices that counters changed, pushed to the dashboard page as Server-Sent Events.
//!
//! The consumer's counter table is wrapped in [`NoticingCounters`], which notes whose counters
//! every committed transaction moved; after each batch the event source mapping publishes one
//! [`ChangeNotice`] with those users, the number of events counted and when the newest of them
//! happened. Nothing polls: a notice exists only because a batch was counted. A page that
//! connects first gets the last notice, so it can show how fresh the numbers are at once.

mod noticing;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;

pub use noticing::NoticingCounters;

/// Notices a slow page may fall behind by before it is told to refresh everything.
const BACKLOG: usize = 64;

/// What changed in one counted batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeNotice {
    /// Increases by one per notice.
    pub sequence: u64,
    /// When the batch was counted.
    pub counted_at: DateTime<Utc>,
    /// When the newest event counted so far happened (its `occurredAt`).
    pub newest_event_at: Option<DateTime<Utc>>,
    /// Events the batch counted.
    pub events: usize,
    /// The users whose counters moved since the previous notice; global counters move with
    /// every counted event.
    pub users: Vec<String>,
}

#[derive(Debug, Default)]
struct Pending {
    users: BTreeSet<String>,
    sequence: u64,
    newest_event_at: Option<DateTime<Utc>>,
    last: Option<Arc<ChangeNotice>>,
}

/// The hub between the consumer and the pages listening.
#[derive(Debug)]
pub struct CounterChanges {
    pending: Mutex<Pending>,
    sender: broadcast::Sender<Arc<ChangeNotice>>,
}

impl Default for CounterChanges {
    fn default() -> Self {
        Self {
            pending: Mutex::default(),
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl CounterChanges {
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A committed transaction moved these users' counters.
    pub(crate) fn note_users<'a>(&self, users: impl IntoIterator<Item = &'a str>) {
        self.pending()
            .users
            .extend(users.into_iter().map(str::to_owned));
    }

    /// A batch counted `events` events, the newest of which happened at `newest_event_at`.
    pub fn publish(&self, events: usize, newest_event_at: Option<DateTime<Utc>>) {
        let notice = {
            let mut pending = self.pending();
            pending.sequence += 1;
            pending.newest_event_at = pending.newest_event_at.max(newest_event_at);
            let notice = Arc::new(ChangeNotice {
                sequence: pending.sequence,
                counted_at: Utc::now(),
                newest_event_at: pending.newest_event_at,
                events,
                users: std::mem::take(&mut pending.users).into_iter().collect(),
            });
            pending.last = Some(Arc::clone(&notice));
            notice
        };
        // No page listening is not an error.
        let _ = self.sender.send(notice);
    }

    /// The notices from now on, and the last one before (if any).
    pub fn subscribe(
        &self,
    ) -> (
        Option<Arc<ChangeNotice>>,
        broadcast::Receiver<Arc<ChangeNotice>>,
    ) {
        let pending = self.pending();
        // Subscribing under the lock: no notice falls between the last one and the stream.
        (pending.last.clone(), self.sender.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_notice_names_the_users_moved_since_the_previous_one() {
        let changes = CounterChanges::default();
        assert_eq!(changes.subscribe().0, None);
        let (_, mut listening) = changes.subscribe();
        changes.note_users(["ana", "ben"]);
        changes.note_users(["ana"]);
        let at = "2026-12-01T10:00:00Z".parse().unwrap();
        changes.publish(3, Some(at));
        let first = listening.recv().await.unwrap();
        assert_eq!(first.sequence, 1);
        assert_eq!(first.users, ["ana", "ben"]);
        assert_eq!(first.events, 3);
        assert_eq!(first.newest_event_at, Some(at));

        // An older event does not make the numbers look older than they are.
        changes.publish(1, Some("2026-11-30T10:00:00Z".parse().unwrap()));
        let second = listening.recv().await.unwrap();
        assert_eq!((second.sequence, second.users.len()), (2, 0));
        assert_eq!(second.newest_event_at, Some(at));
        let (last, _) = changes.subscribe();
        assert_eq!(last.as_deref(), Some(&*second));
    }
}
