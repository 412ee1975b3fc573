//! Why the local stack cannot start.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(
        "cannot listen on {addr}: the port is already in use (stop the other process or pass --port)"
    )]
    PortInUse { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("configuration: {0}")]
    Config(String),
    #[error("{what} is unreachable or missing at {endpoint}: {detail}")]
    Unreachable {
        what: String,
        endpoint: String,
        detail: String,
    },
    #[error(transparent)]
    Devstack(#[from] taskpulse_devstack::DevstackError),
}
