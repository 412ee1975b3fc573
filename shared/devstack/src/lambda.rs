//! The Lambda runtime emulator of cargo-lambda (`cargo lambda watch`), started on a free
//! 127.0.0.1 port, and `cargo lambda invoke` against it: the function binaries run under the
//! real `lambda_runtime` loop, exactly as on AWS, fed the files in `events/`.

use std::fs::{self, File};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::DevstackError;
use crate::moto::{PythonTools, workspace_root};

/// `cargo lambda watch` compiles nothing before the first invoke; it listens within seconds.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `cargo lambda watch`, stopped with all the function processes it started when
/// dropped.
#[derive(Debug)]
pub struct LambdaEmulator {
    child: Child,
    port: u16,
    bin_dir: PathBuf,
    log_path: PathBuf,
}

fn free_port() -> Result<u16, DevstackError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| DevstackError::Tool(format!("no free port on 127.0.0.1: {e}")))
}

fn path_with(bin_dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![bin_dir.to_path_buf()];
    if let Some(existing) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

impl LambdaEmulator {
    /// Starts the emulator in the workspace; `env` is passed to every function it runs.
    pub fn start(env: &[(&str, String)]) -> Result<Self, DevstackError> {
        let tools = PythonTools::ensure()?;
        let bin_dir = tools.bin_dir();
        let port = free_port()?;
        // Outside every crate folder, or the emulator would rebuild on each log line.
        let log_dir = workspace_root().join("target/devstack");
        fs::create_dir_all(&log_dir).map_err(|e| DevstackError::io(&log_dir, e))?;
        let log_path = log_dir.join(format!("cargo-lambda-{port}.log"));
        let log = File::create(&log_path).map_err(|e| DevstackError::io(&log_path, e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| DevstackError::io(&log_path, e))?;
        let mut command = Command::new("cargo");
        command
            .current_dir(workspace_root())
            .env("PATH", path_with(&bin_dir))
            .args([
                "lambda",
                "watch",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ]);
        for (name, value) in env {
            command.arg("--env-var").arg(format!("{name}={value}"));
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own process group, so that stopping it stops the functions it spawned.
            .process_group(0)
            .spawn()
            .map_err(|e| DevstackError::Tool(format!("cannot start cargo lambda watch: {e}")))?;
        let mut emulator = Self {
            child,
            port,
            bin_dir,
            log_path,
        };
        emulator.wait_ready()?;
        Ok(emulator)
    }

    fn wait_ready(&mut self) -> Result<(), DevstackError> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(DevstackError::Tool(format!(
                    "cargo lambda watch exited ({status}):\n{}",
                    self.log()
                )));
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(DevstackError::Tool(format!(
                    "cargo lambda watch did not listen on {address} within {READY_TIMEOUT:?}:\n{}",
                    self.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the emulator and the functions printed so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log_path) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// Invokes `function` with the event in `data_file` through `cargo lambda invoke` and
    /// returns the function's JSON response. The first invoke of a function builds it.
    pub fn invoke(
        &self,
        function: &str,
        data_file: &Path,
    ) -> Result<serde_json::Value, DevstackError> {
        let output = Command::new("cargo")
            .current_dir(workspace_root())
            .env("PATH", path_with(&self.bin_dir))
            .args([
                "lambda",
                "invoke",
                function,
                "-A",
                "127.0.0.1",
                "-P",
                &self.port.to_string(),
            ])
            .arg("--data-file")
            .arg(data_file)
            .args(["--output-format", "json"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| DevstackError::Tool(format!("cannot run cargo lambda invoke: {e}")))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(DevstackError::Tool(format!(
                "cargo lambda invoke {function} {} failed ({}):\n{stdout}{}\n--- emulator log ---\n{}",
                data_file.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr),
                self.log()
            )));
        }
        serde_json::from_str(stdout.trim()).map_err(|e| {
            DevstackError::Tool(format!(
                "cargo lambda invoke {function} printed no JSON ({e}): {stdout}"
            ))
        })
    }
}

impl Drop for LambdaEmulator {
    fn drop(&mut self) {
        // SIGTERM to the whole group: the emulator and every function process it started.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = fs::remove_file(&self.log_path);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}
