//! A capacity model of the analytics write path on AWS: how many events per second the hot
//! counter items sustain within DynamoDB's per-partition write limit, given the consumer's
//! batching and the sharding of the global day counter.
//!
//! A discrete-time simulation in 1 ms steps, deterministic for a seed:
//!
//! - events arrive on the queue at a steady rate, each owned by a user drawn uniformly from a
//!   population (optionally one hot user takes a share of all events); all on one UTC day;
//! - a fleet of at most `max_concurrency` invocations takes batches as Lambda's SQS event
//!   source mapping hands them out (a full batch, or what is there once the oldest event has
//!   waited the batching window), plans each batch with the consumer's own planner
//!   ([`plan_transactions`]) and sends the transactions one after another, as `apply_events`
//!   does;
//! - every item a transaction writes takes write units from the token bucket of its partition
//!   (1,000 WCU/s). If any item lacks them the whole transaction is cancelled (throttled) and
//!   sent again after the consumer's jittered backoff;
//! - write units follow `taskpulse_aws::capacity`: two per started KB of the item after the
//!   update (the larger of old and new, and the day item only grows). A user's day item grows
//!   by 16 bytes per applied event (`appliedEvents`), so its units are modelled from its size;
//!   a global shard item holds only counters.
//!
//! Assumptions, each chosen to isolate the partition limit and stated in
//! `docs/capacity-model.md`:
//!
//! - every item key has a partition of its own (DynamoDB splits hot partitions down to a
//!   single key, and no further); a key never gets more than 1,000 WCU/s;
//! - burst capacity is ignored: AWS says it cannot relieve partition-level throttling and
//!   gives it on a best-effort basis. Buckets hold at most one second of capacity and start
//!   empty, so no saved capacity hides an overload during a short run;
//! - a throttled transaction consumes no capacity;
//! - optionally (`conflict_window_ms`), a committed transaction keeps its items from other
//!   transactions for a while (DynamoDB cancels those with `TransactionConflict`); the length
//!   of that window is not published, so it is off unless a scenario sets it;
//! - optionally, the table-level write quota (40,000 WCU/s by default for on-demand tables,
//!   adjustable) is enforced with a bucket of its own;
//! - warm invocations only (no cold starts, no scaling ramp of the event source mapping), no
//!   redelivered events, no invocation deadline (a throttled transaction is retried until it
//!   commits).

use std::collections::{BTreeMap, HashMap, VecDeque};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use taskpulse_app::analytics::{PlanLimits, plan_transactions};
use taskpulse_aws::capacity::{item_size, transactional_write_units};
use taskpulse_aws::keys;
use taskpulse_domain::analytics::{Counter, EventEffect};
use taskpulse_domain::{EventId, UserId};
use uuid::Uuid;

/// The write limit of one DynamoDB partition, in provisioned and on-demand mode alike.
pub const PARTITION_WCU_PER_SECOND: f64 = 1_000.0;
/// The default table-level write quota of an on-demand table (adjustable on request).
pub const DEFAULT_TABLE_WCU_PER_SECOND: f64 = 40_000.0;
/// DynamoDB refuses an item larger than this.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// A user id as long as a Cognito `sub` (a UUID), for the item sizes.
const USER_ID_CHARS: usize = 36;

/// The consumer's retry pauses (`taskpulse_app::apply_events`): a uniform draw below a ceiling
/// that doubles from 25 ms up to one second.
const BACKOFF_BASE_MS: u64 = 25;
const BACKOFF_MAX_MS: u64 = 1_000;

/// The backlog is sampled this often to judge whether it grows.
const SAMPLE_EVERY_MS: u64 = 10;
/// A run is sustained while its backlog grows by at most this share of the offered rate:
/// batches and retries make the backlog jitter by a few batches, never more.
const TOLERATED_BACKLOG_GROWTH: f64 = 0.01;
/// The search for the highest sustained rate stops when the bracket is this narrow.
const SEARCH_PRECISION: f64 = 0.02;

/// Where the events come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub events_per_second: f64,
    /// Users owning the events, drawn uniformly.
    pub users: u32,
    /// Events already on each user's day item when the run starts (its `appliedEvents`).
    pub already_applied_per_user: u32,
    /// One user (user 0) owning a share of all events, such as an integration or a script.
    pub hot_user: Option<HotUser>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HotUser {
    /// Share of all events owned by this user, 0 to 1.
    pub share: f64,
    /// Events already on this user's day item when the run starts.
    pub already_applied: u32,
}

