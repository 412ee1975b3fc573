//! The events of users with an erasure record, as the consumer and the rebuild count them:
//! held back while the erasure runs (its steps move the user's counters, and nothing else may
//! write them meanwhile), and counted under the pseudonym once it is complete (where the ids
//! of the user's applied events now are, so a redelivery is still recognised).

use std::borrow::Cow;
use std::collections::HashMap;

use taskpulse_domain::erasure::ErasedOwner;
use taskpulse_domain::{EventEnvelope, EventId, UserId};

use crate::ports::{LoadErasures, StoreError};

/// A batch's events after their owners' erasures were looked up.
#[derive(Debug, Default)]
pub struct OwnedEvents<'a> {
    /// The events to archive and count: those of erased users carry the pseudonym.
    pub countable: Vec<Cow<'a, EventEnvelope>>,
    /// The events whose owner is being erased: retry them later.
    pub held: Vec<EventId>,
    /// How many of `countable` were re-owned to a pseudonym.
    pub pseudonymised: usize,
}

/// Looks up the erasure records of the events' owners (one read for the batch) and routes
/// each event accordingly.
pub async fn route_late_events<'a>(
    erasures: &impl LoadErasures,
    events: impl IntoIterator<Item = &'a EventEnvelope>,
) -> Result<OwnedEvents<'a>, StoreError> {
    let events: Vec<&EventEnvelope> = events.into_iter().collect();
    let mut owners: Vec<UserId> = events.iter().map(|e| e.user_id.clone()).collect();
    owners.sort_unstable();
    owners.dedup();
    let found = if owners.is_empty() {
        HashMap::new()
    } else {
        erasures.load_erasures(&owners).await?
    };
    let mut routed = OwnedEvents::default();
    for event in events {
        match found.get(&event.user_id).map(|e| e.owner_of_events()) {
            None => routed.countable.push(Cow::Borrowed(event)),
            Some(ErasedOwner::Hold) => routed.held.push(event.event_id),
            Some(ErasedOwner::CountAs(pseudonym)) => {
                let mut owned = event.clone();
                owned.user_id = pseudonym;
                routed.countable.push(Cow::Owned(owned));
                routed.pseudonymised += 1;
            }
        }
    }
    Ok(routed)
}
