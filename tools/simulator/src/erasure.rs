//! An erasure during the traffic (`--erase`): once a share of the commands is sent, the
//! simulator asks the stack to erase one of its users (`DELETE /me`), and follows the
//! erasure's status until it is complete. The user's accepted commands stay in the recount of
//! the global analytics, which must not move; the user must be refused afterwards.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::Value;

use crate::SimulateError;
use crate::simulation::Simulation;

/// The longest an erasure may take before the simulator gives up on it.
const ERASURE_TIMEOUT: Duration = Duration::from_secs(300);

/// Waits until `start_after` commands are sent, asks for the erasure of `user`, and follows it
/// until it is complete. Answers the final status and what is wrong with it, if anything.
pub(crate) async fn erase_during_traffic(
    simulation: Arc<Simulation>,
    user: usize,
    start_after: u64,
) -> Result<(Value, Vec<String>), SimulateError> {
    while simulation.commands.load(Ordering::Relaxed) < start_after {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    simulation.erase_requested.store(true, Ordering::SeqCst);
    let headers = simulation.user_headers(user);
    let (status, asked) = simulation
        .http
        .send(Method::DELETE, "/me", &headers, None)
        .await
        .map_err(|e| SimulateError::Setup(format!("DELETE /me: {e}")))?;
    let mut wrong = vec![];
    if status != StatusCode::ACCEPTED {
        wrong.push(format!("DELETE /me answered {status}: {asked}"));
        return Ok((asked, wrong));
    }
    simulation.progress.println(format!(
        "  erasure: {} asked after {start_after} commands",
        simulation.users[user]
    ));
    let deadline = tokio::time::Instant::now() + ERASURE_TIMEOUT;
    let erasure = loop {
        let erasure = simulation
            .http
            .call(Method::GET, "/me/erasure", &headers, None)
            .await?;
        if erasure["state"] == "complete" {
            break erasure;
        }
        if tokio::time::Instant::now() >= deadline {
            wrong.push(format!(
                "the erasure did not complete within {} s: {erasure}",
                ERASURE_TIMEOUT.as_secs()
            ));
            return Ok((erasure, wrong));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for path in ["/tasks", "/analytics/me"] {
        let (status, body) = simulation
            .http
            .send(Method::GET, path, &headers, None)
            .await
            .map_err(|e| SimulateError::Setup(format!("GET {path}: {e}")))?;
        if status != StatusCode::GONE {
            wrong.push(format!(
                "GET {path} of the erased user answered {status}: {body}"
            ));
        }
    }
    Ok((erasure, wrong))
}
