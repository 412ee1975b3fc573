//! The stored form of a task with its outbox. Its field names are the attribute names of
//! `keys`; the tests below hold them together.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use taskpulse_app::{PendingEvent, StoredTask};
use taskpulse_domain::event::EnvelopeError;
use taskpulse_domain::event::local_day_offset;
use taskpulse_domain::{DetachedEvent, EventId, Task};

use crate::keys;

/// An outbox entry as stored: detached from its task (`DetachedEvent`) when the envelope
/// comes back from it byte for byte, whole otherwise. Items written before events were stored
/// detached hold them whole; both forms are read.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum PendingItem {
    Detached(DetachedItem),
    Whole(WholeItem),
}

/// Field names: `keys::PENDING_*`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct DetachedItem {
    id: EventId,
    #[serde(rename = "type")]
    event_type: String,
    /// The commit time, which is the envelope's `occurredAt`.
    at: DateTime<Utc>,
    seq: u64,
    /// The owner's local day, as days after the UTC date of `at`: -1 or 1, absent for 0 (the
    /// usual case), so that it costs nothing on most writes of the task while the event
    /// waits. Only stamped events are stored detached; an entry written before events were
    /// stamped reads as stamped with its UTC date, which is the day every projection counts
    /// such an event on.
    #[serde(default, skip_serializing_if = "is_zero")]
    ld: i8,
    #[serde(
        default = "first_schema_version",
        skip_serializing_if = "is_first_schema_version"
    )]
    v: u32,
    data: String,
}

/// Absent means 1 (not "the current version"), so the rule holds after the contract moves on.
fn first_schema_version() -> u32 {
    1
}

fn is_first_schema_version(version: &u32) -> bool {
    *version == first_schema_version()
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WholeItem {
    event_id: EventId,
    event_type: String,
    body: String,
    committed_at: DateTime<Utc>,
}

fn is_zero(days: &i8) -> bool {
    *days == 0
}

fn local_day_of(days: i8, at: DateTime<Utc>) -> NaiveDate {
    at.date_naive() + chrono::Duration::days(i64::from(days))
}

impl PendingItem {
    fn new(pending: &PendingEvent, task: &Task) -> Self {
        let detached = DetachedEvent::detach(&pending.body, task);
        let offset = detached
            .as_ref()
            .and_then(|detached| local_day_offset(detached.local_day?, detached.occurred_at));
        match (detached, offset) {
            (Some(detached), Some(offset))
                if detached.event_id == pending.event_id
                    && detached.event_type == pending.event_type
                    && detached.occurred_at == pending.committed_at =>
            {
                Self::Detached(DetachedItem {
                    id: detached.event_id,
                    event_type: detached.event_type,
                    at: detached.occurred_at,
                    ld: offset,
                    seq: detached.sequence,
                    v: detached.schema_version,
                    data: detached.data,
                })
            }
            // Not stamped (only events from before local days, and tests), or not detachable.
            _ => Self::Whole(WholeItem {
                event_id: pending.event_id,
                event_type: pending.event_type.clone(),
                body: pending.body.clone(),
                committed_at: pending.committed_at,
            }),
        }
    }

    fn into_pending(self, task: &Task) -> Result<PendingEvent, EnvelopeError> {
        Ok(match self {
            Self::Detached(item) => {
                let detached = DetachedEvent {
                    event_id: item.id,
                    event_type: item.event_type,
                    schema_version: item.v,
                    occurred_at: item.at,
                    local_day: Some(local_day_of(item.ld, item.at)),
                    sequence: item.seq,
                    data: item.data,
                };
                PendingEvent {
                    body: detached.attach(task)?,
                    event_id: detached.event_id,
                    event_type: detached.event_type,
                    committed_at: detached.occurred_at,
                }
            }
            Self::Whole(item) => PendingEvent {
                event_id: item.event_id,
                event_type: item.event_type,
                body: item.body,
                committed_at: item.committed_at,
            },
        })
    }
}

/// The stored form of a task.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TaskItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    /// Derived from the history; stored so listings can filter on it.
    current_status: String,
    /// The task, its planned date's local day left out: `pld` says it in fewer bytes.
    #[serde(flatten)]
    task: Task,
    /// The task's local day of its planned date (`Task::planned_local_day`), as days after
    /// the planned date's UTC date: -1 or 1, absent for 0. A date would take 25 bytes, enough
    /// to take a completing write of a 36-character user id past 1 KB (one more write unit).
    #[serde(default, skip_serializing_if = "is_zero")]
    pld: i8,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pending_events: Vec<PendingItem>,
    /// Present only while events are pending and no outbox check covers them: the keys of the
    /// sparse outbox index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox_sk: Option<String>,
}

impl TaskItem {
    pub(super) fn new(task: &Task, pending: &[PendingEvent]) -> Self {
        let (pk, sk) = keys::task_key(task.id);
        let oldest = pending.iter().map(|p| p.committed_at).min();
        let mut stored = task.clone();
        let pld = stored
            .planned_local_day
            .take()
            .and_then(|day| local_day_offset(day, stored.planned_accomplish_date))
            .unwrap_or(0);
        let mut item = Self {
            pk,
            sk,
            gsi1pk: keys::user_tasks_partition(&task.owner),
            gsi1sk: keys::user_tasks_sort_key(task.created_at, task.id),
            current_status: task.status().as_str().to_owned(),
            task: stored,
            pld,
            pending_events: vec![],
            outbox_pk: oldest.map(|_| keys::outbox_partition(task.id)),
            outbox_sk: oldest.map(keys::outbox_sort_key),
        };
        // Detached against the task as it will be read back, so that an entry is detached
        // only if it comes back from that task byte for byte.
        let read_back = item.task();
        item.pending_events = pending
            .iter()
            .map(|p| PendingItem::new(p, &read_back))
            .collect();
        item
    }

    /// The item without the keys of the outbox index: for a write whose outbox check was
    /// scheduled, which finds its pending events instead.
    pub(super) fn without_outbox_index(mut self) -> Self {
        self.outbox_pk = None;
        self.outbox_sk = None;
        self
    }

    /// The task and its outbox, each pending event's envelope as committed.
    pub(super) fn into_stored(self) -> Result<StoredTask, EnvelopeError> {
        let task = self.task();
        let pending_events = self
            .pending_events
            .into_iter()
            .map(|p| p.into_pending(&task))
            .collect::<Result<_, _>>()?;
        Ok(StoredTask {
            task,
            pending_events,
        })
    }

    /// The task alone, without its outbox (as a listing returns it).
    pub(super) fn into_task(self) -> Task {
        self.task()
    }

    /// The task with its planned date's local day.
    fn task(&self) -> Task {
        let mut task = self.task.clone();
        if self.pld != 0 {
            task.planned_local_day = Some(local_day_of(self.pld, task.planned_accomplish_date));
        }
        task
    }
}

#[cfg(test)]
pub(super) mod tests;
