//! The command line of `taskpulse simulate`.

use taskpulse_local::event_source_mapping::DeliveryChaos;

#[derive(Debug, Clone, clap::Args)]
pub struct SimulateOptions {
    /// The stack's base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// Simulated users.
    #[arg(long, default_value_t = 20)]
    pub users: usize,
    /// Tasks, spread over the users.
    #[arg(long, default_value_t = 200)]
    pub tasks: usize,
    /// Tasks in progress at once (each sends its commands in order).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Commands per second at most (unlimited when absent), spread evenly over time.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seed of the workload (random when absent; printed for reruns).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Share (0 to 0.9) of processed messages the local event source mapping delivers again.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate_rate: f64,
    /// Shuffle the records of every batch.
    #[arg(long)]
    pub reorder: bool,
    /// Malformed messages to put on the queue; each must end in the dead-letter queue.
    #[arg(long, default_value_t = 0)]
    pub poison: usize,
    /// Shorthand for --duplicate-rate 0.25 --reorder --poison 5.
    #[arg(long)]
    pub chaos: bool,
    /// How long to wait for the counters (and dead letters) to reach the recount.
    #[arg(long, default_value_t = 120)]
    pub settle_timeout_secs: u64,
    /// Rebuild the analytics with this projection (e.g. `tasks-by-priority`) from the event
    /// archive while the traffic runs, activate it, and check every read on the way (needs the
    /// local stack's `/_local/rebuild`).
    #[arg(long)]
    pub rebuild: Option<String>,
    /// Share of the commands sent before the rebuild starts.
    #[arg(long, default_value_t = 0.25)]
    pub rebuild_at: f64,
    /// Erase the last simulated user while the traffic runs (`DELETE /me`): its later commands
    /// are refused and end its tasks; the erasure must complete, the user stay refused, and
    /// the global analytics still equal the recount of every user's accepted commands.
    #[arg(long)]
    pub erase: bool,
    /// Share of the commands sent before the erasure is asked for.
    #[arg(long, default_value_t = 0.5)]
    pub erase_at: f64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl SimulateOptions {
    pub(crate) fn delivery(&self) -> DeliveryChaos {
        if self.chaos {
            DeliveryChaos {
                duplicate_rate: self.duplicate_rate.max(0.25),
                reorder: true,
            }
        } else {
            DeliveryChaos {
                duplicate_rate: self.duplicate_rate,
                reorder: self.reorder,
            }
        }
    }

    pub(crate) fn poison_count(&self) -> usize {
        if self.chaos {
            self.poison.max(5)
        } else {
            self.poison
        }
    }
}
