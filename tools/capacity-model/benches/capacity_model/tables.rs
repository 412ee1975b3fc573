//! The capacity model's tables: each runs its scenarios on every core and prints markdown.

use std::sync::Mutex;
use taskpulse_app::analytics::MAX_INLINE_MARKERS;
use taskpulse_aws::PARTITION_READS_AT_ONCE;
use taskpulse_aws::capacity::query_read_units_paged;
use taskpulse_domain::analytics::Projection;

use taskpulse_capacity_model::{
    ItemSizes, MaxRate, PARTITION_WCU_PER_SECOND, RunReport, Scenario, arithmetic_bound,
    max_sustained_rate, run,
};

use crate::SEARCH_CAP;

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

pub fn thousands(value: f64) -> String {
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

pub fn max_rate_table(title: &str, rows: &[(String, Scenario)]) {
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

pub fn fixed_rate_table(title: &str, rows: &[(String, Scenario)]) {
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

pub fn item_size_table() {
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
    for projection in [Projection::TasksV2, Projection::TasksV3] {
        let sizes = ItemSizes::counting(projection);
        println!(
            "| `{projection}`: `GLOBAL#<shard>` / `DAY#<d>` at scale | {} | {} | {} | (events per transaction × {}) |",
            thousands(sizes.global_item_bytes as f64),
            sizes.global_write_units(),
            thousands(writes(sizes.global_write_units())),
            thousands(writes(sizes.global_write_units())),
        );
    }
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
    for projection in [Projection::TasksV2, Projection::TasksV3] {
        let sizes = ItemSizes::counting(projection);
        for inline in [10, full] {
            let units = sizes.user_write_units(inline);
            println!(
                "| `{projection}`: `USER#<u>` / `DAY#<d>` with {inline} inline markers | {} | {units} | {} | — |",
                thousands(sizes.user_item_bytes(inline) as f64),
                thousands(writes(units)),
            );
        }
    }
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

/// What `GET /analytics/global` reads: every shard's day items from the first day (the gauges
/// are sums over all of them), one eventually consistent `Query` per shard, page by page,
/// [`PARTITION_READS_AT_ONCE`] shards at a time.
pub fn global_read_table() {
    const DAYS: usize = 366;
    const PAGE_BYTES: usize = 1024 * 1024;
    println!("### Reading a year of everyone's analytics\n");
    println!(
        "| projection | global shards | day items read | bytes read | RCU per read | 1 MB query pages | pages one after another ({PARTITION_READS_AT_ONCE} shards at a time) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for projection in [Projection::Tasks, Projection::TasksV3] {
        let item = ItemSizes::counting(projection).global_item_bytes;
        for shards in [10_usize, 32] {
            let per_shard = query_read_units_paged(std::iter::repeat_n(item, DAYS), false);
            let pages_per_shard = (item * DAYS).div_ceil(PAGE_BYTES);
            println!(
                "| `{projection}`{} | {shards} | {} | {} | {} | {} | {} |",
                if projection == Projection::Tasks {
                    ""
                } else {
                    " at scale"
                },
                thousands((shards * DAYS) as f64),
                thousands((shards * DAYS * item) as f64),
                thousands(per_shard * shards as f64),
                shards * pages_per_shard,
                shards.div_ceil(PARTITION_READS_AT_ONCE) * pages_per_shard,
            );
        }
    }
    println!();
}

pub fn hot_user_table(title: &str, rows: &[(String, Scenario)]) {
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
