//! The local stack: the whole system on one machine, as `cargo run` starts it.

pub mod event_source_mapping;
pub mod queue;
pub mod server;
pub mod stack;
