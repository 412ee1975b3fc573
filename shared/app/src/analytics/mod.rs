//! Use cases of the analytics: apply a batch of events exactly once, and read the counters.
//! [`plan`] packs a batch into the transactions the store commits.

pub mod history;
pub mod marker_hints;
mod periods;
pub mod plan;

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use chrono::{Days, NaiveDate};
use taskpulse_domain::analytics::{Counter, EventEffect, Histogram, Scope};
use taskpulse_domain::{EventEnvelope, EventId};
use tokio::time::Instant;

pub use self::history::{History, HistoryRead, PARTITION_READS_AT_ONCE, plan_reads, read_history};
pub use self::marker_hints::{InlineMarkersFound, MarkerHints};
pub use self::periods::{Period, periods};
pub use self::plan::{
    GlobalDayWrite, InlineMarkers, MAX_COUNTERS_PER_UPDATE, MAX_INLINE_MARKERS, MonthPartition,
    MonthWrite, PlanLimits, TransactionPlan, UserDayWrite, plan_transactions,
    plan_transactions_knowing, plan_with_late_months,
};
use crate::backoff::Backoff;
use crate::ports::{ApplyTransaction, RollUpMonths, StoreError, TransactionResult};
use crate::projections::ProjectionSpec;

/// What became of each event of a batch.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BatchOutcome {
    pub applied: Vec<EventId>,
    /// Applied before (a redelivery): acknowledged without counting.
    pub duplicates: Vec<EventId>,
    /// Not applied, with the reason; the message must be retried.
    pub failed: Vec<(EventId, String)>,
    /// Transactions committed.
    pub transactions: usize,
    /// Item writes of the committed transactions.
    pub items: usize,
    /// Transactions that had to be sent again (conflicts, throttling, duplicates found).
    pub retries: usize,
    /// Write capacity the committed transactions consumed, as the store reported it.
    pub write_units: f64,
}

/// The pause between attempts of a transaction that failed transiently: 25 ms doubling up to
/// one second.
pub const TRANSACTION_RETRY_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(25),
    longest: Duration::from_secs(1),
};

/// Applies distinct events exactly once to `target`'s counters: projects them with its
/// projection, plans them into merged, packed transactions, commits
/// each, drops the events a cancelled transaction reports as applied before and commits the
/// rest again, and retries transient failures with jittered backoff until `deadline`. What
/// still fails is reported per event, never lost.
pub async fn apply_events<'a>(
    store: &impl ApplyTransaction,
    target: ProjectionSpec,
    events: impl IntoIterator<Item = &'a EventEnvelope>,
    limits: &PlanLimits,
    deadline: Instant,
) -> BatchOutcome {
    let today = chrono::Utc::now().date_naive();
    apply_events_on(store, target, events, limits, deadline, today).await
}