/// The consumer fleet: Lambda's SQS event source mapping and the consumer function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consumers {
    pub batch_size: usize,
    /// How long the event source mapping waits to fill a batch (0: it hands out what it has).
    pub batching_window_ms: u64,
    /// The event source mapping's maximum concurrency.
    pub max_concurrency: usize,
    /// Invoking the function, decoding and planning a batch.
    pub invocation_overhead_ms: u64,
    /// One `TransactWriteItems` round trip, whether it commits or is cancelled.
    pub transaction_latency_ms: u64,
}

/// What DynamoDB enforces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableLimits {
    pub partition_wcu_per_second: f64,
    /// The table-level write quota; `None`: not enforced.
    pub table_wcu_per_second: Option<f64>,
    /// How long a committed transaction keeps its items from other transactions, which
    /// DynamoDB cancels with `TransactionConflict` meanwhile; 0: not modelled.
    pub conflict_window_ms: u64,
}

/// A deployment and a load to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub load: Load,
    /// The planner's limits, including the number of global shards.
    pub limits: PlanLimits,
    pub consumers: Consumers,
    pub table: TableLimits,
    /// Simulated time before measuring starts (batches forming, consumers busy).
    pub warm_up_ms: u64,
    pub measured_ms: u64,
    pub seed: u64,
}

impl Scenario {
    /// 100,000 users with ten events each on today's item; the global shards and batch size
    /// as given, with the template's one-second batching window for any batch above one
    /// event (without a window, idle invocations take events as they come, one or two at a
    /// time, and batching only starts once every invocation is busy); up to 1,000 concurrent
    /// invocations (the event source mapping's maximum) so that the table is what binds;
    /// 10 ms per invocation and 20 ms per transaction.
    pub fn new(events_per_second: f64, global_shards: u32, batch_size: usize) -> Self {
        Self {
            load: Load {
                events_per_second,
                users: 100_000,
                already_applied_per_user: 10,
                hot_user: None,
            },
            limits: PlanLimits {
                global_shards,
                ..PlanLimits::default()
            },
            consumers: Consumers {
                batch_size,
                batching_window_ms: if batch_size > 1 { 1_000 } else { 0 },
                max_concurrency: 1_000,
                invocation_overhead_ms: 10,
                transaction_latency_ms: 20,
            },
            table: TableLimits {
                partition_wcu_per_second: PARTITION_WCU_PER_SECOND,
                table_wcu_per_second: None,
                conflict_window_ms: 0,
            },
            warm_up_ms: 1_500,
            measured_ms: 3_000,
            seed: 1,
        }
    }

    fn at_rate(&self, events_per_second: f64) -> Self {
        let mut scenario = self.clone();
        scenario.load.events_per_second = events_per_second;
        scenario
    }
}

/// Item sizes as DynamoDB bills them, computed with `taskpulse_aws::capacity` from items laid
/// out as the analytics store writes them, with every counter present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemSizes {
    /// A user's day item without its applied-event ids.
    pub user_item_base_bytes: usize,
    /// Each applied event's id in `appliedEvents`.
    pub bytes_per_applied_event: usize,
    pub global_item_bytes: usize,
}

fn counters(value: &str) -> impl Iterator<Item = (String, AttributeValue)> + '_ {
    Counter::ALL
        .into_iter()
        .map(move |c| (c.name().to_owned(), AttributeValue::N(value.to_owned())))
}

fn key_attributes((pk, sk): (String, String)) -> [(String, AttributeValue); 2] {
    [
        (keys::PK.to_owned(), AttributeValue::S(pk)),
        (keys::SK.to_owned(), AttributeValue::S(sk)),
    ]
}

fn model_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).expect("a valid date")
}

