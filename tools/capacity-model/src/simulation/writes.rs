//! What a transaction of the simulation writes and what it costs: the consumer's planner turns
//! a batch into transactions, each user write split into markers added to the day item's
//! inline set and overflow marker items in the user's partition, and each write is priced in
//! write units from the modelled item sizes.

use std::collections::VecDeque;

use taskpulse_app::analytics::plan_transactions_knowing;
use taskpulse_domain::EventId;
use taskpulse_domain::analytics::{EventEffect, ProjectionVersion};
use uuid::Uuid;

use super::{Queued, Simulation};
use crate::MAX_ITEM_BYTES;
use crate::items::model_day;

/// One item update of a planned transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Write {
    /// Users first (by index), then the global shards.
    pub(crate) partition: usize,
    /// Events of a user's write; none on a global shard.
    pub(super) events: u32,
    /// Of them, markers added to the item's inline set; the rest are marker items, put in the
    /// user's partition (they share its partition key).
    pub(super) inline: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Transaction {
    pub(crate) writes: Vec<Write>,
    pub(super) events: u32,
}

/// The user is carried in the event id's upper half so that the planner's output (which
/// names events, not indexes) leads straight back to the user's partition.
fn event_id(user: u32, sequence: u64) -> EventId {
    EventId::from_uuid(Uuid::from_u128(
        (u128::from(user) << 64) | u128::from(sequence),
    ))
}

fn user_of(event: EventId) -> u32 {
    (event.as_uuid().as_u128() >> 64) as u32
}

impl Simulation<'_> {
    /// Plans a batch with the consumer's planner and maps its writes to partitions.
    pub(crate) fn plan(&mut self, batch: &[Queued]) -> VecDeque<Transaction> {
        let day = model_day();
        let mut effects = Vec::with_capacity(batch.len());
        for queued in batch {
            self.next_sequence += 1;
            effects.push(EventEffect {
                event_id: event_id(queued.user, self.next_sequence),
                user: self.user_id(queued.user),
                day,
                global_day: day,
                deltas: self.deltas.clone(),
                global_due: vec![],
            });
        }
        let rng = &mut self.rng;
        let applied = &self.applied;
        // The consumer's own hints, which a long-lived consumer holds: exact here.
        let plans = plan_transactions_knowing(
            ProjectionVersion::FIRST,
            &effects,
            &self.scenario.limits,
            |user, _| {
                let index: usize = user.as_str().parse().ok()?;
                applied.get(index).map(|n| *n as usize)
            },
            || rng.u32(..),
        );
        let users = self.users();
        plans
            .into_iter()
            .map(|plan| {
                let mut writes: Vec<Write> = plan
                    .users
                    .iter()
                    .map(|write| Write {
                        partition: user_of(write.events[0]) as usize,
                        events: write.events.len() as u32,
                        inline: write.inline as u32,
                    })
                    .collect();
                writes.extend(plan.globals.iter().map(|write| Write {
                    partition: users + write.shard as usize,
                    events: 0,
                    inline: 0,
                }));
                Transaction {
                    events: writes.iter().map(|w| w.events).sum(),
                    writes,
                }
            })
            .collect()
    }

    /// Units of one write (a user's with its marker items), or `None` when the user's item
    /// would grow past 400 KB (only an item of the layout before the cap comes near it).
    pub(crate) fn units(&self, write: Write) -> Option<usize> {
        if write.partition < self.users() {
            let after = self.applied[write.partition] + write.inline;
            let markers = (write.events - write.inline) as usize;
            (self.sizes.user_item_bytes(after) <= MAX_ITEM_BYTES).then(|| {
                self.sizes.user_write_units(after) + markers * self.sizes.marker_write_units()
            })
        } else {
            Some(self.sizes.global_write_units())
        }
    }
}