/// [`apply_events`] on the UTC date `today`, which decides which writes are late (see
/// `taskpulse_domain::analytics::months`).
pub async fn apply_events_on<'a>(
    store: &impl ApplyTransaction,
    target: ProjectionSpec,
    events: impl IntoIterator<Item = &'a EventEnvelope>,
    limits: &PlanLimits,
    deadline: Instant,
    today: NaiveDate,
) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    let mut pending: Vec<EventEffect> = events
        .into_iter()
        .map(|e| target.projection.effect(e))
        .collect();
    let random = RandomState::new();
    let mut shard_seed = 0u64;
    let own_hints = MarkerHints::default();
    let hints = store.marker_hints().unwrap_or(&own_hints);
    while !pending.is_empty() {
        let plans = plan_with_late_months(
            target.version,
            &pending,
            limits,
            |user, day| hints.inline_markers(target.version, user, day),
            || {
                shard_seed += 1;
                // Random shards spread concurrent consumers over the global day's shards.
                (random.hash_one(shard_seed) % u64::from(u32::MAX)) as u32
            },
            today,
        );
        let mut replan: Vec<EventId> = vec![];
        for plan in &plans {
            let mut attempt = 0;
            loop {
                // Drawn before the attempt, so the pause that is checked against the deadline
                // is the pause that is slept.
                let pause = TRANSACTION_RETRY_BACKOFF.jittered(attempt);
                match store.apply_transaction(plan).await {
                    Ok(TransactionResult::Committed { write_units }) => {
                        outcome.transactions += 1;
                        outcome.items += plan.item_count();
                        outcome.write_units += write_units;
                        outcome.applied.extend(plan.events());
                        hints.committed(plan);
                        break;
                    }
                    Ok(TransactionResult::InlineMarkersMoved(found)) => {
                        // Planned again on what was found; only concurrent writers to the
                        // same day can make that wrong again, so the deadline bounds it.
                        hints.found(target.version, &found);
                        if Instant::now() + pause < deadline {
                            outcome.retries += 1;
                            replan.extend(plan.events());
                        } else {
                            let reason = "inline markers kept moving until the deadline";
                            outcome
                                .failed
                                .extend(plan.events().map(|e| (e, reason.to_owned())));
                        }
                        break;
                    }
                    Ok(TransactionResult::AlreadyApplied(duplicates)) => {
                        outcome.retries += 1;
                        let duplicates: HashSet<EventId> = duplicates.into_iter().collect();
                        outcome
                            .duplicates
                            .extend(plan.events().filter(|e| duplicates.contains(e)));
                        replan.extend(plan.events().filter(|e| !duplicates.contains(e)));
                        break;
                    }
                    Err(error @ (StoreError::Unavailable(_) | StoreError::Conflict))
                        if Instant::now() + pause < deadline =>
                    {
                        tracing::info!(%error, attempt, "transaction retried");
                        outcome.retries += 1;
                        tokio::time::sleep(pause).await;
                        attempt += 1;
                    }
                    Err(error) => {
                        let reason = error.to_string();
                        outcome
                            .failed
                            .extend(plan.events().map(|e| (e, reason.clone())));
                        break;
                    }
                }
            }
        }
        let replan: HashSet<EventId> = replan.into_iter().collect();
        pending.retain(|e| replan.contains(&e.event_id));
    }
    outcome
}

/// The analytics of one scope over a range of days.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Flow counters summed over the range.
    pub totals: BTreeMap<Counter, i64>,
    /// Open tasks per status at the end of `to` (all days up to it).
    pub open: BTreeMap<Counter, i64>,
    /// Open tasks at the end of `to` whose planned date had passed by then (due on `to` or
    /// before); `None` for a projection without due gauges.
    pub overdue: Option<i64>,
    /// One entry per day of the range, zeros included.
    pub days: Vec<(NaiveDate, BTreeMap<Counter, i64>)>,
    /// Each histogram the projection keeps, summed over the range: (bucket, count) pairs.
    /// Empty for a projection without histograms.
    pub histograms: BTreeMap<Histogram, Vec<(u8, i64)>>,
}

const GAUGES: [Counter; 3] = [
    Counter::OpenNew,
    Counter::OpenInProgress,
    Counter::OpenOnHold,
];

