//! The project-local virtualenv with the pinned Python tools (moto, cargo-lambda), created and
//! filled from `tests/requirements.txt` on first use.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::DevstackError;

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
