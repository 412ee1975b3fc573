//! `taskpulse`: the whole system on one machine.
//!
//! - `taskpulse` / `taskpulse serve`: the local stack on 127.0.0.1 (see `stack`), embedded by
//!   default, on moto or AWS on request;
//! - `taskpulse simulate`: realistic traffic through the HTTP API, checked against its own
//!   recount of what it sent;
//! - `taskpulse rebuild`: the running stack's analytics rebuilt from its event archive.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use taskpulse_local::ServeOptions;
use taskpulse_local::rebuild_command::{self, RebuildOptions};
use taskpulse_simulator::{self as simulator, SimulateOptions};

#[derive(Parser)]
#[command(
    name = "taskpulse",
    version,
    about = "taskpulse on one machine: the local stack and a traffic simulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Options of `serve`, which runs when no command is given.
    #[command(flatten)]
    serve: ServeOptions,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the local stack (the default).
    Serve(ServeOptions),
    /// Drives traffic through a running stack and checks the counters it ends with.
    Simulate(SimulateOptions),
    /// Rebuilds a running stack's analytics from its event archive into a new projection
    /// version, verifies it and activates it.
    Rebuild(RebuildOptions),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("taskpulse: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Some(Command::Simulate(options)) => match simulator::run(options).await {
                Ok(report) if report.passed() => ExitCode::SUCCESS,
                Ok(_) => ExitCode::from(1),
                Err(error) => {
                    eprintln!("taskpulse simulate: {error}");
                    ExitCode::from(2)
                }
            },
            Some(Command::Rebuild(options)) => match rebuild_command::run(options).await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(error) => {
                    eprintln!("taskpulse rebuild: {error}");
                    ExitCode::from(2)
                }
            },
            Some(Command::Serve(options)) => serve(options).await,
            None => serve(cli.serve).await,
        }
    })
}

async fn serve(options: ServeOptions) -> ExitCode {
    match taskpulse_local::serve(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("taskpulse: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Warnings and errors on stderr; `RUST_LOG` for more (e.g. `RUST_LOG=debug`).
fn init_logs() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