/// The report of `scope` in the version `spec`, with the counters its projection defines.
/// For a month answer, a sealed month within the range is taken whole and its counters are
/// on the row of its first day (the rows are summed into months).
pub async fn analytics_report(
    store: &impl RollUpMonths,
    spec: ProjectionSpec,
    scope: &Scope,
    read: HistoryRead,
) -> Result<AnalyticsReport, StoreError> {
    let (from, to) = (read.from, read.to);
    // Everything through `to`, from the first day ever: the gauges need all of it, the series
    // only the range. Sealed months stand in for their days where they serve.
    let stored = read_history(store, spec.version, scope, read).await?;
    let mut open: BTreeMap<Counter, i64> = GAUGES.iter().map(|g| (*g, 0)).collect();
    let mut overdue = 0;
    for (day, counters) in &stored {
        for gauge in GAUGES {
            *open.entry(gauge).or_default() += counters.get(&gauge).copied().unwrap_or(0);
        }
        // The due gauges sort last: only they are walked here.
        for (counter, count) in counters.range(Counter::Due(0)..) {
            if counter.due_day(*day).is_some_and(|due| due <= to) {
                overdue += count;
            }
        }
    }
    // Histogram buckets are no rows of their own: they are summed apart, for percentiles.
    let flows: Vec<Counter> = spec
        .projection
        .counters()
        .iter()
        .copied()
        .filter(|c| !GAUGES.contains(c) && c.bucket().is_none())
        .collect();
    let mut histograms: BTreeMap<Histogram, BTreeMap<u8, i64>> = spec
        .projection
        .counters()
        .iter()
        .filter_map(|c| c.bucket())
        .map(|(histogram, _)| (histogram, BTreeMap::new()))
        .collect();
    // `range` panics on an inverted range; such a range has no days.
    let in_range = stored.range(from..=to.max(from)).filter(|_| from <= to);
    for counters in in_range.map(|(_, counters)| counters) {
        for (counter, count) in counters {
            if let Some((histogram, bucket)) = counter.bucket()
                && let Some(buckets) = histograms.get_mut(&histogram)
            {
                *buckets.entry(bucket).or_default() += count;
            }
        }
    }
    let mut totals: BTreeMap<Counter, i64> = flows.iter().map(|c| (*c, 0)).collect();
    let mut days = vec![];
    let mut day = from;
    while day <= to {
        let counters = stored.get(&day);
        let row: BTreeMap<Counter, i64> = flows
            .iter()
            .map(|c| (*c, counters.and_then(|m| m.get(c)).copied().unwrap_or(0)))
            .collect();
        for (counter, value) in &row {
            *totals.entry(*counter).or_default() += value;
        }
        days.push((day, row));
        match day.checked_add_days(Days::new(1)) {
            Some(next) => day = next,
            None => break,
        }
    }
    Ok(AnalyticsReport {
        from,
        to,
        totals,
        open,
        overdue: spec.projection.keeps_due_gauges().then_some(overdue),
        days,
        histograms: histograms
            .into_iter()
            .map(|(histogram, buckets)| (histogram, buckets.into_iter().collect()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use taskpulse_domain::UserId;
    use taskpulse_domain::analytics::CounterKey;

    use super::*;
    use crate::memory::MemoryAnalyticsStore;
    use crate::ports::ReadCounters;
    use crate::projections::ProjectionConfig;
    use crate::tasks::tests::{as_user, commands, new_task};

    #[tokio::test]
    async fn an_event_applies_once_however_often_it_arrives() {
        let commands = commands();
        let owner = UserId::parse("u1").unwrap();
        let task = commands
            .create_task(&as_user("u1"), new_task())
            .await
            .unwrap()
            .task;
        let events = commands.publisher().drain_envelopes();
        let store = MemoryAnalyticsStore::default();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        let target = ProjectionConfig::initial().active;
        let first = apply_events(&store, target, &events, &PlanLimits::default(), deadline).await;
        let second = apply_events(&store, target, &events, &PlanLimits::default(), deadline).await;
        assert_eq!((first.applied.len(), first.duplicates.len()), (1, 0));
        assert_eq!((second.applied.len(), second.duplicates.len()), (0, 1));
        assert!(store.is_applied(target, &events[0]));
        let key = CounterKey {
            scope: Scope::User(owner),
            day: task.created_at.date_naive(),
        };
        let counters = store.read_counters(target.version, &key).await.unwrap();
        assert_eq!(counters.get(&Counter::Created), Some(&1));
    }

    /// A counter table that refuses every transaction for capacity.
    struct AlwaysThrottled;

    impl ApplyTransaction for AlwaysThrottled {
        async fn apply_transaction(
            &self,
            _plan: &TransactionPlan,
        ) -> Result<TransactionResult, StoreError> {
            Err(StoreError::Unavailable("throttled".into()))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_the_deadline_and_never_past_it() {
        let commands = commands();
        commands
            .create_task(&as_user("u1"), new_task())
            .await
            .unwrap();
        let events = commands.publisher().drain_envelopes();
        // Virtual time: every pause is taken in full at once, so twenty batches show where the
        // retries stop however the pauses are drawn.
        for _ in 0..20 {
            let deadline = Instant::now() + Duration::from_secs(3);
            let outcome = apply_events(
                &AlwaysThrottled,
                ProjectionConfig::initial().active,
                &events,
                &PlanLimits::default(),
                deadline,
            )
            .await;
            assert!(Instant::now() <= deadline, "a pause outlasted the deadline");
            assert!(outcome.retries >= 3, "{outcome:?}");
            assert!(outcome.applied.is_empty(), "{outcome:?}");
            assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
        }
    }
}

#[cfg(test)]
mod overflow_tests;
