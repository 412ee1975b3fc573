//! The discrete-time simulation in 1 ms steps.

use std::collections::VecDeque;

use taskpulse_app::analytics::TRANSACTION_RETRY_BACKOFF;
use taskpulse_aws::keys;
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::{Counter, Deltas};

use crate::items::{ItemSizes, model_day};
use crate::report::RunReport;
use crate::scenario::Scenario;
use crate::{SAMPLE_EVERY_MS, TOLERATED_BACKLOG_GROWTH, USER_ID_CHARS};

mod writes;

use writes::Transaction;

/// Write units available to one partition (or to the table): refilled continuously, holding
/// at most one second of them.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    units: f64,
    refilled_at_ms: u64,
}

impl Bucket {
    pub(crate) fn empty() -> Self {
        Self {
            units: 0.0,
            refilled_at_ms: 0,
        }
    }

    pub(crate) fn available(&mut self, per_second: f64, now_ms: u64) -> f64 {
        let elapsed = (now_ms - self.refilled_at_ms) as f64 / 1_000.0;
        self.units = (self.units + per_second * elapsed).min(per_second);
        self.refilled_at_ms = now_ms;
        self.units
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Partition {
    bucket: Bucket,
    /// Until then, transactions naming this item are cancelled (`TransactionConflict`).
    held_until_ms: u64,
    measured_units: f64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Queued {
    pub(crate) arrived_ms: u64,
    pub(crate) user: u32,
}

pub(crate) enum Invocation {
    Idle,
    Busy {
        transactions: VecDeque<Transaction>,
        oldest_arrival_ms: u64,
        next_at_ms: u64,
        attempt: u32,
    },
}

pub(crate) enum Attempt {
    Committed,
    Throttled,
    Conflicted,
    Refused,
}

#[derive(Default)]
pub(crate) struct Measured {
    applied_events: u64,
    transactions: u64,
    throttled: u64,
    conflicted: u64,
    refused_events: u64,
    max_event_age_ms: u64,
    busy_samples: u64,
    samples: u64,
    backlog: Vec<(f64, f64)>,
}

pub(crate) struct Simulation<'s> {
    scenario: &'s Scenario,
    pub(crate) sizes: ItemSizes,
    rng: fastrand::Rng,
    user_ids: Vec<Option<UserId>>,
    /// Markers in each user's inline set.
    applied: Vec<u32>,
    partitions: Vec<Partition>,
    table: Bucket,
    queue: VecDeque<Queued>,
    /// Events handed to an invocation and not yet committed or refused.
    in_flight: usize,
    next_sequence: u64,
    deltas: Deltas,
    measuring: bool,
    measured: Measured,
}

impl<'s> Simulation<'s> {
    pub(crate) fn new(scenario: &'s Scenario) -> Self {
        let users = scenario.load.users.max(1) as usize;
        let shards = scenario.limits.global_shards.max(1) as usize;
        let mut applied = vec![scenario.load.already_applied_per_user; users];
        if let Some(hot) = scenario.load.hot_user {
            applied[0] = hot.already_applied;
        }
        let partition = Partition {
            bucket: Bucket::empty(),
            held_until_ms: 0,
            measured_units: 0.0,
        };
        Self {
            scenario,
            sizes: scenario.sizes,
            rng: fastrand::Rng::with_seed(scenario.seed),
            user_ids: vec![None; users],
            applied,
            partitions: vec![partition; users + shards],
            table: Bucket::empty(),
            queue: VecDeque::new(),
            in_flight: 0,
            next_sequence: 0,
            // A created task: the deltas do not change the modelled item sizes.
            deltas: Deltas::from([(Counter::Created, 1), (Counter::OpenNew, 1)]),
            measuring: false,
            measured: Measured::default(),
        }
    }

    pub(crate) fn users(&self) -> usize {
        self.applied.len()
    }

    pub(crate) fn next_user(&mut self) -> u32 {
        match self.scenario.load.hot_user {
            Some(hot) if self.rng.f64() < hot.share => 0,
            _ => self.rng.u32(0..self.users() as u32),
        }
    }

    pub(crate) fn user_id(&mut self, user: u32) -> UserId {
        self.user_ids[user as usize]
            .get_or_insert_with(|| {
                UserId::parse(&format!("{user:0>USER_ID_CHARS$}")).expect("a valid user id")
            })
            .clone()
    }

    pub(crate) fn attempt(&mut self, transaction: &Transaction, now_ms: u64) -> Attempt {
        let limits = self.scenario.table;
        if limits.conflict_window_ms > 0
            && transaction
                .writes
                .iter()
                .any(|w| self.partitions[w.partition].held_until_ms > now_ms)
        {
            return Attempt::Conflicted;
        }
        let mut total = 0;
        let mut throttled = false;
        for write in &transaction.writes {
            let Some(units) = self.units(*write) else {
                return Attempt::Refused;
            };
            total += units;
            let bucket = &mut self.partitions[write.partition].bucket;
            throttled |= bucket.available(limits.partition_wcu_per_second, now_ms) < units as f64;
        }
        if let Some(per_second) = limits.table_wcu_per_second {
            throttled |= self.table.available(per_second, now_ms) < total as f64;
        }
        if throttled {
            return Attempt::Throttled;
        }
        if limits.table_wcu_per_second.is_some() {
            self.table.units -= total as f64;
        }
        for write in &transaction.writes {
            let units = self.units(*write).expect("checked above") as f64;
            let partition = &mut self.partitions[write.partition];
            partition.bucket.units -= units;
            partition.held_until_ms = now_ms + limits.conflict_window_ms;
            if self.measuring {
                partition.measured_units += units;
            }
            if write.partition < self.applied.len() {
                self.applied[write.partition] += write.inline;
            }
        }
        Attempt::Committed
    }

    pub(crate) fn take_batch(&mut self, now_ms: u64) -> Option<Vec<Queued>> {
        let consumers = self.scenario.consumers;
        let oldest = self.queue.front()?;
        let full = self.queue.len() >= consumers.batch_size.max(1);
        if !full && now_ms - oldest.arrived_ms < consumers.batching_window_ms {
            return None;
        }
        let size = self.queue.len().min(consumers.batch_size.max(1));
        Some(self.queue.drain(..size).collect())
    }

    /// The consumer's own retry pause (`taskpulse_app::apply_events`), drawn from the run's
    /// seeded generator.
    pub(crate) fn backoff_ms(&mut self, attempt: u32) -> u64 {
        let pause = TRANSACTION_RETRY_BACKOFF.delay(attempt, self.rng.u64(..));
        u64::try_from(pause.as_millis()).unwrap_or(u64::MAX)
    }

    /// Moves one invocation as far as it gets at `now_ms`.
    pub(crate) fn step(&mut self, invocation: &mut Invocation, now_ms: u64) {
        let consumers = self.scenario.consumers;
        loop {
            match invocation {
                Invocation::Idle => {
                    if let Some(batch) = self.take_batch(now_ms) {
                        self.in_flight += batch.len();
                        *invocation = Invocation::Busy {
                            transactions: self.plan(&batch),
                            oldest_arrival_ms: batch
                                .iter()
                                .map(|q| q.arrived_ms)
                                .min()
                                .unwrap_or(now_ms),
                            next_at_ms: now_ms + consumers.invocation_overhead_ms,
                            attempt: 0,
                        };
                    }
                    return;
                }
                Invocation::Busy { next_at_ms, .. } if *next_at_ms > now_ms => return,
                Invocation::Busy {
                    transactions,
                    oldest_arrival_ms,
                    next_at_ms,
                    attempt,
                } => {
                    let Some(transaction) = transactions.front() else {
                        *invocation = Invocation::Idle;
                        continue;
                    };
                    let outcome = self.attempt(transaction, now_ms);
                    let events = u64::from(transaction.events);
                    let latency = consumers.transaction_latency_ms;
                    match outcome {
                        Attempt::Committed | Attempt::Refused => {
                            self.in_flight -= events as usize;
                            if self.measuring {
                                if let Attempt::Committed = outcome {
                                    self.measured.applied_events += events;
                                    self.measured.transactions += 1;
                                    let age = now_ms + latency - *oldest_arrival_ms;
                                    self.measured.max_event_age_ms =
                                        self.measured.max_event_age_ms.max(age);
                                } else {
                                    self.measured.refused_events += events;
                                }
                            }
                            transactions.pop_front();
                            *next_at_ms = now_ms + latency;
                            *attempt = 0;
                        }
                        Attempt::Throttled | Attempt::Conflicted => {
                            if self.measuring {
                                match outcome {
                                    Attempt::Throttled => self.measured.throttled += 1,
                                    _ => self.measured.conflicted += 1,
                                }
                            }
                            *next_at_ms = now_ms + latency + self.backoff_ms(*attempt);
                            *attempt += 1;
                        }
                    }
                    return;
                }
            }
        }
    }

    pub(crate) fn run(mut self) -> RunReport {
        let scenario = self.scenario;
        let rate = scenario.load.events_per_second;
        let per_ms = rate / 1_000.0;
        let end_ms = scenario.warm_up_ms + scenario.measured_ms;
        // Far more than any bounded run holds: a batching window plus two seconds of events.
        let runaway = rate * (scenario.consumers.batching_window_ms as f64 / 1_000.0 + 2.0)
            + scenario.consumers.batch_size as f64;
        let mut invocations: Vec<Invocation> = (0..scenario.consumers.max_concurrency.max(1))
            .map(|_| Invocation::Idle)
            .collect();
        let mut arrivals = 0.0;
        let mut stopped_at_ms = end_ms;
        for now_ms in 0..end_ms {
            self.measuring = now_ms >= scenario.warm_up_ms;
            arrivals += per_ms;
            while arrivals >= 1.0 {
                arrivals -= 1.0;
                let user = self.next_user();
                self.queue.push_back(Queued {
                    arrived_ms: now_ms,
                    user,
                });
            }
            for invocation in &mut invocations {
                self.step(invocation, now_ms);
            }
            if now_ms % SAMPLE_EVERY_MS == 0 {
                let backlog = self.queue.len() + self.in_flight;
                if self.measuring {
                    let busy = invocations
                        .iter()
                        .filter(|i| matches!(i, Invocation::Busy { .. }))
                        .count();
                    self.measured.busy_samples += busy as u64;
                    self.measured.samples += 1;
                    self.measured
                        .backlog
                        .push((now_ms as f64 / 1_000.0, backlog as f64));
                    if backlog as f64 > runaway {
                        stopped_at_ms = now_ms + 1;
                        break;
                    }
                }
            }
        }
        self.report(stopped_at_ms < end_ms, stopped_at_ms)
    }

    pub(crate) fn report(self, ran_away: bool, stopped_at_ms: u64) -> RunReport {
        let scenario = self.scenario;
        let seconds = (stopped_at_ms.saturating_sub(scenario.warm_up_ms)).max(1) as f64 / 1_000.0;
        let users = self.users();
        let (hottest, hottest_units) = self
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| (i, p.measured_units))
            .fold(
                (0, 0.0),
                |best, next| if next.1 > best.1 { next } else { best },
            );
        let day = keys::day_sort_key(model_day());
        let hottest_partition = if hottest < users {
            format!("USER#{hottest}/{day}")
        } else {
            format!("GLOBAL#{}/{day}", hottest - users)
        };
        let table_units: f64 = self.partitions.iter().map(|p| p.measured_units).sum();
        let growth = slope(&self.measured.backlog);
        let rate = scenario.load.events_per_second;
        let largest = self.applied.iter().copied().max().unwrap_or(0);
        RunReport {
            offered_events_per_second: rate,
            applied_events_per_second: self.measured.applied_events as f64 / seconds,
            transactions_per_second: self.measured.transactions as f64 / seconds,
            throttled_transactions: self.measured.throttled,
            conflicted_transactions: self.measured.conflicted,
            refused_events: self.measured.refused_events,
            max_backlog: self
                .measured
                .backlog
                .iter()
                .map(|(_, b)| *b as usize)
                .max()
                .unwrap_or(0),
            backlog_growth_per_second: growth,
            bounded: !ran_away && growth <= TOLERATED_BACKLOG_GROWTH * rate + 1.0,
            hottest_partition,
            hottest_partition_wcu_per_second: hottest_units / seconds,
            table_wcu_per_second: table_units / seconds,
            mean_busy_consumers: self.measured.busy_samples as f64
                / self.measured.samples.max(1) as f64,
            max_event_age_ms: self.measured.max_event_age_ms,
            largest_user_item_bytes: self.sizes.user_item_bytes(largest),
        }
    }
}

/// Least-squares slope of (x, y) samples.
pub(crate) fn slope(samples: &[(f64, f64)]) -> f64 {
    let n = samples.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mean_x = samples.iter().map(|s| s.0).sum::<f64>() / n;
    let mean_y = samples.iter().map(|s| s.1).sum::<f64>() / n;
    let covariance: f64 = samples
        .iter()
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let variance: f64 = samples.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    if variance > 0.0 {
        covariance / variance
    } else {
        0.0
    }
}

/// Simulates one scenario.
pub fn run(scenario: &Scenario) -> RunReport {
    Simulation::new(scenario).run()
}
