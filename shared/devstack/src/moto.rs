//! A moto server on a free 127.0.0.1 port, from a project-local virtualenv that is created and
//! filled from the pinned `tests/requirements.txt` on first use.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;

use crate::DevstackError;
use crate::process::{Service, free_port};

/// How long moto may take to accept connections (it is usually ready in half a second).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The workspace root: the devstack crate lives in `<root>/shared/devstack`.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The project-local virtualenv with the pinned Python tools (moto, cargo-lambda).
#[derive(Debug, Clone)]
pub struct PythonTools {
    venv: PathBuf,
}

impl PythonTools {
    /// Creates `.venv` at the workspace root and installs `tests/requirements.txt` into it,
    /// unless it already holds exactly those requirements. Safe to call from parallel tests
    /// and processes: installs are serialised by a file lock.
    pub fn ensure() -> Result<Self, DevstackError> {
        let root = workspace_root();
        let venv = std::env::var_os("TASKPULSE_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".venv"));
        let requirements_path = root.join("tests/requirements.txt");
        let requirements = fs::read_to_string(&requirements_path)
            .map_err(|e| DevstackError::io(&requirements_path, e))?;
        let stamp_path = venv.join(".taskpulse-requirements");
        let installed =
            |stamp: &Path| fs::read_to_string(stamp).ok().as_deref() == Some(&*requirements);

        if !installed(&stamp_path) {
            fs::create_dir_all(&venv).map_err(|e| DevstackError::io(&venv, e))?;
            let lock_path = venv.join(".taskpulse-install.lock");
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| DevstackError::io(&lock_path, e))?;
            lock.lock().map_err(|e| DevstackError::io(&lock_path, e))?;
            // Another process may have finished the install while this one waited.
            if !installed(&stamp_path) {
                install(&venv, &requirements_path)?;
                fs::write(&stamp_path, &requirements)
                    .map_err(|e| DevstackError::io(&stamp_path, e))?;
            }
        }
        Ok(Self { venv })
    }

    pub fn bin_dir(&self) -> PathBuf {
        self.venv.join("bin")
    }
}

fn run(command: &mut Command, what: &str) -> Result<(), DevstackError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| DevstackError::Tool(format!("{what}: cannot start: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    Err(DevstackError::Tool(format!(
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )))
}

fn install(venv: &Path, requirements: &Path) -> Result<(), DevstackError> {
    eprintln!(
        "devstack: installing {} into {} (first run only)",
        requirements.display(),
        venv.display()
    );
    if !venv.join("bin/python").exists() {
        run(
            Command::new("python3").arg("-m").arg("venv").arg(venv),
            "python3 -m venv",
        )?;
    }
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(requirements),
        "pip install",
    )
}

/// A running moto server, stopped (and all its state gone) when dropped.
#[derive(Debug)]
pub struct MotoServer {
    service: Service,
}

impl MotoServer {
    /// Starts moto on a free 127.0.0.1 port and waits until it accepts connections.
    pub fn start() -> Result<Self, DevstackError> {
        let tools = PythonTools::ensure()?;
        // The port is free when chosen but could be taken before moto binds it: try again then.
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port()?;
            // One request at a time, as DynamoDB applies each request atomically (see the script).
            let mut command = Command::new(tools.bin_dir().join("python"));
            command
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("moto_one_request_at_a_time.py"))
                .args(["127.0.0.1", &port.to_string()]);
            let mut service = Service::spawn("moto", port, &mut command)?;
            match service.wait_listening(READY_TIMEOUT) {
                Ok(()) => return Ok(Self { service }),
                Err(e) => {
                    let _ = service.child.kill();
                    let _ = service.child.wait();
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| DevstackError::Tool("moto did not start".into())))
    }

    pub fn port(&self) -> u16 {
        self.service.port
    }

    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.service.port)
    }

    /// SDK configuration pointing every client at this server, with moto's dummy credentials.
    /// Built explicitly rather than from process environment so parallel tests stay apart.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_for(&self.endpoint_url()).await
    }
}

/// SDK configuration for an AWS-protocol endpoint that accepts any credentials (moto, LocalStack).
pub async fn sdk_config_for(endpoint_url: &str) -> SdkConfig {
    taskpulse_aws::sdk::config_loader()
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint_url)
        .credentials_provider(Credentials::new("test", "test", None, None, "devstack"))
        .load()
        .await
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.service.child.kill();
        let _ = self.service.child.wait();
        self.service.remove_log();
    }
}
