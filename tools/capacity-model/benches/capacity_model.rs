//! The capacity model of the analytics write path (`taskpulse_capacity_model`): the event rate
//! the hot counter items sustain within DynamoDB's 1,000 WCU/s partition limit, per global
//! shard count and batch size, and what else binds. Prints markdown tables.
//!
//! Run: `cargo bench --bench capacity_model`. Results are recorded in `docs/capacity-model.md`.

use std::sync::Mutex;
use std::time::Instant;
use taskpulse_app::analytics::MAX_INLINE_MARKERS;

use taskpulse_capacity_model::{
    DEFAULT_TABLE_WCU_PER_SECOND, HotUser, ItemSizes, MaxRate, PARTITION_WCU_PER_SECOND, RunReport,
    Scenario, arithmetic_bound, max_sustained_rate, run,
};

/// Searches stop here: two and a half times the target is enough to show the margin.
const SEARCH_CAP: f64 = 250_000.0;
const TARGET: f64 = 100_000.0;

/// Runs `jobs` on every core, keeping their order.
fn in_parallel<T: Send>(jobs: Vec<Box<dyn FnOnce() -> T + Send + '_>>) -> Vec<T> {
    let count = jobs.len();
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new((0..count).map(|_| None).collect::<Vec<Option<T>>>());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap().pop();
                    let Some((index, job)) = next else { break };
                    let result = job();
                    results.lock().unwrap()[index] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn per_second(count: u64, scenario: &Scenario) -> f64 {
    count as f64 * 1_000.0 / scenario.measured_ms as f64
}

fn batching(scenario: &Scenario) -> String {
    let consumers = scenario.consumers;
    if consumers.batching_window_ms == 0 {
        format!("{}", consumers.batch_size)
    } else {
        format!(
            "{} ({} s window)",
            consumers.batch_size,
            consumers.batching_window_ms as f64 / 1_000.0
        )
    }
}

fn hottest(report: &RunReport) -> String {
    let key = report
        .hottest_partition
        .split('/')
        .next()
        .unwrap_or_default();
    format!(
        "{key}: {}",
        thousands(report.hottest_partition_wcu_per_second)
    )
}

fn max_rate_text(found: &MaxRate) -> String {
    if found.capped {
        format!("≥ {} (search capped)", thousands(found.events_per_second))
    } else {
        format!("**{}**", thousands(found.events_per_second))
    }
}

fn max_rate_table(title: &str, rows: &[(String, Scenario)]) {
    let jobs: Vec<Box<dyn FnOnce() -> MaxRate + Send>> = rows
        .iter()
        .map(|(_, scenario)| {
            Box::new(move || max_sustained_rate(scenario, SEARCH_CAP))
                as Box<dyn FnOnce() -> MaxRate + Send>
        })
        .collect();
    let found = in_parallel(jobs);
    println!("### {title}\n");
    println!(
        "| deployment | global shards | batch size | max sustained events/s (offered) | applied at max | arithmetic bound (binding limit) | hottest partition at max (WCU/s) | throttled tx/s at max | table WCU/s at max | WCU per event | busy invocations at max | max event age at max (ms) | next rate tried: applied, throttled tx/s, conflicts/s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for ((label, scenario), found) in rows.iter().zip(&found) {
        let bound = arithmetic_bound(scenario);
        let at = &found.at_max;
        let next = found.above_max.as_ref().map_or_else(
            || "—".to_owned(),
            |above| {
                format!(
                    "{}: {}, {}, {}",
                    thousands(above.offered_events_per_second),
                    thousands(above.applied_events_per_second),
                    thousands(per_second(above.throttled_transactions, scenario)),
                    thousands(per_second(above.conflicted_transactions, scenario)),
                )
            },
        );
        println!(
            "| {label} | {} | {} | {} | {} | {} ({}) | {} | {} | {} | {:.2} | {:.0} | {} | {next} |",
            scenario.limits.global_shards,
            batching(scenario),
            max_rate_text(found),
            thousands(at.applied_events_per_second),
            thousands(bound.events_per_second),
            bound.binding,
            hottest(at),
            thousands(per_second(at.throttled_transactions, scenario)),
            thousands(at.table_wcu_per_second),
            at.wcu_per_event(),
            at.mean_busy_consumers,
            at.max_event_age_ms,
        );
    }
    println!();
}

/// Runs the scenarios of `rows` on every core, keeping their order.
fn run_all(rows: &[(String, Scenario)]) -> Vec<RunReport> {
    in_parallel(
        rows.iter()
            .map(|(_, scenario)| {
                Box::new(move || run(scenario)) as Box<dyn FnOnce() -> RunReport + Send>
            })
            .collect(),
    )
}

fn fixed_rate_table(title: &str, rows: &[(String, Scenario)]) {
    let reports = run_all(rows);
    println!("### {title}\n");
    println!(
        "| deployment | global shards | batch size | offered events/s | applied events/s | throttled transactions | max backlog (events) | backlog bounded | hottest partition (WCU/s) | table WCU/s | busy invocations |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for ((label, scenario), report) in rows.iter().zip(&reports) {
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} |",
            scenario.limits.global_shards,
            batching(scenario),
            thousands(report.offered_events_per_second),
            thousands(report.applied_events_per_second),
            thousands(report.throttled_transactions as f64),
            thousands(report.max_backlog as f64),
            if report.bounded { "yes" } else { "**no**" },
            hottest(report),
            thousands(report.table_wcu_per_second),
            report.mean_busy_consumers,
        );
    }
    println!();
}

