//! A helper process serving on a port of 127.0.0.1 (or of another local address: Docker's
//! bridge, for containers), with its output in a log file under `target/devstack` (outside
//! every crate folder, so no file watcher reacts to it).

use std::fs::{self, File};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::DevstackError;
use crate::python_tools::workspace_root;

/// A port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> Result<u16, DevstackError> {
    free_port_on(Ipv4Addr::LOCALHOST)
}

/// A port on `host` (an address of this machine) that was free a moment ago.
pub(crate) fn free_port_on(host: Ipv4Addr) -> Result<u16, DevstackError> {
    TcpListener::bind((host, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| DevstackError::Tool(format!("no free port on {host}: {e}")))
}

#[derive(Debug)]
pub(crate) struct Service {
    pub child: Child,
    pub host: Ipv4Addr,
    pub port: u16,
    name: &'static str,
    log_path: PathBuf,
}

impl Service {
    /// Spawns `command` (which must serve on 127.0.0.1:`port`), its output going to the log file.
    pub fn spawn(
        name: &'static str,
        port: u16,
        command: &mut Command,
    ) -> Result<Self, DevstackError> {
        Self::spawn_on(name, Ipv4Addr::LOCALHOST, port, command)
    }

    /// Spawns `command` (which must serve on `host`:`port`), its output going to the log file.
    pub fn spawn_on(
        name: &'static str,
        host: Ipv4Addr,
        port: u16,
        command: &mut Command,
    ) -> Result<Self, DevstackError> {
        let log_dir = workspace_root().join("target/devstack");
        fs::create_dir_all(&log_dir).map_err(|e| DevstackError::io(&log_dir, e))?;
        let log_path = log_dir.join(format!("{name}-{port}.log"));
        let log = File::create(&log_path).map_err(|e| DevstackError::io(&log_path, e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| DevstackError::io(&log_path, e))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| DevstackError::Tool(format!("cannot start {name}: {e}")))?;
        Ok(Self {
            child,
            host,
            port,
            name,
            log_path,
        })
    }

    /// Waits until the port accepts connections; fails with the log if the process exits or
    /// `timeout` passes first.
    pub fn wait_listening(&mut self, timeout: Duration) -> Result<(), DevstackError> {
        let address = SocketAddr::from((self.host, self.port));
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(DevstackError::Tool(format!(
                    "{} exited ({status}) before it was ready:\n{}",
                    self.name,
                    self.log()
                )));
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(DevstackError::Tool(format!(
                    "{} did not listen on {address} within {timeout:?}:\n{}",
                    self.name,
                    self.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the process printed so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log_path) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    pub fn remove_log(&self) {
        let _ = fs::remove_file(&self.log_path);
    }
}
