//! The integration tests, in one binary with a module per area: the task commands, the
//! consumer and the whole pipeline against moto, the sample events in process and through the
//! Lambda runtime emulator, the local stack as a process, and the checks on `template.yaml`
//! and the routes. What they share is in `taskpulse-testkit` (`shared/testkit`).
//!
//! The tests run in parallel threads of this one process: none changes the process's
//! environment or working directory, each starts its own moto server (and any other server)
//! on a port of its own, and a port that must stay closed is held by `ClosedPort`.

mod archive_sql;
mod commands;
mod consumer;
mod dashboard;
mod erasure;
mod events;
mod hostile_http;
mod lambda_runtime;
mod local_stack;
mod pipeline;
mod rebuild;
mod routes;
mod sam_local;
mod template;