fn item_size_table() {
    let sizes = ItemSizes::from_billing_rules();
    let writes = |units: usize| PARTITION_WCU_PER_SECOND / units as f64;
    println!("### Item sizes, write units, and what one item's partition sustains\n");
    println!(
        "| item | bytes | WCU per transactional update | updates/s within 1,000 WCU/s | events/s at 50 events per update |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| `GLOBAL#<shard>` / `DAY#<d>` | {} | {} | {} | (events per transaction × {}) |",
        sizes.global_item_bytes,
        sizes.global_write_units(),
        thousands(writes(sizes.global_write_units())),
        thousands(writes(sizes.global_write_units())),
    );
    // A full day item (32 markers inline) taking 50 more events: all 50 are marker items in
    // the same partition.
    let full = MAX_INLINE_MARKERS as u32;
    let units = sizes.user_write_units(full) + 50 * sizes.marker_write_units();
    println!(
        "| `USER#<u>` / `DAY#<d>` with its 32 inline markers, + 50 `APPLIED#` marker items ({} bytes each) | {} | {} (adding 50: {} + 50 × {}) | {} | {} |",
        sizes.marker_item_bytes,
        thousands(sizes.user_item_bytes(full) as f64),
        units,
        sizes.user_write_units(full),
        sizes.marker_write_units(),
        thousands(writes(units)),
        thousands(writes(units) * 50.0),
    );
    for applied in [10, 1_000, 10_000, 25_000] {
        // Before the cap, an update of 50 events left the item 50 events larger.
        let units = sizes.user_write_units(applied + 50);
        println!(
            "| before the cap: `USER#<u>` / `DAY#<d>` holding {} events | {} | {} (adding 50) | {} | {} |",
            thousands(f64::from(applied)),
            thousands(sizes.user_item_bytes(applied) as f64),
            units,
            thousands(writes(units)),
            thousands(writes(units) * 50.0),
        );
    }
    println!();
}

fn hot_user_table(title: &str, rows: &[(String, Scenario)]) {
    let sizes = ItemSizes::from_billing_rules();
    let reports = run_all(rows);
    println!("### {title}\n");
    println!(
        "| deployment | batch size | offered events/s | applied events/s | throttled transactions | backlog bounded | hottest partition (WCU/s) | hot user's day item: start → end of run (bytes) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for ((label, scenario), report) in rows.iter().zip(&reports) {
        let start = scenario
            .load
            .hot_user
            .map_or(scenario.load.already_applied_per_user, |hot| {
                hot.already_applied
            });
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} → {} |",
            batching(scenario),
            thousands(report.offered_events_per_second),
            thousands(report.applied_events_per_second),
            thousands(report.throttled_transactions as f64),
            if report.bounded { "yes" } else { "**no**" },
            hottest(report),
            thousands(sizes.user_item_bytes(start) as f64),
            thousands(report.largest_user_item_bytes as f64),
        );
    }
    println!();
}

