//! The overdue tasks the simulator recounts for `tasks-v3`: every task it left open, by planned
//! date, and the check of the `overdueTasks` an analytics answer gives for its `to` against
//! them: the open tasks whose planned date falls on that day or before in the user's zone.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use taskpulse_domain::TimeZone;

/// Open tasks by planned date: +1 where a task started to be due then, -1 where it stopped.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct OpenByPlannedDate(BTreeMap<DateTime<Utc>, i64>);

impl OpenByPlannedDate {
    pub fn add(&mut self, planned: DateTime<Utc>, delta: i64) {
        *self.0.entry(planned).or_default() += delta;
    }

    pub fn merge(&mut self, other: &Self) {
        for (planned, delta) in &other.0 {
            self.add(*planned, *delta);
        }
    }

    /// The open tasks whose planned date is on `day` or before, in `zone`.
    pub fn overdue(&self, zone: &TimeZone, day: NaiveDate) -> i64 {
        self.0
            .iter()
            .filter(|(planned, _)| zone.local_day(**planned) <= day)
            .map(|(_, count)| count)
            .sum()
    }
}

/// What differs between the open tasks recounted and the `overdueTasks` of `answer`, which
/// counts them at the end of its `to` in `zone`.
pub(crate) fn overdue_difference(
    open: &OpenByPlannedDate,
    zone: &TimeZone,
    answer: &Value,
) -> Option<String> {
    let Some(to) = answer["to"].as_str().and_then(|to| to.parse().ok()) else {
        return Some(format!("overdueTasks: the answer has no `to`: {answer}"));
    };
    let expected = open.overdue(zone, to);
    let found = &answer["overdueTasks"];
    (found.as_i64() != Some(expected))
        .then(|| format!("overdueTasks at the end of {to} expected {expected}, found {found}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tasks_open_and_due_by_the_end_of_the_local_day_are_overdue() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let mut open = OpenByPlannedDate::default();
        open.add(at("2026-12-07T20:00:00Z"), 1);
        open.add(at("2026-12-06T08:00:00Z"), 1);
        open.add(at("2026-12-06T08:00:00Z"), -1);
        open.add(at("2026-12-08T10:00:00Z"), 1);
        let utc = TimeZone::utc();
        let kiritimati = TimeZone::parse("Pacific/Kiritimati").unwrap();
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(open.overdue(&utc, day("2026-12-07")), 1);
        // UTC+14: 2026-12-07T20:00Z is already 2026-12-08 there.
        assert_eq!(open.overdue(&kiritimati, day("2026-12-07")), 0);
        assert_eq!(open.overdue(&kiritimati, day("2026-12-08")), 1);
        let answer = json!({"to": "2026-12-08", "overdueTasks": 2});
        assert_eq!(overdue_difference(&open, &utc, &answer), None);
        let wrong = overdue_difference(&open, &kiritimati, &answer).unwrap();
        assert!(wrong.contains("expected 1, found 2"), "{wrong}");
        assert!(overdue_difference(&open, &utc, &json!({"overdueTasks": 2})).is_some());
    }
}
