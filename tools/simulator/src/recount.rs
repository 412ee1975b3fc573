//! The simulator's recount of what it sent, and its comparison with the analytics API.

use std::collections::BTreeMap;

use serde_json::Value;

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
}

impl Recount {
    pub fn add(&mut self, counter: &'static str, delta: i64) {
        *self.counters.entry(counter).or_default() += delta;
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
    }
}

/// The analytics API's answer, reduced to what is compared.
pub(crate) fn observed(analytics: &Value) -> Recount {
    let mut recount = Recount::default();
    for counter in COMPARED {
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

/// Differences `(counter, expected, actual)`, zeros and absent counters being equal.
pub(crate) fn differences(expected: &Recount, actual: &Recount) -> Vec<(String, i64, i64)> {
    let mut out = vec![];
    for counter in COMPARED {
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
        assert_eq!(
            differences(&expected, &actual),
            [("openTasks.new".to_owned(), 2, 1)]
        );
        actual.gauge("new", 1);
        assert!(differences(&expected, &actual).is_empty());
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