fn main() {
    let started = Instant::now();
    item_size_table();

    let grid: Vec<(String, Scenario)> = std::iter::once((1, 1))
        .chain([1, 10, 32].into_iter().flat_map(|shards| {
            [10, 100, 1_000]
                .into_iter()
                .map(move |batch| (shards, batch))
        }))
        .map(|(shards, batch)| {
            (
                "1,000 invocations".to_owned(),
                Scenario::new(TARGET, shards, batch),
            )
        })
        .collect();
    max_rate_table(
        "Maximum sustained rate: the partition limit alone (100,000 users)",
        &grid,
    );
    fixed_rate_table(
        "Every deployment at 100,000 events/s (100,000 users)",
        &grid[1..],
    );

    let mut template = Scenario::new(TARGET, 10, 100);
    template.consumers.max_concurrency = 10;
    let mut recommended = Scenario::new(TARGET, 32, 1_000);
    recommended.consumers.max_concurrency = 50;
    let mut table_quota = recommended.clone();
    table_quota.table.table_wcu_per_second = Some(DEFAULT_TABLE_WCU_PER_SECOND);
    let mut no_window = Scenario::new(TARGET, 1, 10);
    no_window.consumers.batching_window_ms = 0;
    let with_conflicts = |scenario: &Scenario, window_ms| {
        let mut scenario = scenario.clone();
        scenario.table.conflict_window_ms = window_ms;
        scenario
    };
    let deployments = vec![
        ("template defaults: 10 invocations".to_owned(), template),
        (
            "recommended: 50 invocations".to_owned(),
            recommended.clone(),
        ),
        (
            "recommended, default 40,000 WCU/s table quota enforced".to_owned(),
            table_quota,
        ),
        (
            "no batching window, 1,000 invocations".to_owned(),
            no_window,
        ),
    ];
    max_rate_table(
        "What else binds: consumer concurrency, the table quota, batching",
        &deployments,
    );

    let million_users = |scenario: &Scenario| {
        let mut scenario = scenario.clone();
        scenario.load.users = 1_000_000;
        scenario
    };
    let recommended_conflicts = with_conflicts(&recommended, 5);
    let thousand = |shards| Scenario::new(TARGET, shards, 1_000);
    max_rate_table(
        "Sensitivity: a committed transaction holding its items for a few ms (TransactionConflict)",
        &[
            (
                "1,000 invocations, 5 ms window, 100,000 users".to_owned(),
                with_conflicts(&thousand(10), 5),
            ),
            (
                "1,000 invocations, 5 ms window, 100,000 users".to_owned(),
                with_conflicts(&thousand(32), 5),
            ),
            (
                "1,000 invocations, 10 ms window, 100,000 users".to_owned(),
                with_conflicts(&thousand(32), 10),
            ),
            (
                "recommended, 5 ms window, 100,000 users".to_owned(),
                recommended_conflicts.clone(),
            ),
            (
                "recommended, 5 ms window, 1,000,000 users".to_owned(),
                million_users(&recommended_conflicts),
            ),
        ],
    );
    fixed_rate_table(
        "The recommended deployment at 100,000 events/s",
        &[
            (
                "recommended: 50 invocations".to_owned(),
                recommended.clone(),
            ),
            (
                "recommended, 5 ms conflict window, 100,000 users".to_owned(),
                recommended_conflicts.clone(),
            ),
            (
                "recommended, 5 ms conflict window, 1,000,000 users".to_owned(),
                million_users(&recommended_conflicts),
            ),
        ],
    );

    let one_user = |already_applied, events_per_second, layout: &str| {
        let mut scenario = Scenario::new(events_per_second, 32, 100);
        scenario.load.users = 1;
        scenario.load.already_applied_per_user = already_applied;
        (
            format!(
                "one user, {} markers inline on today's item{layout}",
                thousands(f64::from(already_applied))
            ),
            scenario,
        )
    };
    let mut shared = recommended.clone();
    shared.load.hot_user = Some(HotUser {
        share: 0.01,
        already_applied: MAX_INLINE_MARKERS as u32,
    });
    let shared_label = "100,000 users, one with 1 % of the events and a full day item (32 inline)";
    hot_user_table(
        "A hot user: one partition (its day item and its marker items) bounds it (32 shards, 1,000 invocations unless named)",
        &[
            one_user(10, 1_000.0, ""),
            one_user(MAX_INLINE_MARKERS as u32, 1_000.0, " (full)"),
            one_user(1_000, 1_000.0, " (an item of the layout before the cap)"),
            one_user(25_000, 100.0, " (an item of the layout before the cap)"),
            (
                format!("{shared_label}, recommended deployment"),
                shared.clone(),
            ),
        ],
    );
    max_rate_table(
        "A hot user among many: the highest rate the whole pipeline then sustains",
        &[(format!("{shared_label}, 50 invocations"), shared)],
    );
    eprintln!("capacity model: {:.1} s", started.elapsed().as_secs_f64());
}
