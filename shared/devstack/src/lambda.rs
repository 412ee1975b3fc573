//! The Lambda runtime emulator of cargo-lambda (`cargo lambda watch`), started on a free
//! 127.0.0.1 port, and `cargo lambda invoke` against it: the function binaries run under the
//! real `lambda_runtime` loop, exactly as on AWS, fed the files in `events/`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::DevstackError;
use crate::process::{Service, free_port};
use crate::python_tools::{PythonTools, workspace_root};

/// `cargo lambda watch` compiles nothing before the first invoke; it listens within seconds.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `cargo lambda watch`, stopped with all the function processes it started when
/// dropped.
#[derive(Debug)]
pub struct LambdaEmulator {
    service: Service,
    bin_dir: PathBuf,
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
            ])
            // Its own process group, so that stopping it stops the functions it spawned.
            .process_group(0);
        for (name, value) in env {
            command.arg("--env-var").arg(format!("{name}={value}"));
        }
        let mut service = Service::spawn("cargo-lambda", port, &mut command)?;
        let emulator_ready = service.wait_listening(READY_TIMEOUT);
        let emulator = Self { service, bin_dir };
        emulator_ready?;
        Ok(emulator)
    }

    /// What the emulator and the functions printed so far.
    pub fn log(&self) -> String {
        self.service.log()
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
                &self.service.port.to_string(),
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
        let child = &mut self.service.child;
        let group = format!("-{}", child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                self.service.remove_log();
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = child.wait();
    }
}
