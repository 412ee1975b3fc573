//! `taskpulse serve`: binds the port, builds the chosen backend, and runs the HTTP server, the
//! event source mapping's pollers and the relay until Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;

use taskpulse_devstack::{CONSUMER_FUNCTION, Template};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::archive::{DirectoryArchive, LocalArchive};
use crate::backend::{AnalyticsTable, Backend, SdkResources, TaskTable};
use crate::error::StackError;
use crate::options::{BackendKind, ServeOptions};
use crate::queue::EventQueue;
use crate::server;

/// Binds the HTTP port, telling a port in use apart from other failures.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, StackError> {
    TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            StackError::PortInUse { addr }
        } else {
            StackError::Listen { addr, source }
        }
    })
}

/// Ctrl-C (SIGINT) and SIGTERM, caught from the moment this is made: the stack makes it
/// before it says it is listening, so a signal sent as soon as the address is printed stops
/// the stack cleanly instead of killing it.
struct ShutdownSignal {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl ShutdownSignal {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signals = signal(SignalKind::interrupt())
                .and_then(|interrupt| Ok((interrupt, signal(SignalKind::terminate())?)))
                .ok();
            Self { signals }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Resolves on the first of the signals.
    async fn received(self) {
        #[cfg(unix)]
        if let Some((mut interrupt, mut terminate)) = self.signals {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Starts the stack, serves until Ctrl-C, then stops taking requests, lets the pollers finish
/// the batches they hold, and prints what the consumer did.
pub async fn serve(options: ServeOptions) -> Result<(), StackError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], options.port));
    // The port first: a port in use is the most common start-up failure, and cheap to find.
    let listener = bind(addr).await?;
    let addr = listener
        .local_addr()
        .map_err(|source| StackError::Listen { addr, source })?;
    let socket = ServerSocket {
        listener,
        addr,
        max_connections: options.max_connections as usize,
    };
    let kind = options
        .backend
        .unwrap_or_else(BackendKind::from_environment);
    if kind == BackendKind::Moto {
        println!("Starting moto (first run installs it into .venv, about a minute)...");
    } else if options.sam_env_vars.is_some() || !options.moto_host.is_loopback() {
        return Err(StackError::Config(
            "--moto-host and --sam-env-vars apply to the moto backend (--backend moto)".into(),
        ));
    }
    let template = Template::load_project()?.consumer_mapping(CONSUMER_FUNCTION)?;
    let overrides = &options.mapping;
    // The one place that picks the adapters; everything after it is written once.
    match kind {
        BackendKind::Embedded => {
            let archive = match &options.archive_dir {
                Some(dir) => LocalArchive::Directory(DirectoryArchive::new(dir)),
                None => LocalArchive::Memory(Default::default()),
            };
            run(Backend::embedded(&template, overrides, archive)?, socket).await;
        }
        BackendKind::Aws => {
            let resources = SdkResources::from_environment().await?;
            run(
                Backend::sdk(kind, resources, &template, overrides, None).await?,
                socket,
            )
            .await;
        }
        BackendKind::Moto => {
            let stack = taskpulse_devstack::Stack::start_on(options.moto_host).await?;
            if let Some(path) = &options.sam_env_vars {
                write_sam_env_vars(&stack, path)?;
            }
            let resources = SdkResources::on_moto(&stack)?;
            run(
                Backend::sdk(kind, resources, &template, overrides, Some(stack)).await?,
                socket,
            )
            .await;
        }
    }
    Ok(())
}

/// Where the stack listens, and how many connections it keeps open at once.
struct ServerSocket {
    listener: TcpListener,
    addr: SocketAddr,
    max_connections: usize,
}

/// Serves on `socket` until Ctrl-C, with the pollers and the relay running beside it.
async fn run<T: TaskTable, Q: EventQueue, C: AnalyticsTable>(
    backend: Backend<T, Q, C>,
    socket: ServerSocket,
) {
    let ServerSocket {
        listener,
        addr,
        max_connections,
    } = socket;
    let backend = Arc::new(backend);
    let settings = &backend.mapping.settings;
    let url = format!("http://{addr}");
    println!("taskpulse local stack");
    println!("  backend    {}", backend.description);
    println!("  API        {url}  (the API Lambda's handler, as API Gateway would call it)");
    println!("  dashboard  {url}/  (live analytics in the browser)");
    println!("  health     {url}/health");
    println!(
        "  identity   header X-Local-User: <user id>; add X-Local-Scopes: analytics:read for /analytics/global"
    );
    println!(
        "  consumer   batches of up to {} records, window {} ms, {} pollers, visibility timeout {} s, retries until the dead-letter queue",
        settings.batch_size,
        settings.batching_window.as_millis(),
        settings.concurrency,
        settings.visibility_timeout.as_secs(),
    );
    println!(
        "  try        curl -s -X POST {url}/tasks -H 'X-Local-User: ana' -H 'Content-Type: application/json' \\"
    );
    println!(
        "               -d '{{\"title\":\"Write report\",\"plannedAccomplishDate\":\"2030-01-01T17:00:00Z\"}}'"
    );
    println!("             curl -s {url}/analytics/me -H 'X-Local-User: ana'");
    println!("  traffic    cargo run -- simulate --url {url}");
    println!(
        "  rebuild    cargo run -- rebuild --url {url}  (the analytics from the event archive)"
    );
    let shutdown = ShutdownSignal::install();
    println!("listening on {url} - press Ctrl-C to stop");

    let (stop_tx, stop) = watch::channel(false);
    let pollers = backend.mapping.start(stop.clone());
    let relay = tokio::spawn(Arc::clone(&backend).run_relay(stop.clone()));
    let eraser = tokio::spawn(Arc::clone(&backend).run_eraser(stop.clone()));
    let server = tokio::spawn(server::serve(
        listener,
        Arc::clone(&backend),
        max_connections,
        stop,
    ));

    shutdown.received().await;
    println!("\nStopping: no new requests; finishing the batches in progress...");
    let _ = stop_tx.send(true);
    let _ = server.await;
    for poller in pollers {
        let _ = poller.await;
    }
    let _ = relay.await;
    let _ = eraser.await;
    let stats = backend.mapping.stats.snapshot();
    println!(
        "Consumer: {} invocations, {} records, {} events applied, {} duplicates skipped, {} poison, {} failed writes",
        stats.invocations,
        stats.records,
        stats.applied,
        stats.duplicates,
        stats.poison,
        stats.failed_writes
    );
    if let Ok(depth) = backend.mapping.queue.depth().await {
        let dead = depth
            .dead_letters
            .map_or_else(|| "?".into(), |n| n.to_string());
        println!(
            "Queue: {} waiting, {} in flight, {dead} dead letters{}",
            depth.visible,
            depth.in_flight,
            if backend.kind == BackendKind::Aws {
                ""
            } else {
                " (discarded with the local state)"
            }
        );
    }
    println!("Stopped.");
}

/// Writes the `--env-vars` file of `sam local` for the stack's resources (see
/// `scripts/sam-local.sh`): functions run by SAM then share this stack's tables and queues.
fn write_sam_env_vars(
    stack: &taskpulse_devstack::Stack,
    path: &std::path::Path,
) -> Result<(), StackError> {
    let env_vars = taskpulse_devstack::sam_env_vars(stack)?;
    let text = serde_json::to_string_pretty(&env_vars).unwrap_or_default();
    std::fs::write(path, text)
        .map_err(|e| StackError::Config(format!("cannot write {}: {e}", path.display())))?;
    println!("sam local --env-vars: {}", path.display());
    Ok(())
}
