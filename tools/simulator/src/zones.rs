//! The simulated users' time zones: each user sets one (`PUT /me/settings`) before the traffic,
//! spread over both sides of UTC and its extremes, so that at any hour some users' local day
//! is not the UTC day. Under `tasks-v2` their events count on those local days.

use http::Method;
use serde_json::json;
use taskpulse_domain::TimeZone;

use crate::SimulateError;
use crate::simulation::Simulation;

/// The zones, given to the users in turn.
const ZONES: [&str; 6] = [
    "UTC",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Kolkata",
    "America/Los_Angeles",
    "Europe/Berlin",
];

/// The zone of `user`.
pub(crate) fn zone_of(user: usize) -> TimeZone {
    TimeZone::parse(ZONES[user % ZONES.len()]).unwrap_or_else(|_| TimeZone::utc())
}

/// Gives every user its zone.
pub(crate) async fn set_zones(simulation: &Simulation) -> Result<(), SimulateError> {
    for user in 0..simulation.users.len() {
        let zone = ZONES[user % ZONES.len()];
        let answer = simulation
            .http
            .call(
                Method::PUT,
                "/me/settings",
                &simulation.user_headers(user),
                Some(json!({ "timeZone": zone })),
            )
            .await?;
        if answer["timeZone"] != zone {
            return Err(SimulateError::Setup(format!(
                "the settings of {} answered {answer}, not the zone {zone}",
                simulation.users[user]
            )));
        }
    }
    let used = &ZONES[..ZONES.len().min(simulation.users.len())];
    println!(
        "  zones: users spread over {} time zones ({})",
        used.len(),
        used.join(", ")
    );
    Ok(())
}
