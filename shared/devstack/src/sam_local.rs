//! SAM CLI's local emulators on the functions `sam build` made (`.aws-sam/build`: the arm64
//! bootstraps that deploy):
//! - `sam local start-lambda`: Lambda's Invoke API on 127.0.0.1, each function in one warm
//!   container that serves all its invocations (a container start under arm64 emulation costs
//!   seconds, an invocation a fraction of one);
//! - `sam local start-api`: API Gateway's HTTP API in front of the API function;
//! - `sam local invoke`: one container for one event, as a developer runs it.
//!
//! Docker, arm64 emulation and the invocation image are `scripts/sam-local.sh`'s part; SAM CLI
//! is the pinned one in `.venv-sam`. Every wait is bounded and every failure carries what SAM
//! printed.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use http::Method;

use crate::DevstackError;
use crate::bounded_http::send;
use crate::process::{Service, free_port};
use crate::python_tools::workspace_root;

/// SAM CLI starts its emulators in a few seconds (Python imports, reading the template).
const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// The first invocation of a function builds SAM's image on the invocation image and starts a
/// container (seconds under emulation); the function's own timeout (10 s) bounds the rest.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);
/// SAM stops its warm containers when asked to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// What every SAM command here is run with.
#[derive(Debug, Clone)]
pub struct SamSettings {
    /// `--invoke-image`: the official `provided.al2023` image or the project's stand-in.
    pub invoke_image: String,
    /// `--env-vars`: a file of variables for the functions (the resources on moto).
    pub env_vars: PathBuf,
    /// `--parameter-overrides` for the template's parameters without a default.
    pub parameters: Vec<(String, String)>,
}

impl SamSettings {
    fn sam() -> Result<PathBuf, DevstackError> {
        let sam = workspace_root().join(".venv-sam/bin/sam");
        if sam.exists() {
            Ok(sam)
        } else {
            Err(DevstackError::Tool(format!(
                "{} is missing: run scripts/sam-local.sh (it installs SAM CLI)",
                sam.display()
            )))
        }
    }

    fn built_template() -> Result<PathBuf, DevstackError> {
        let template = workspace_root().join(".aws-sam/build/template.yaml");
        if template.exists() {
            Ok(template)
        } else {
            Err(DevstackError::Tool(format!(
                "{} is missing: run `sam build` first (scripts/deploy-checks.sh does)",
                template.display()
            )))
        }
    }

    /// `sam local <subcommand> [<function>]` with the built template and these settings. The
    /// function comes first: `--parameter-overrides` takes every word after it.
    fn command(&self, subcommand: &str, function: Option<&str>) -> Result<Command, DevstackError> {
        let mut command = Command::new(Self::sam()?);
        command
            .current_dir(workspace_root())
            .args(["local", subcommand])
            .args(function)
            .arg("--template")
            .arg(Self::built_template()?)
            .args(["--invoke-image", &self.invoke_image, "--skip-pull-image"])
            .arg("--env-vars")
            .arg(&self.env_vars)
            // Offline: no telemetry, a region, and credentials that reach no account.
            .env("SAM_CLI_TELEMETRY", "0")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "offline")
            .env("AWS_SECRET_ACCESS_KEY", "offline")
            .stdin(Stdio::null());
        if !self.parameters.is_empty() {
            let overrides: Vec<String> = self
                .parameters
                .iter()
                .map(|(name, value)| format!("ParameterKey={name},ParameterValue={value}"))
                .collect();
            command.args(["--parameter-overrides", &overrides.join(" ")]);
        }
        Ok(command)
    }
}

/// A running `sam local start-lambda` or `start-api`, stopped with its containers when dropped.
#[derive(Debug)]
pub struct SamEmulator {
    service: Service,
}

impl SamEmulator {
    /// `sam local start-lambda` on a free 127.0.0.1 port, containers kept warm.
    pub fn start_lambda(settings: &SamSettings) -> Result<Self, DevstackError> {
        Self::start("start-lambda", settings)
    }

    /// `sam local start-api` on a free 127.0.0.1 port, containers kept warm.
    pub fn start_api(settings: &SamSettings) -> Result<Self, DevstackError> {
        Self::start("start-api", settings)
    }

