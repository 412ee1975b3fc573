//! What a run found, and how it is printed.

use std::time::Duration;

use serde_json::Value;

use crate::SimulateOptions;
use crate::client::mapping_stats;
use crate::recount::{COMPARED, Extras};

/// What a run found.
#[derive(Debug, Clone)]
pub struct SimulationReport {
    pub commands: u64,
    pub events: u64,
    pub commands_per_second: f64,
    pub events_per_second: f64,
    pub freshness_p50: Duration,
    pub freshness_p99: Duration,
    pub freshness_samples: usize,
    /// Mean time of one round of the observer's polls: the samples' resolution.
    pub freshness_resolution: Duration,
    pub mismatches: Vec<String>,
    pub errors: Vec<String>,
    pub dead_letters_expected: usize,
    pub dead_letters_found: Option<u64>,
    /// The local stack's final state of the rebuild run during the traffic, if one was.
    pub rebuild: Option<Value>,
    /// The final status of the erasure asked for during the traffic, if one was, and whom it
    /// erased.
    pub erasure: Option<Value>,
    pub erased_user: Option<String>,
    /// What each user's answers were checked for besides the `tasks` counters.
    pub(crate) checked: Extras,
}

impl SimulationReport {
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
            && self.errors.is_empty()
            && self
                .dead_letters_found
                .is_none_or(|found| found >= self.dead_letters_expected as u64)
    }
}

pub(crate) fn print_report(
    report: &SimulationReport,
    options: &SimulateOptions,
    sending: Duration,
    settled_at: Duration,
    before: Option<&Value>,
    after: Option<&Value>,
) {
    println!(
        "  commands   {} accepted in {:.2} s: {:.0} commands/s ({} tasks in flight)",
        report.commands,
        sending.as_secs_f64(),
        report.commands_per_second,
        options.concurrency
    );
    println!(
        "  events     {} emitted, all counted {:.2} s after the first command: {:.0} events/s",
        report.events,
        settled_at.as_secs_f64(),
        report.events_per_second
    );
    println!(
        "  freshness  command accepted -> counter visible: p50 {:.0} ms, p99 {:.0} ms ({} samples, polled every {:.0} ms)",
        report.freshness_p50.as_secs_f64() * 1000.0,
        report.freshness_p99.as_secs_f64() * 1000.0,
        report.freshness_samples,
        report.freshness_resolution.as_secs_f64() * 1000.0,
    );
    if let (Some(before), Some(after)) = (
        before.and_then(mapping_stats),
        after.and_then(mapping_stats),
    ) {
        println!(
            "  consumer   {} invocations, {} records: {} applied, {} duplicates skipped, {} poison records failed; {} redelivered on purpose",
            after.invocations - before.invocations,
            after.records - before.records,
            after.applied - before.applied,
            after.duplicates - before.duplicates,
            after.poison - before.poison,
            after.redelivered - before.redelivered,
        );
    }
    if report.dead_letters_expected > 0 {
        println!(
            "  poison     {} injected, {} in the dead-letter queue",
            report.dead_letters_expected,
            report
                .dead_letters_found
                .map_or_else(|| "?".to_owned(), |n| n.to_string())
        );
        if let Some(extra) = report
            .dead_letters_found
            .and_then(|n| n.checked_sub(report.dead_letters_expected as u64))
            .filter(|extra| *extra > 0)
        {
            println!(
                "  note       {extra} more dead letters than poison: applied events whose batches \
                 outlived the visibility timeout maxReceiveCount times (raise the stack's \
                 --visibility-timeout-secs)"
            );
        }
    }
    if let Some(status) = &report.erasure {
        let erased = &status["erased"];
        println!(
            "  erasure    {}: {} tasks, {} pending events published, {} idempotency records, {} archive objects rewritten (archive days: {}), {} counter items moved",
            status["state"].as_str().unwrap_or("?"),
            erased["tasks"],
            erased["pendingEventsPublished"],
            erased["idempotencyRecords"],
            erased["archiveObjectsRewritten"],
            erased["archiveDaysRewritten"],
            erased["counterItemsMoved"]
        );
    }
    if let Some(state) = &report.rebuild {
        println!(
            "  rebuild    version {} ({}) from the archive during the traffic: {} events, {} applied, {} already applied live; {}",
            state["version"],
            options.rebuild.as_deref().unwrap_or("?"),
            state["events"],
            state["applied"],
            state["duplicates"],
            if state["activated"].as_bool() == Some(true) {
                format!(
                    "verified ({} users counted on other days by their zones) and activated, every read during it complete",
                    state["usersOnOtherDays"]
                )
            } else {
                format!("NOT activated: {}", state["refused"])
            }
        );
    }
    for error in report.errors.iter().take(10) {
        println!("  error      {error}");
    }
    if report.mismatches.is_empty() {
        println!(
            "  counters   {} users and global: {} counters and 3 open-task gauges each equal the recount",
            options.users,
            COMPARED.len()
        );
        if report.checked.v2 {
            println!(
                "  tasks-v2   each user's completions per priority and lead-time and delay percentiles equal the recount{}",
                if report.checked.overdue {
                    ", and so do the overdue tasks (tasks-v3)"
                } else {
                    ""
                }
            );
        }
    } else {
        for mismatch in report.mismatches.iter().take(20) {
            println!("  mismatch   {mismatch}");
        }
    }
    println!("{}", if report.passed() { "PASS" } else { "FAIL" });
}
