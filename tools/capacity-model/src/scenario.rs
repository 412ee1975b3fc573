//! What a run of the model simulates: the load, the consumers and the table limits.

use taskpulse_app::PlanLimits;
use taskpulse_domain::analytics::Projection;

use crate::{ItemSizes, PARTITION_WCU_PER_SECOND};

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
    /// The sizes of the items written, from the projection counted.
    pub sizes: ItemSizes,
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
            sizes: ItemSizes::from_billing_rules(),
            warm_up_ms: 1_500,
            measured_ms: 3_000,
            seed: 1,
        }
    }

    /// The same deployment and load, writing the items of `projection`.
    pub fn counting(&self, projection: Projection) -> Self {
        let mut scenario = self.clone();
        scenario.sizes = ItemSizes::counting(projection);
        scenario
    }

    pub(crate) fn at_rate(&self, events_per_second: f64) -> Self {
        let mut scenario = self.clone();
        scenario.load.events_per_second = events_per_second;
        scenario
    }
}
