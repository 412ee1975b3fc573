//! Verification of a building version against the active one, on every counter both
//! projections define. Live traffic moves both versions, one transaction after the other, so a
//! single read may catch a counter between the two: a difference is read again (both versions,
//! the key alone) until a round sees the values agree, and only what never agrees is reported.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use taskpulse_domain::analytics::{Counter, CounterKey};

use super::RebuildError;
use crate::ports::{ReadCounters, ScanCounters};
use crate::projections::ProjectionSpec;

/// One counter on which the versions differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub key: CounterKey,
    pub counter: Counter,
    pub active: i64,
    pub building: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerificationReport {
    /// Counter items compared (the union of both versions' keys).
    pub items: u64,
    /// The counters compared: those both projections define.
    pub counters: Vec<Counter>,
    pub differences: Vec<Difference>,
}

/// How often a difference is read again, and the pause before each round.
#[derive(Debug, Clone, Copy)]
pub struct Rereads {
    pub rounds: u32,
    pub pause: Duration,
}

impl Default for Rereads {
    fn default() -> Self {
        Self {
            rounds: 20,
            pause: Duration::from_millis(200),
        }
    }
}

fn differences(
    key: &CounterKey,
    counters: &[Counter],
    active: Option<&BTreeMap<Counter, i64>>,
    building: Option<&BTreeMap<Counter, i64>>,
) -> Vec<Difference> {
    let value = |m: Option<&BTreeMap<Counter, i64>>, c: &Counter| {
        m.and_then(|m| m.get(c)).copied().unwrap_or(0)
    };
    counters
        .iter()
        .filter(|c| value(active, c) != value(building, c))
        .map(|c| Difference {
            key: key.clone(),
            counter: *c,
            active: value(active, c),
            building: value(building, c),
        })
        .collect()
}

pub async fn verify(
    store: &(impl ScanCounters + ReadCounters),
    active: ProjectionSpec,
    building: ProjectionSpec,
    rereads: Rereads,
) -> Result<VerificationReport, RebuildError> {
    let counters: Vec<Counter> = active
        .projection
        .counters()
        .iter()
        .filter(|c| building.projection.counters().contains(c))
        .copied()
        .collect();
    let old = store.scan_counters(active.version).await?;
    let new = store.scan_counters(building.version).await?;
    let keys: BTreeSet<&CounterKey> = old.keys().chain(new.keys()).collect();
    let mut open: BTreeMap<CounterKey, Vec<Difference>> = BTreeMap::new();
    for key in &keys {
        let found = differences(key, &counters, old.get(*key), new.get(*key));
        if !found.is_empty() {
            open.insert((*key).clone(), found);
        }
    }
    for _ in 0..rereads.rounds {
        if open.is_empty() {
            break;
        }
        tokio::time::sleep(rereads.pause).await;
        let mut still = BTreeMap::new();
        for key in open.keys() {
            let a = store.read_counters(active.version, key).await?;
            let b = store.read_counters(building.version, key).await?;
            let found = differences(key, &counters, Some(&a), Some(&b));
            if !found.is_empty() {
                still.insert(key.clone(), found);
            }
        }
        open = still;
    }
    Ok(VerificationReport {
        items: keys.len() as u64,
        counters,
        differences: open.into_values().flatten().collect(),
    })
}