impl ItemSizes {
    pub fn from_billing_rules() -> Self {
        let day = model_day();
        let user = UserId::parse(&"u".repeat(USER_ID_CHARS)).expect("a valid user id");
        let user_item = |applied: u128| -> HashMap<String, AttributeValue> {
            let ids = (0..applied)
                .map(|n| Blob::new(Uuid::from_u128(n).as_bytes().to_vec()))
                .collect();
            key_attributes(keys::user_day_key(&user, day))
                .into_iter()
                // Seven-digit counters: a busy user's sums of seconds.
                .chain(counters("1234567"))
                .chain([(keys::APPLIED_EVENTS.to_owned(), AttributeValue::Bs(ids))])
                .collect()
        };
        let one = item_size(&user_item(1));
        let two = item_size(&user_item(2));
        // Twelve-digit counters: everyone's sums of seconds over a day.
        let global_item: HashMap<String, AttributeValue> =
            key_attributes(keys::global_day_key(day, 31))
                .into_iter()
                .chain(counters("123456789012"))
                .collect();
        Self {
            user_item_base_bytes: one - (two - one),
            bytes_per_applied_event: two - one,
            global_item_bytes: item_size(&global_item),
        }
    }

    pub fn user_item_bytes(&self, applied_events: u32) -> usize {
        self.user_item_base_bytes + self.bytes_per_applied_event * applied_events as usize
    }

    /// Units of a transactional update that leaves the user's item with `applied_events`.
    pub fn user_write_units(&self, applied_events: u32) -> usize {
        transactional_write_units(self.user_item_bytes(applied_events))
    }

    pub fn global_write_units(&self) -> usize {
        transactional_write_units(self.global_item_bytes)
    }
}

/// What one simulated run came to; rates and counts are over the measured window.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub offered_events_per_second: f64,
    pub applied_events_per_second: f64,
    pub transactions_per_second: f64,
    /// Transactions cancelled because an item's partition (or the table) lacked capacity.
    pub throttled_transactions: u64,
    /// Transactions cancelled because another transaction held one of their items.
    pub conflicted_transactions: u64,
    /// Events of transactions refused because a user's item would pass 400 KB. The whole
    /// transaction fails, so its other users' events are counted too (on AWS they would be
    /// redelivered and applied in later batches; the full item's never are).
    pub refused_events: u64,
    /// Events received and not yet applied (queued or inside an invocation), at most, during
    /// the measured window.
    pub max_backlog: usize,
    /// Least-squares slope of that backlog over the measured window.
    pub backlog_growth_per_second: f64,
    /// The backlog stopped growing (and the run was not cut short for running away).
    pub bounded: bool,
    /// The key of the partition that consumed the most write units.
    pub hottest_partition: String,
    pub hottest_partition_wcu_per_second: f64,
    pub table_wcu_per_second: f64,
    pub mean_busy_consumers: f64,
    /// From arrival on the queue to the commit of its transaction, at most.
    pub max_event_age_ms: u64,
    pub largest_user_item_bytes: usize,
}

impl RunReport {
    /// Applied as fast as offered, with no event refused.
    pub fn sustained(&self) -> bool {
        self.bounded && self.refused_events == 0
    }

    pub fn wcu_per_event(&self) -> f64 {
        if self.applied_events_per_second > 0.0 {
            self.table_wcu_per_second / self.applied_events_per_second
        } else {
            0.0
        }
    }
}

/// Write units available to one partition (or to the table): refilled continuously, holding
/// at most one second of them.
#[derive(Debug, Clone)]
struct Bucket {
    units: f64,
    refilled_at_ms: u64,
}

impl Bucket {
    fn empty() -> Self {
        Self {
            units: 0.0,
            refilled_at_ms: 0,
        }
    }

    fn available(&mut self, per_second: f64, now_ms: u64) -> f64 {
        let elapsed = (now_ms - self.refilled_at_ms) as f64 / 1_000.0;
        self.units = (self.units + per_second * elapsed).min(per_second);
        self.refilled_at_ms = now_ms;
        self.units
    }
}

#[derive(Debug, Clone)]
struct Partition {
    bucket: Bucket,
    /// Until then, transactions naming this item are cancelled (`TransactionConflict`).
    held_until_ms: u64,
    measured_units: f64,
}

#[derive(Debug, Clone, Copy)]
struct Queued {
    arrived_ms: u64,
    user: u32,
}

/// One item update of a planned transaction.
#[derive(Debug, Clone, Copy)]
struct Write {
    /// Users first (by index), then the global shards.
    partition: usize,
    /// Events added to a user's item; none on a global shard.
    events: u32,
}

#[derive(Debug, Clone)]
struct Transaction {
    writes: Vec<Write>,
    events: u32,
}

