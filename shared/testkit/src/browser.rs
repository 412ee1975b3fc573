//! Headless Chromium for the browser tests: Debian's `chromium` and `chromedriver` packages
//! (installed by `.ci/run` in CI), driven by Selenium from the tests' virtualenv.
//!
//! Without them a test cannot run: in CI (`CI` set) that fails the test, elsewhere the test
//! says so on stderr and passes without checking anything, so `cargo test` still works on a
//! machine without a browser.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use taskpulse_devstack::{PythonTools, workspace_root};

/// Where the browser and its driver are (overridable with `TASKPULSE_CHROMIUM` and
/// `TASKPULSE_CHROMEDRIVER`).
#[derive(Debug, Clone)]
pub struct Browser {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

fn path_from(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// The browser, or `None` outside CI when it is not installed. Panics in CI without it.
pub fn browser() -> Option<Browser> {
    let browser = Browser {
        chromium: path_from("TASKPULSE_CHROMIUM", "/usr/bin/chromium"),
        chromedriver: path_from("TASKPULSE_CHROMEDRIVER", "/usr/bin/chromedriver"),
    };
    let missing: Vec<&Path> = [&browser.chromium, &browser.chromedriver]
        .into_iter()
        .filter(|p| !p.exists())
        .map(PathBuf::as_path)
        .collect();
    if missing.is_empty() {
        return Some(browser);
    }
    let advice = format!(
        "no browser for the browser tests: {missing:?} not found; install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    );
    if std::env::var_os("CI").is_some() {
        panic!("{advice}");
    }
    eprintln!("SKIPPED (not in CI): {advice}");
    None
}

impl Browser {
    /// Runs the Selenium script `tests/browser/<script>` with `args` in the tests' virtualenv;
    /// returns the JSON of its last line of output, or its output as the error.
    pub fn run_script(&self, script: &str, args: &[&str]) -> Result<Value, String> {
        let tools = PythonTools::ensure().map_err(|e| e.to_string())?;
        let output = Command::new(tools.bin_dir().join("python"))
            .arg(workspace_root().join("tests/browser").join(script))
            .args(args)
            .env("TASKPULSE_CHROMIUM", &self.chromium)
            .env("TASKPULSE_CHROMEDRIVER", &self.chromedriver)
            // Selenium must not try to download a browser or a driver.
            .env("SE_OFFLINE", "true")
            .output()
            .map_err(|e| format!("cannot run the virtualenv's python: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "{script} failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last).map_err(|e| format!("{e}: {stdout}"))
    }
}
