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
//!   ([`plan_transactions_knowing`], knowing the inline set sizes) and sends the
//!   transactions one after another, as `apply_events` does;
//! - every item a transaction writes takes write units from the token bucket of its partition
//!   (1,000 WCU/s). If any item lacks them the whole transaction is cancelled (throttled) and
//!   sent again after the consumer's jittered backoff;
//! - write units follow `taskpulse_aws::capacity`: two per started KB of the item after the
//!   update (the larger of old and new, and the day item only grows). A user's day item grows
//!   by 16 bytes per inline marker (`appliedEvents`, at most 32 of a day; an item written
//!   before the cap may hold more), so its units are modelled from its size; every later
//!   event adds an overflow marker item (2 units) in the user's partition; a global shard item
//!   holds only counters.
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

mod bounds;
mod items;
mod report;
mod scenario;
mod simulation;
#[cfg(test)]
mod tests;

pub use bounds::{Bound, MaxRate, arithmetic_bound, max_sustained_rate};
pub use items::ItemSizes;
pub use report::RunReport;
pub use scenario::{Consumers, HotUser, Load, Scenario, TableLimits};
pub use simulation::run;

/// The write limit of one DynamoDB partition, in provisioned and on-demand mode alike.
pub const PARTITION_WCU_PER_SECOND: f64 = 1_000.0;
/// The default table-level write quota of an on-demand table (adjustable on request).
pub const DEFAULT_TABLE_WCU_PER_SECOND: f64 = 40_000.0;
/// DynamoDB refuses an item larger than this.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// A user id as long as a Cognito `sub` (a UUID), for the item sizes.
pub(crate) const USER_ID_CHARS: usize = 36;

/// The backlog is sampled this often to judge whether it grows.
pub(crate) const SAMPLE_EVERY_MS: u64 = 10;
/// A run is sustained while its backlog grows by at most this share of the offered rate:
/// batches and retries make the backlog jitter by a few batches, never more.
pub(crate) const TOLERATED_BACKLOG_GROWTH: f64 = 0.01;
/// The search for the highest sustained rate stops when the bracket is this narrow.
pub(crate) const SEARCH_PRECISION: f64 = 0.02;
