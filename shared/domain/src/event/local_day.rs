//! The one rule of an event's `localDay`: every zone is less than a day from UTC (UTC-12 to
//! UTC+14), so a local day is the UTC date of `occurredAt` or one of its neighbours. Any other
//! is a producer's mistake, refused before it moves a counter on a day the event has nothing to
//! do with; and a stored local day needs no more than that offset.

use chrono::{DateTime, NaiveDate, Utc};

use super::EnvelopeError;

/// The days from the UTC date of `occurred_at` to `local_day`: -1, 0 or 1; `None` for any
/// other day, which no zone gives.
pub fn local_day_offset(local_day: NaiveDate, occurred_at: DateTime<Utc>) -> Option<i8> {
    let days = (local_day - occurred_at.date_naive()).num_days();
    (-1..=1).contains(&days).then_some(days as i8)
}

/// `local_day` is a day a zone can give `occurred_at`, or the envelope is invalid.
pub(super) fn check_local_day(
    local_day: NaiveDate,
    occurred_at: DateTime<Utc>,
) -> Result<(), EnvelopeError> {
    match local_day_offset(local_day, occurred_at) {
        Some(_) => Ok(()),
        None => Err(EnvelopeError::InvalidEnvelope(format!(
            "localDay {local_day} is more than a day from occurredAt {}",
            occurred_at.to_rfc3339()
        ))),
    }
}
