//! The simulator's recount of what it sent, and its comparison with the analytics API.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::overdue::OpenByPlannedDate;

/// Counters the recount predicts exactly (lead time depends on the server's clock).
pub const COMPARED: [&str; 8] = [
    "created",
    "completed",
    "completedOnTime",
    "completedLate",
    "delayed",
    "delaySecondsSum",
    "rescheduled",
    "priorityChanges",
];
pub const OPEN: [&str; 3] = ["new", "in_progress", "on_hold"];
/// Tasks created per priority: counted by the `tasks-by-priority` projection only.
pub const BY_PRIORITY: [&str; 4] = [
    "createdLow",
    "createdMedium",
    "createdHigh",
    "createdCritical",
];

/// Tasks completed per priority at completion, and of them on time and late: counted by the
/// `tasks-v2` projection only.
pub const COMPLETED_BY_PRIORITY: [&str; 12] = [
    "completedLow",
    "completedMedium",
    "completedHigh",
    "completedCritical",
    "completedOnTimeLow",
    "completedOnTimeMedium",
    "completedOnTimeHigh",
    "completedOnTimeCritical",
    "completedLateLow",
    "completedLateMedium",
    "completedLateHigh",
    "completedLateCritical",
];

fn priority_index(priority: &str) -> Option<usize> {
    ["low", "medium", "high", "critical"]
        .iter()
        .position(|p| *p == priority)
}

/// The counter of tasks created with `priority` (the API's priority names).
pub fn created_with(priority: &str) -> Option<&'static str> {
    Some(BY_PRIORITY[priority_index(priority)?])
}

/// The counters of a task completed with `priority`, on time or late.
pub fn completed_with(priority: &str, on_time: bool) -> Option<[&'static str; 2]> {
    let index = priority_index(priority)?;
    let timing = if on_time { 4 } else { 8 };
    Some([
        COMPLETED_BY_PRIORITY[index],
        COMPLETED_BY_PRIORITY[timing + index],
    ])
}

/// What the serving projection counts besides the `tasks` counters, by its name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Extras {
    pub by_priority: bool,
    /// `tasks-v2` and `tasks-v3`: the completions per priority and the percentiles too.
    pub v2: bool,
    /// `tasks-v3`: the overdue tasks too.
    pub overdue: bool,
}

impl Extras {
    pub fn of(projection: Option<&str>) -> Self {
        Self {
            by_priority: matches!(
                projection,
                Some("tasks-by-priority" | "tasks-v2" | "tasks-v3")
            ),
            v2: matches!(projection, Some("tasks-v2" | "tasks-v3")),
            overdue: projection == Some("tasks-v3"),
        }
    }
}

/// Counters that only grow, one step per command that raises them: the freshness probe.
const MONOTONE: [&str; 5] = [
    "created",
    "completed",
    "priorityChanges",
    "delayed",
    "rescheduled",
];

/// What the simulator expects of one scope's analytics.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Recount {
    pub counters: BTreeMap<&'static str, i64>,
    pub open: BTreeMap<&'static str, i64>,
    /// Lead times and delays, in seconds, by histogram (`durations.rs`).
    pub durations: BTreeMap<&'static str, Vec<u64>>,
    /// The open tasks by planned date (`overdue.rs`).
    pub open_by_planned_date: OpenByPlannedDate,
}

impl Recount {
    pub fn add(&mut self, counter: &'static str, delta: i64) {
        *self.counters.entry(counter).or_default() += delta;
    }

    pub fn duration(&mut self, histogram: &'static str, seconds: u64) {
        self.durations.entry(histogram).or_default().push(seconds);
    }

    pub fn gauge(&mut self, status: &str, delta: i64) {
        if let Some(name) = OPEN.iter().find(|s| **s == status) {
            *self.open.entry(name).or_default() += delta;
        }
    }

    pub fn monotone(&self) -> i64 {
        MONOTONE
            .iter()
            .map(|c| self.counters.get(c).copied().unwrap_or(0))
            .sum()
    }