    fn start(subcommand: &'static str, settings: &SamSettings) -> Result<Self, DevstackError> {
        let port = free_port()?;
        let mut command = settings.command(subcommand, None)?;
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--warm-containers", "LAZY"])
            // Its own process group: stopping it reaches everything it started.
            .process_group(0);
        let mut service = Service::spawn(
            if subcommand == "start-api" {
                "sam-start-api"
            } else {
                "sam-start-lambda"
            },
            port,
            &mut command,
        )?;
        let ready = service.wait_listening(READY_TIMEOUT);
        let emulator = Self { service };
        ready?;
        Ok(emulator)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.service.port)
    }

    /// What SAM and the functions printed so far.
    pub fn log(&self) -> String {
        self.service.log()
    }

    /// Invokes `function` (the template's logical id) with `event` through Lambda's Invoke
    /// API, as `aws lambda invoke --endpoint-url` would; the function's JSON response, or its
    /// error with SAM's log.
    pub async fn invoke(
        &self,
        function: &str,
        event: &[u8],
    ) -> Result<serde_json::Value, DevstackError> {
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.url());
        let failed = |detail: String| {
            DevstackError::Tool(format!(
                "invoking {function} through sam local start-lambda: {detail}\n--- sam ---\n{}",
                self.log()
            ))
        };
        let answer = send(Method::POST, &url, &[], event.to_vec(), INVOKE_TIMEOUT)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !answer.status.is_success() || answer.headers.contains_key("x-amz-function-error") {
            return Err(failed(format!(
                "{}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            )));
        }
        answer.json().map_err(|e| failed(e.to_string()))
    }
}

impl Drop for SamEmulator {
    fn drop(&mut self) {
        if stop_group(&mut self.service.child) {
            self.service.remove_log();
        }
    }
}

/// Stops a SAM process and its group: SIGTERM first, which lets SAM stop and remove its
/// containers, SIGKILL after [`STOP_TIMEOUT`]. Whether it stopped on SIGTERM.
fn stop_group(child: &mut std::process::Child) -> bool {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = child.wait();
    false
}

/// `sam local invoke <function> --event <event>`: one container for one event. The function's
/// JSON response (SAM prints it on stdout), or what SAM printed when it gives none within
/// [`INVOKE_TIMEOUT`] or the function failed (`errorType`, `errorMessage`).
pub fn sam_invoke(
    settings: &SamSettings,
    function: &str,
    event: &Path,
) -> Result<serde_json::Value, DevstackError> {
    static INVOCATIONS: AtomicU32 = AtomicU32::new(0);
    let log_dir = workspace_root().join("target/devstack");
    std::fs::create_dir_all(&log_dir).map_err(|e| DevstackError::io(&log_dir, e))?;
    // One pair of files per invocation: tests may invoke the same function at once.
    let name = format!(
        "sam-invoke-{function}-{}-{}",
        std::process::id(),
        INVOCATIONS.fetch_add(1, Ordering::Relaxed)
    );
    let stdout_path = log_dir.join(format!("{name}.out"));
    let stderr_path = log_dir.join(format!("{name}.err"));
    let create = |path: &Path| std::fs::File::create(path).map_err(|e| DevstackError::io(path, e));
    let mut child = settings
        .command("invoke", Some(function))?
        .arg("--event")
        .arg(event)
        .stdout(create(&stdout_path)?)
        .stderr(create(&stderr_path)?)
        .process_group(0)
        .spawn()
        .map_err(|e| DevstackError::Tool(format!("cannot run sam local invoke: {e}")))?;
    let deadline = Instant::now() + INVOKE_TIMEOUT;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| DevstackError::Tool(format!("sam local invoke: {e}")))?
        {
            break Some(status);
        }
        if Instant::now() > deadline {
            stop_group(&mut child);
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let (stdout, stderr) = (read(&stdout_path), read(&stderr_path));
    let described = |what: String| {
        DevstackError::Tool(format!(
            "sam local invoke {function} --event {}: {what}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            event.display()
        ))
    };
    match status {
        None => Err(described(format!("no answer within {INVOKE_TIMEOUT:?}"))),
        Some(status) if !status.success() => Err(described(format!("exited with {status}"))),
        Some(_) => {
            // The response is SAM's last line of output on stdout.
            let last = stdout.lines().rev().find(|line| !line.trim().is_empty());
            let response = last.ok_or_else(|| described("printed no response".into()))?;
            let response: serde_json::Value = serde_json::from_str(response)
                .map_err(|e| described(format!("the response is not JSON ({e})")))?;
            if response.get("errorType").is_some() && response.get("errorMessage").is_some() {
                return Err(described(format!("the function failed: {response}")));
            }
            Ok(response)
        }
    }
}