enum Invocation {
    Idle,
    Busy {
        transactions: VecDeque<Transaction>,
        oldest_arrival_ms: u64,
        next_at_ms: u64,
        attempt: u32,
    },
}

enum Attempt {
    Committed,
    Throttled,
    Conflicted,
    Refused,
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

#[derive(Default)]
struct Measured {
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

struct Simulation<'s> {
    scenario: &'s Scenario,
    sizes: ItemSizes,
    rng: fastrand::Rng,
    user_ids: Vec<Option<UserId>>,
    /// Events on each user's day item.
    applied: Vec<u32>,
    partitions: Vec<Partition>,
    table: Bucket,
    queue: VecDeque<Queued>,
    /// Events handed to an invocation and not yet committed or refused.
    in_flight: usize,
    next_sequence: u64,
    deltas: BTreeMap<Counter, i64>,
    measuring: bool,
    measured: Measured,
}

impl<'s> Simulation<'s> {
    fn new(scenario: &'s Scenario) -> Self {
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
            sizes: ItemSizes::from_billing_rules(),
            rng: fastrand::Rng::with_seed(scenario.seed),
            user_ids: vec![None; users],
            applied,
            partitions: vec![partition; users + shards],
            table: Bucket::empty(),
            queue: VecDeque::new(),
            in_flight: 0,
            next_sequence: 0,
            // A created task: the deltas do not change the modelled item sizes.
            deltas: BTreeMap::from([(Counter::Created, 1), (Counter::OpenNew, 1)]),
            measuring: false,
            measured: Measured::default(),
        }
    }

    fn users(&self) -> usize {
        self.applied.len()
    }

    fn next_user(&mut self) -> u32 {
        match self.scenario.load.hot_user {
            Some(hot) if self.rng.f64() < hot.share => 0,
            _ => self.rng.u32(0..self.users() as u32),
        }
    }

    fn user_id(&mut self, user: u32) -> UserId {
        self.user_ids[user as usize]
            .get_or_insert_with(|| {
                UserId::parse(&format!("{user:0>USER_ID_CHARS$}")).expect("a valid user id")
            })
            .clone()
    }

