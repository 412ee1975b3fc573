//! The arithmetic bound of a scenario, and the search for the highest sustained rate.

use std::collections::HashMap;

use crate::SEARCH_PRECISION;
use crate::report::RunReport;
use crate::scenario::Scenario;
use crate::simulation::{Queued, Simulation, run};

/// The rate a scenario allows by arithmetic alone, and which limit sets it. It assumes full
/// batches, evenly used shards and items at their starting size; the simulation adds what
/// it leaves out (uneven shard picks, retries, partial batches, growing items). For
/// transaction conflicts it is only the ceiling of one transaction per item per window: two
/// transactions colliding on any of their items cost far more, and only the simulation shows
/// how much.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub events_per_second: f64,
    pub binding: &'static str,
}

pub fn arithmetic_bound(scenario: &Scenario) -> Bound {
    let mut simulation = Simulation::new(scenario);
    let batch_size = scenario.consumers.batch_size.max(1);
    // Enough batches that a rare merge of two events of one user does not skew the average.
    let batches = (10_000 / batch_size).clamp(1, 100);
    let users = simulation.users();
    let shards = f64::from(scenario.limits.global_shards.max(1));
    let events = (batches * batch_size) as f64;

    // Units and writes on each user partition, and on each shard on average.
    let mut user_units: HashMap<usize, f64> = HashMap::new();
    let mut user_writes: HashMap<usize, f64> = HashMap::new();
    let mut global_writes = 0.0;
    let mut total_units = 0.0;
    let mut transactions = 0;
    for _ in 0..batches {
        let batch: Vec<Queued> = (0..batch_size)
            .map(|_| Queued {
                arrived_ms: 0,
                user: simulation.next_user(),
            })
            .collect();
        let planned = simulation.plan(&batch);
        transactions += planned.len();
        for write in planned.iter().flat_map(|t| &t.writes) {
            let units = simulation.units(*write).unwrap_or(0) as f64;
            total_units += units;
            if write.partition < users {
                *user_units.entry(write.partition).or_default() += units;
                *user_writes.entry(write.partition).or_default() += 1.0;
            } else {
                global_writes += 1.0;
            }
        }
    }
    let shard_units = global_writes * simulation.sizes.global_write_units() as f64 / shards;
    let hottest_units = user_units.values().copied().fold(shard_units, f64::max);
    let hottest_writes = user_writes
        .values()
        .copied()
        .fold(global_writes / shards, f64::max);

    let limits = scenario.table;
    let consumers = scenario.consumers;
    let batch_ms = consumers.invocation_overhead_ms as f64
        + transactions as f64 / batches as f64 * consumers.transaction_latency_ms as f64;
    let mut bounds = vec![
        (
            limits.partition_wcu_per_second * events / hottest_units,
            "hottest partition's WCU",
        ),
        (
            consumers.max_concurrency as f64 * batch_size as f64 * 1_000.0 / batch_ms,
            "consumer concurrency",
        ),
    ];
    if limits.conflict_window_ms > 0 {
        let writes_per_second = 1_000.0 / limits.conflict_window_ms as f64;
        bounds.push((
            writes_per_second * events / hottest_writes,
            "transaction conflicts, ceiling",
        ));
    }
    if let Some(per_second) = limits.table_wcu_per_second {
        bounds.push((per_second * events / total_units, "table write quota"));
    }
    let (events_per_second, binding) =
        bounds.into_iter().fold((f64::INFINITY, ""), |best, next| {
            if next.0 < best.0 { next } else { best }
        });
    Bound {
        events_per_second,
        binding,
    }
}

/// The highest offered rate found sustained, with the runs on either side of it.
#[derive(Debug, Clone, PartialEq)]
pub struct MaxRate {
    pub events_per_second: f64,
    /// The run at that rate.
    pub at_max: RunReport,
    /// The lowest rate found not sustained, if the search got above the highest one.
    pub above_max: Option<RunReport>,
    /// The search stopped at the cap while still sustained: the true maximum is higher.
    pub capped: bool,
    pub runs: usize,
}

/// Searches the highest sustained rate, to within 2 %, up to `cap` events/s: brackets it
/// around the arithmetic bound, then halves the bracket (geometrically).
pub fn max_sustained_rate(scenario: &Scenario, cap: f64) -> MaxRate {
    let mut runs = 0;
    let mut run_at = |rate: f64| {
        runs += 1;
        run(&scenario.at_rate(rate))
    };
    let estimate = arithmetic_bound(scenario).events_per_second.min(cap);
    let mut low = estimate * 0.7;
    let mut low_report = run_at(low);
    let mut high_report = None;
    while !low_report.sustained() {
        if low < 1.0 {
            return MaxRate {
                events_per_second: 0.0,
                at_max: low_report,
                above_max: None,
                capped: false,
                runs,
            };
        }
        high_report = Some((low, low_report));
        low /= 2.0;
        low_report = run_at(low);
    }
    if high_report.is_none() {
        let mut high = (estimate * 1.15).min(cap);
        loop {
            let report = run_at(high);
            if !report.sustained() {
                high_report = Some((high, report));
                break;
            }
            (low, low_report) = (high, report);
            if high >= cap {
                return MaxRate {
                    events_per_second: low,
                    at_max: low_report,
                    above_max: None,
                    capped: true,
                    runs,
                };
            }
            high = (high * 2.0).min(cap);
        }
    }
    let (mut high, mut high_run) = high_report.expect("bracketed above");
    while high / low > 1.0 + SEARCH_PRECISION {
        let middle = (low * high).sqrt();
        let report = run_at(middle);
        if report.sustained() {
            (low, low_report) = (middle, report);
        } else {
            (high, high_run) = (middle, report);
        }
    }
    MaxRate {
        events_per_second: low,
        at_max: low_report,
        above_max: Some(high_run),
        capped: false,
        runs,
    }
}
