//! Month roll-ups: a month's counters kept in one item, so a read of years of history takes a
//! month item where it would take up to 31 day items.
//!
//! Day items stay the truth; a month item is derived from them, under two rules that keep it
//! exact without the consumer reading anything:
//!
//! - **The late rule.** A counter write whose day lies in a month that ended at least
//!   [`LATE_AFTER_DAYS`] ago (a redriven message, a rebuild's backfill) also adds its deltas to
//!   that month's item, in the same transaction, and counts itself there (`lateWrites`). Timely
//!   writes, nearly all of them, never touch a month item.
//! - **The seal.** Once a month ended at least [`SEAL_AFTER_DAYS`] ago, no timely write of it
//!   can still be in flight (the day between the two rules is far longer than any consumer
//!   invocation). Sealing reads the month item, then the month's day items, both strongly
//!   consistent and in that order, and adds the difference (the days' sum minus what late
//!   writes put in the month item) to the month item, on condition that it is not sealed and
//!   that no late write came in between (`lateWrites` unchanged). From then on the month
//!   item holds the sum of its days, and late writes keep it so.
//!
//! In a month item the due gauges ([`Counter::Due`]) count from the month's first day, as they
//! count from the day in a day item ([`month_deltas`]).

use chrono::{Days, Months, NaiveDate};

use super::{Counter, Deltas, Granularity};

/// A write of a day in a month that ended this many days ago (or more) is a late write.
/// Longer than SQS keeps a message (14 days), so only a redriven or replayed event is late.
pub const LATE_AFTER_DAYS: u64 = 15;
/// A month is sealed once it ended this many days ago: one day after writes of it became late,
/// which outlasts any invocation that decided a write was timely before it committed.
pub const SEAL_AFTER_DAYS: u64 = LATE_AFTER_DAYS + 1;

/// The first day of the month holding `day` (the calendar's months: [`Granularity::Month`]).
pub fn month_of(day: NaiveDate) -> NaiveDate {
    Granularity::Month.start_of(day)
}

/// The first day of the month after the one holding `day` (`None` at the calendar's end).
pub fn next_month(day: NaiveDate) -> Option<NaiveDate> {
    Granularity::Month.next_start(day)
}

/// The last day of the month holding `day`.
pub fn month_end(day: NaiveDate) -> NaiveDate {
    next_month(day).and_then(|n| n.pred_opt()).unwrap_or(day)
}

/// Whether a write of `day` made on the UTC date `today` is late: its month also takes it.
pub fn is_late(day: NaiveDate, today: NaiveDate) -> bool {
    ended_at_least(day, today, LATE_AFTER_DAYS)
}

/// Whether the month holding `day` may be sealed on the UTC date `today`.
pub fn is_sealable(day: NaiveDate, today: NaiveDate) -> bool {
    ended_at_least(day, today, SEAL_AFTER_DAYS)
}

fn ended_at_least(day: NaiveDate, today: NaiveDate, days: u64) -> bool {
    next_month(day)
        .and_then(|next| next.checked_add_days(Days::new(days)))
        .is_some_and(|threshold| today >= threshold)
}

/// The last month that may be sealed on `today` (the first day of it).
pub fn last_sealable_month(today: NaiveDate) -> Option<NaiveDate> {
    let ended_by = today.checked_sub_days(Days::new(SEAL_AFTER_DAYS))?;
    // The month that ended on or before `ended_by` is the one before `ended_by`'s month.
    month_of(ended_by).checked_sub_months(Months::new(1))
}

/// A day item's deltas as its month item takes them: the due gauges count from the month's
/// first day instead of from `day`.
pub fn month_deltas<'a>(
    day: NaiveDate,
    deltas: impl IntoIterator<Item = (&'a Counter, &'a i64)>,
) -> Deltas {
    let offset = (day - month_of(day)).num_days() as u32;
    deltas
        .into_iter()
        .map(|(counter, delta)| match counter {
            Counter::Due(n) => (Counter::Due(n.saturating_add(offset)), *delta),
            other => (*other, *delta),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_write_is_late_from_the_fifteenth_day_after_its_month_and_a_seal_a_day_later() {
        // November ends on the 30th; December 15 is its 15th day past.
        assert!(!is_late(day("2026-11-03"), day("2026-12-15")));
        assert!(is_late(day("2026-11-30"), day("2026-12-16")));
        assert!(!is_sealable(day("2026-11-03"), day("2026-12-16")));
        assert!(is_sealable(day("2026-11-03"), day("2026-12-17")));
        assert!(!is_late(day("2026-12-01"), day("2026-12-31")));
        assert_eq!(
            last_sealable_month(day("2026-12-16")),
            Some(day("2026-10-01"))
        );
        assert_eq!(
            last_sealable_month(day("2026-12-17")),
            Some(day("2026-11-01"))
        );
        for today in [day("2026-12-16"), day("2026-12-17"), day("2027-03-01")] {
            let last = last_sealable_month(today).unwrap();
            assert!(is_sealable(last, today));
            assert!(!is_sealable(next_month(last).unwrap(), today));
        }
    }

    #[test]
    fn a_month_counts_its_due_gauges_from_its_first_day() {
        let deltas = BTreeMap::from([
            (Counter::Created, 1),
            (Counter::Due(0), 1),
            (Counter::Due(3), -1),
        ]);
        let month = month_deltas(day("2026-11-05"), &deltas);
        assert_eq!(
            month,
            Deltas::from([
                (Counter::Created, 1),
                (Counter::Due(4), 1),
                (Counter::Due(7), -1)
            ])
        );
        for counter in deltas.keys() {
            if let Some(due) = counter.due_day(day("2026-11-05")) {
                let moved = Counter::Due((due - day("2026-11-01")).num_days() as u32);
                assert!(month.contains(moved));
            }
        }
        assert_eq!(month_end(day("2028-02-10")), day("2028-02-29"));
    }
}