    /// Plans a batch with the consumer's planner and maps its writes to partitions.
    fn plan(&mut self, batch: &[Queued]) -> VecDeque<Transaction> {
        let day = model_day();
        let mut effects = Vec::with_capacity(batch.len());
        for queued in batch {
            self.next_sequence += 1;
            effects.push(EventEffect {
                event_id: event_id(queued.user, self.next_sequence),
                user: self.user_id(queued.user),
                day,
                deltas: self.deltas.clone(),
            });
        }
        let rng = &mut self.rng;
        let plans = plan_transactions(&effects, &self.scenario.limits, || rng.u32(..));
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
                    })
                    .collect();
                writes.extend(plan.globals.iter().map(|write| Write {
                    partition: users + write.shard as usize,
                    events: 0,
                }));
                Transaction {
                    events: writes.iter().map(|w| w.events).sum(),
                    writes,
                }
            })
            .collect()
    }

    /// Units of one write, or `None` when the user's item would grow past 400 KB.
    fn units(&self, write: Write) -> Option<usize> {
        if write.partition < self.users() {
            let after = self.applied[write.partition] + write.events;
            (self.sizes.user_item_bytes(after) <= MAX_ITEM_BYTES)
                .then(|| self.sizes.user_write_units(after))
        } else {
            Some(self.sizes.global_write_units())
        }
    }

    fn attempt(&mut self, transaction: &Transaction, now_ms: u64) -> Attempt {
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
                self.applied[write.partition] += write.events;
            }
        }
        Attempt::Committed
    }

    fn take_batch(&mut self, now_ms: u64) -> Option<Vec<Queued>> {
        let consumers = self.scenario.consumers;
        let oldest = self.queue.front()?;
        let full = self.queue.len() >= consumers.batch_size.max(1);
        if !full && now_ms - oldest.arrived_ms < consumers.batching_window_ms {
            return None;
        }
        let size = self.queue.len().min(consumers.batch_size.max(1));
        Some(self.queue.drain(..size).collect())
    }

    fn backoff_ms(&mut self, attempt: u32) -> u64 {
        let ceiling = (BACKOFF_BASE_MS << attempt.min(10)).min(BACKOFF_MAX_MS);
        self.rng.u64(1..=ceiling)
    }

    /// Moves one invocation as far as it gets at `now_ms`.
    fn step(&mut self, invocation: &mut Invocation, now_ms: u64) {
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

    fn run(mut self) -> RunReport {
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

    fn report(self, ran_away: bool, stopped_at_ms: u64) -> RunReport {
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
fn slope(samples: &[(f64, f64)]) -> f64 {
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

/// The rate a scenario allows by arithmetic alone, and which limit sets it. It assumes full
/// batches, evenly used shards and items at their starting size; the simulation adds what
/// it leaves out (uneven shard picks, retries, partial batches, growing items). For
/// transaction conflicts it is only the ceiling of one transaction per item per window: two
/// transactions colliding on any of their items cost far more, and only the simulation shows
/// how much.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub events_per_second: f64,
    pub binding: &'static str,
}

pub fn arithmetic_bound(scenario: &Scenario) -> Bound {
    let mut simulation = Simulation::new(scenario);
    let batch_size = scenario.consumers.batch_size.max(1);
    // Enough batches that a rare merge of two events of one user does not skew the average.
    let batches = (10_000 / batch_size).clamp(1, 100);
    let users = simulation.users();
    let shards = f64::from(scenario.limits.global_shards.max(1));
    let events = (batches * batch_size) as f64;

    // Units and writes on each user partition, and on each shard on average.
    let mut user_units: HashMap<usize, f64> = HashMap::new();
    let mut user_writes: HashMap<usize, f64> = HashMap::new();
    let mut global_writes = 0.0;
    let mut total_units = 0.0;
    let mut transactions = 0;
    for _ in 0..batches {
        let batch: Vec<Queued> = (0..batch_size)
            .map(|_| Queued {
                arrived_ms: 0,
                user: simulation.next_user(),
            })
            .collect();
        let planned = simulation.plan(&batch);
        transactions += planned.len();
        for write in planned.iter().flat_map(|t| &t.writes) {
            let units = simulation.units(*write).unwrap_or(0) as f64;
            total_units += units;
            if write.partition < users {
                *user_units.entry(write.partition).or_default() += units;
                *user_writes.entry(write.partition).or_default() += 1.0;
            } else {
                global_writes += 1.0;
            }
        }
    }
    let shard_units = global_writes * simulation.sizes.global_write_units() as f64 / shards;
    let hottest_units = user_units.values().copied().fold(shard_units, f64::max);
    let hottest_writes = user_writes
        .values()
        .copied()
        .fold(global_writes / shards, f64::max);

    let limits = scenario.table;
    let consumers = scenario.consumers;
    let batch_ms = consumers.invocation_overhead_ms as f64
        + transactions as f64 / batches as f64 * consumers.transaction_latency_ms as f64;
    let mut bounds = vec![
        (
            limits.partition_wcu_per_second * events / hottest_units,
            "hottest partition's WCU",
        ),
        (
            consumers.max_concurrency as f64 * batch_size as f64 * 1_000.0 / batch_ms,
            "consumer concurrency",
        ),
    ];
    if limits.conflict_window_ms > 0 {
        let writes_per_second = 1_000.0 / limits.conflict_window_ms as f64;
        bounds.push((
            writes_per_second * events / hottest_writes,
            "transaction conflicts, ceiling",
        ));
    }
    if let Some(per_second) = limits.table_wcu_per_second {
        bounds.push((per_second * events / total_units, "table write quota"));
    }
    let (events_per_second, binding) =
        bounds.into_iter().fold((f64::INFINITY, ""), |best, next| {
            if next.0 < best.0 { next } else { best }
        });
    Bound {
        events_per_second,
        binding,
    }
}

/// The highest offered rate found sustained, with the runs on either side of it.
#[derive(Debug, Clone, PartialEq)]
pub struct MaxRate {
    pub events_per_second: f64,
    /// The run at that rate.
    pub at_max: RunReport,
    /// The lowest rate found not sustained, if the search got above the highest one.
    pub above_max: Option<RunReport>,
    /// The search stopped at the cap while still sustained: the true maximum is higher.
    pub capped: bool,
    pub runs: usize,
}

/// Searches the highest sustained rate, to within 2 %, up to `cap` events/s: brackets it
/// around the arithmetic bound, then halves the bracket (geometrically).
pub fn max_sustained_rate(scenario: &Scenario, cap: f64) -> MaxRate {
    let mut runs = 0;
    let mut run_at = |rate: f64| {
        runs += 1;
        run(&scenario.at_rate(rate))
    };
    let estimate = arithmetic_bound(scenario).events_per_second.min(cap);
    let mut low = estimate * 0.7;
    let mut low_report = run_at(low);
    let mut high_report = None;
    while !low_report.sustained() {
        if low < 1.0 {
            return MaxRate {
                events_per_second: 0.0,
                at_max: low_report,
                above_max: None,
                capped: false,
                runs,
            };
        }
        high_report = Some((low, low_report));
        low /= 2.0;
        low_report = run_at(low);
    }
    if high_report.is_none() {
        let mut high = (estimate * 1.15).min(cap);
        loop {
            let report = run_at(high);
            if !report.sustained() {
                high_report = Some((high, report));
                break;
            }
            (low, low_report) = (high, report);
            if high >= cap {
                return MaxRate {
                    events_per_second: low,
                    at_max: low_report,
                    above_max: None,
                    capped: true,
                    runs,
                };
            }
            high = (high * 2.0).min(cap);
        }
    }
    let (mut high, mut high_run) = high_report.expect("bracketed above");
    while high / low > 1.0 + SEARCH_PRECISION {
        let middle = (low * high).sqrt();
        let report = run_at(middle);
        if report.sustained() {
            (low, low_report) = (middle, report);
        } else {
            (high, high_run) = (middle, report);
        }
    }
    MaxRate {
        events_per_second: low,
        at_max: low_report,
        above_max: Some(high_run),
        capped: false,
        runs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Short runs and a fleet large enough not to bind, for fast tests.
    fn scenario(events_per_second: f64, shards: u32, batch_size: usize) -> Scenario {
        let mut scenario = Scenario::new(events_per_second, shards, batch_size);
        scenario.consumers.max_concurrency = 200;
        scenario.warm_up_ms = 1_000;
        scenario.measured_ms = 2_000;
        scenario
    }

    #[test]
    fn item_sizes_follow_the_billing_rules() {
        let sizes = ItemSizes::from_billing_rules();
        assert_eq!(
            sizes.bytes_per_applied_event, 16,
            "one 16-byte id per event"
        );
        assert!(sizes.global_item_bytes < 1024, "{sizes:?}");
        assert_eq!(sizes.global_write_units(), 2);
        // The user's day item passes 1 KB after about fifty events (docs/data-model.md).
        let first_over_1kb = (0..).find(|n| sizes.user_item_bytes(*n) > 1024).unwrap();
        assert!((40..=55).contains(&first_over_1kb), "{first_over_1kb}");
        assert_eq!(sizes.user_write_units(first_over_1kb - 1), 2);
        assert_eq!(sizes.user_write_units(first_over_1kb), 4);
        // 400 KB: about 25,000 events of one user on one day.
        let full = (MAX_ITEM_BYTES - sizes.user_item_base_bytes) / 16;
        assert!((25_000..=25_700).contains(&full), "{full}");
    }

    #[test]
    fn one_shard_and_single_event_batches_sustain_about_500_events_per_second() {
        // Every event is one transaction writing the one global shard: 2 units of 1,000/s.
        let found = max_sustained_rate(&scenario(0.0, 1, 1), 1e7);
        assert!(
            (450.0..=530.0).contains(&found.events_per_second),
            "{found:#?}"
        );
        assert_eq!(found.at_max.hottest_partition, "GLOBAL#0/DAY#2026-11-26");
        assert!(found.at_max.hottest_partition_wcu_per_second <= 1_000.0);
        assert!(found.at_max.hottest_partition_wcu_per_second > 900.0);
    }

    #[test]
    fn enforcing_the_partition_limit_throttles_a_load_above_it() {
        let limited = run(&scenario(1_000.0, 1, 1));
        assert!(limited.throttled_transactions > 0, "{limited:#?}");
        assert!(!limited.bounded, "{limited:#?}");
        assert!(limited.hottest_partition_wcu_per_second <= 1_000.0);
        assert!(limited.applied_events_per_second < 520.0, "{limited:#?}");

        let mut unlimited = scenario(1_000.0, 1, 1);
        unlimited.table.partition_wcu_per_second = 1e12;
        let unlimited = run(&unlimited);
        assert_eq!(unlimited.throttled_transactions, 0);
        assert!(unlimited.bounded, "{unlimited:#?}");
        assert!(
            unlimited.applied_events_per_second > 980.0,
            "{unlimited:#?}"
        );
        assert!(unlimited.hottest_partition_wcu_per_second > 1_900.0);
    }

    #[test]
    fn shards_raise_the_limit_linearly_until_consumer_concurrency_binds() {
        // 100 invocations of 10 + 20 ms per single-event batch: at most 3,333 events/s, where
        // sixteen shards would allow 8,000.
        let rate = |shards| {
            let mut s = scenario(0.0, shards, 1);
            s.consumers.max_concurrency = 100;
            max_sustained_rate(&s, 1e7)
        };
        let one = rate(1).events_per_second;
        let two = rate(2).events_per_second;
        let four = rate(4).events_per_second;
        let sixteen = rate(16);
        assert!((1.8..=2.2).contains(&(two / one)), "{one} {two}");
        assert!((3.6..=4.4).contains(&(four / one)), "{one} {four}");
        assert!(
            (2_900.0..=3_400.0).contains(&sixteen.events_per_second),
            "{sixteen:#?}"
        );
        assert!(sixteen.at_max.mean_busy_consumers > 85.0, "{sixteen:#?}");
        assert!(sixteen.at_max.hottest_partition_wcu_per_second < 600.0);
    }

    #[test]
    fn the_real_planner_packs_a_batch_of_100_users_into_two_transactions() {
        // 99 user items and the global shard fill the first; the hundredth user needs a second.
        let report = run(&scenario(5_000.0, 1, 100));
        assert!(report.bounded, "{report:#?}");
        let per_event = report.transactions_per_second / report.applied_events_per_second;
        assert!((0.019..=0.022).contains(&per_event), "{per_event}");
        let bound = arithmetic_bound(&scenario(5_000.0, 1, 100));
        assert_eq!(bound.binding, "hottest partition's WCU");
        assert!(
            (24_000.0..=26_000.0).contains(&bound.events_per_second),
            "{bound:?}"
        );
    }

    #[test]
    fn one_busy_user_is_bound_by_its_own_items_partition() {
        // One user with 1,000 events on today's item already: ~16 KB, 34 units per write.
        let mut s = scenario(3_000.0, 10, 100);
        s.load.users = 1;
        s.load.already_applied_per_user = 1_000;
        let report = run(&s);
        assert!(!report.bounded, "{report:#?}");
        assert!(report.throttled_transactions > 0);
        assert_eq!(report.hottest_partition, "USER#0/DAY#2026-11-26");
        // The bucket may enter the measured window holding part of one write (< 200 units).
        assert!(
            report.hottest_partition_wcu_per_second <= 1_000.0 + 200.0 / 2.0,
            "{report:#?}"
        );
        assert!(
            report.hottest_partition_wcu_per_second > 900.0,
            "{report:#?}"
        );
        assert!(report.applied_events_per_second < 1_500.0, "{report:#?}");
    }

    #[test]
    fn a_user_item_is_refused_at_400_kb() {
        let mut s = scenario(200.0, 1, 10);
        s.load.users = 1;
        s.load.already_applied_per_user = 25_580;
        let report = run(&s);
        assert!(report.refused_events > 0, "{report:#?}");
        assert!(!report.sustained());
        assert!(report.largest_user_item_bytes <= MAX_ITEM_BYTES);
    }

    #[test]
    fn the_table_quota_binds_when_enforced() {
        // Single-event batches over 32 shards: 2 units on the user, 2 on a shard per event.
        let mut s = scenario(1_000.0, 32, 1);
        s.table.table_wcu_per_second = Some(1_000.0);
        let report = run(&s);
        assert!(report.throttled_transactions > 0);
        assert!(report.table_wcu_per_second <= 1_000.0 * 1.01, "{report:#?}");
        assert!(
            (230.0..=255.0).contains(&report.applied_events_per_second),
            "{report:#?}"
        );
    }

    #[test]
    fn a_run_is_deterministic_for_its_seed() {
        let s = scenario(2_000.0, 2, 10);
        assert_eq!(run(&s), run(&s));
        let mut other = s.clone();
        other.seed = 2;
        assert_ne!(run(&s).max_event_age_ms, 0);
        assert_ne!(run(&s), run(&other));
    }
}
