//! What one run of the model found.

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
