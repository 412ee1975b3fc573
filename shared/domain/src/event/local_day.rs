//! The one rule of an event's `localDay`, and of the local days of the planned dates it
//! carries: every zone is less than a day from UTC (UTC-12 to
//! UTC+14), so a local day is the UTC date of `occurredAt` or one of its neighbours. Any other
//! is a producer's mistake, refused before it moves a counter on a day the event has nothing to
//! do with; and a stored local day needs no more than that offset.

use chrono::{DateTime, NaiveDate, Utc};

use super::{EnvelopeError, TaskEvent};
use crate::time_zone::TimeZone;

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

/// The owner's day of a planned date: the local day stamped beside it, or its UTC date where
/// none is (events carry a planned date's local day only where it differs from the UTC date).
pub fn due_day(planned: DateTime<Utc>, local_day: Option<NaiveDate>) -> NaiveDate {
    local_day.unwrap_or_else(|| planned.date_naive())
}

/// The local day of `at` in `zone` as an event carries it: only where it is not the UTC date.
pub(super) fn local_day_where_other(zone: &TimeZone, at: DateTime<Utc>) -> Option<NaiveDate> {
    let local = zone.local_day(at);
    (local != at.date_naive()).then_some(local)
}

/// Every planned date's local day in `event` is one a zone can give it, or the data is invalid.
pub(super) fn check_planned_days(event: &TaskEvent) -> Result<(), EnvelopeError> {
    let pairs: [(Option<DateTime<Utc>>, Option<NaiveDate>); 2] = match event {
        TaskEvent::Created(e) => [
            (Some(e.planned_accomplish_date), e.planned_local_day),
            (None, None),
        ],
        TaskEvent::Completed(e) => [
            (Some(e.planned_accomplish_date), e.planned_local_day),
            (None, None),
        ],
        TaskEvent::StatusChanged(e) => [
            (e.planned_accomplish_date, e.planned_local_day),
            (None, None),
        ],
        TaskEvent::Delayed(e) => [
            (Some(e.from), e.from_local_day),
            (Some(e.to), e.to_local_day),
        ],
        TaskEvent::Rescheduled(e) => [
            (Some(e.from), e.from_local_day),
            (Some(e.to), e.to_local_day),
        ],
        TaskEvent::PriorityChanged(_) => return Ok(()),
    };
    for pair in pairs {
        match pair {
            (_, None) => {}
            (Some(at), Some(day)) if local_day_offset(day, at).is_some() => {}
            (at, Some(day)) => {
                return Err(EnvelopeError::InvalidData {
                    event_type: event.event_type().to_owned(),
                    reason: match at {
                        Some(at) => format!(
                            "local day {day} is more than a day from the planned date {}",
                            at.to_rfc3339()
                        ),
                        None => format!("local day {day} is given without a planned date"),
                    },
                });
            }
        }
    }
    Ok(())
}
