//! The rebuild of a projection on AWS, in two functions over a queue:
//!
//! - [`coordinator`]: an operator's [`command`] (`start`, `status`, `verify`, `activate`,
//!   `abandon`, `retire`) in, an [`answer`] out; `start` enqueues one [`work_item`] per
//!   pending archive partition on the rebuild queue, delayed by the rest of the settle time;
//! - [`worker`]: the rebuild queue's batches in, each partition backfilled into the building
//!   version, partial batch failures out.
//!
//! Both call the steps of `taskpulse_app::rebuild`, as the local stack's one-process rebuild
//! does; [`settings`] come from the environment the template sets.

pub mod answer;
pub mod command;
pub mod coordinator;
pub mod settings;
pub mod work_item;
pub mod worker;

pub use answer::Answer;
pub use command::Command;
pub use coordinator::{Coordinator, CoordinatorError, handle_command};
pub use settings::{CoordinatorSettings, WorkerSettings};
pub use work_item::PartitionWork;
pub use worker::{WorkSummary, Worker, handle_work};

#[cfg(test)]
mod tests;