    pub fn merge(&mut self, other: &Recount) {
        for (c, v) in &other.counters {
            *self.counters.entry(c).or_default() += v;
        }
        for (s, v) in &other.open {
            *self.open.entry(s).or_default() += v;
        }
        for (h, seconds) in &other.durations {
            self.durations.entry(h).or_default().extend(seconds);
        }
        self.open_by_planned_date.merge(&other.open_by_planned_date);
    }
}

/// The analytics API's answer, reduced to what is compared.
pub(crate) fn observed(analytics: &Value) -> Recount {
    let mut recount = Recount::default();
    for counter in COMPARED
        .into_iter()
        .chain(BY_PRIORITY)
        .chain(COMPLETED_BY_PRIORITY)
    {
        let value = analytics["totals"][counter].as_i64().unwrap_or(0);
        recount.counters.insert(counter, value);
    }
    for status in OPEN {
        recount
            .open
            .insert(status, analytics["openTasks"][status].as_i64().unwrap_or(0));
    }
    recount
}

/// Differences `(counter, expected, actual)`, zeros and absent counters being equal; the
/// per-priority counters too where `extras` says the serving projection has them.
pub(crate) fn differences(
    expected: &Recount,
    actual: &Recount,
    extras: Extras,
) -> Vec<(String, i64, i64)> {
    let mut out = vec![];
    let by_priority: &[&str] = if extras.by_priority {
        &BY_PRIORITY
    } else {
        &[]
    };
    let completed: &[&str] = if extras.v2 {
        &COMPLETED_BY_PRIORITY
    } else {
        &[]
    };
    for counter in COMPARED.iter().chain(by_priority).chain(completed).copied() {
        let e = expected.counters.get(counter).copied().unwrap_or(0);
        let a = actual.counters.get(counter).copied().unwrap_or(0);
        if e != a {
            out.push((counter.to_owned(), e, a));
        }
    }
    for status in OPEN {
        let e = expected.open.get(status).copied().unwrap_or(0);
        let a = actual.open.get(status).copied().unwrap_or(0);
        if e != a {
            out.push((format!("openTasks.{status}"), e, a));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn differences_name_each_counter_that_is_off_and_ignore_absent_zeros() {
        let mut expected = Recount::default();
        expected.add("created", 3);
        expected.gauge("new", 2);
        expected.gauge("completed", 1);
        let mut actual = Recount::default();
        actual.add("created", 3);
        actual.add("delayed", 0);
        actual.gauge("new", 1);
        let tasks = Extras::of(Some("tasks"));
        assert_eq!(
            differences(&expected, &actual, tasks),
            [("openTasks.new".to_owned(), 2, 1)]
        );
        actual.gauge("new", 1);
        assert!(differences(&expected, &actual, tasks).is_empty());
        expected.add("createdHigh", 3);
        expected.add("completedLateHigh", 1);
        assert!(differences(&expected, &actual, tasks).is_empty());
        assert_eq!(
            differences(&expected, &actual, Extras::of(Some("tasks-by-priority"))),
            [("createdHigh".to_owned(), 3, 0)]
        );
        assert_eq!(
            differences(&expected, &actual, Extras::of(Some("tasks-v2"))),
            [
                ("createdHigh".to_owned(), 3, 0),
                ("completedLateHigh".to_owned(), 1, 0)
            ]
        );
        assert_eq!(created_with("high"), Some("createdHigh"));
        assert_eq!(created_with("urgent"), None);
        assert_eq!(
            completed_with("low", true),
            Some(["completedLow", "completedOnTimeLow"])
        );
        assert_eq!(
            completed_with("critical", false),
            Some(["completedCritical", "completedLateCritical"])
        );
    }

    #[test]
    fn the_analytics_answer_is_read_into_a_recount() {
        let answer = json!({
            "totals": {"created": 4, "completed": 2, "completedOnTime": 1, "completedLate": 1,
                       "priorityChanges": 3, "delayed": 1, "rescheduled": 0, "onTimeRate": 0.5},
            "openTasks": {"new": 1, "in_progress": 1, "on_hold": 0}
        });
        let recount = observed(&answer);
        assert_eq!(recount.counters["created"], 4);
        assert_eq!(recount.open["in_progress"], 1);
        assert_eq!(recount.monotone(), 4 + 2 + 3 + 1);
    }
}
