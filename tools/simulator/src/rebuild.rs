//! A rebuild during the traffic: once a share of the commands is sent, the simulator asks the
//! local stack to rebuild the analytics from the archive with another projection and activate
//! it, and follows it to the end. The reads the simulator makes meanwhile are checked to be
//! complete answers (see `Simulation::note_seen`); after activation the new version must equal
//! the recount.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http::Method;
use serde_json::{Value, json};

use crate::SimulateError;
use crate::simulation::Simulation;

/// The longest a rebuild may take before the simulator gives up on it.
const REBUILD_TIMEOUT: Duration = Duration::from_secs(300);

/// What the rebuild came to.
#[derive(Debug, Clone)]
pub(crate) struct RebuildOutcome {
    /// The version it built, when it got that far.
    pub version: Option<u64>,
    pub activated: bool,
    /// The stack's final state of the rebuild.
    pub state: Value,
}

/// Waits until `start_after` commands are sent, starts the rebuild, and follows it until it
/// ends.
pub(crate) async fn rebuild_during_traffic(
    simulation: Arc<Simulation>,
    projection: String,
    start_after: u64,
) -> Result<RebuildOutcome, SimulateError> {
    while simulation.commands.load(Ordering::Relaxed) < start_after {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    simulation
        .http
        .call(
            Method::POST,
            "/_local/rebuild",
            &[],
            Some(json!({"projection": projection, "activate": true})),
        )
        .await?;
    simulation.progress.println(format!(
        "  rebuild: {projection} started after {start_after} commands"
    ));
    let deadline = tokio::time::Instant::now() + REBUILD_TIMEOUT;
    loop {
        let state = simulation
            .http
            .call(Method::GET, "/_local/rebuild", &[], None)
            .await?;
        if is_finished(&state) {
            return Ok(RebuildOutcome {
                version: state["version"].as_u64(),
                activated: state["activated"].as_bool().unwrap_or(false),
                state,
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(SimulateError::Setup(format!(
                "the rebuild did not end within {} s: {state}",
                REBUILD_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn is_finished(state: &Value) -> bool {
    matches!(state["stage"].as_str(), Some("done" | "failed"))
}
