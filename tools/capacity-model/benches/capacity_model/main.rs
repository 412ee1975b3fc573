//! The capacity model of the analytics write path (`taskpulse_capacity_model`): the event rate
//! the hot counter items sustain within DynamoDB's 1,000 WCU/s partition limit, per global
//! shard count and batch size, and what else binds. Prints markdown tables.
//!
//! Run: `cargo bench --bench capacity_model`. Results are recorded in `docs/capacity-model.md`.

mod tables;

use std::time::Instant;
use taskpulse_app::analytics::MAX_INLINE_MARKERS;
use taskpulse_domain::analytics::Projection;

use tables::{
    fixed_rate_table, global_read_table, hot_user_table, item_size_table, max_rate_table, thousands,
};
use taskpulse_capacity_model::{DEFAULT_TABLE_WCU_PER_SECOND, HotUser, Scenario};

/// Searches stop here: two and a half times the target is enough to show the margin.
const SEARCH_CAP: f64 = 250_000.0;
const TARGET: f64 = 100_000.0;

fn main() {
    let started = Instant::now();
    item_size_table();
    global_read_table();

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
    later_projections(&recommended);
    eprintln!("capacity model: {:.1} s", started.elapsed().as_secs_f64());
}

/// `tasks-v3` (and so `tasks-v2`, whose global items are smaller) at scale: its global shard
/// items hold hundreds of histogram buckets and due gauges, so each update of one costs more
/// and a shard takes fewer transactions a second.
fn later_projections(recommended: &Scenario) {
    let v3 = Projection::TasksV3;
    let grid: Vec<(String, Scenario)> = [10, 32]
        .into_iter()
        .flat_map(|shards| [10, 100, 1_000].map(|batch| (shards, batch)))
        .map(|(shards, batch)| {
            (
                format!("`{v3}`, 1,000 invocations"),
                Scenario::new(TARGET, shards, batch).counting(v3),
            )
        })
        .collect();
    max_rate_table(
        &format!("`{v3}`: maximum sustained rate, the partition limit alone (100,000 users)"),
        &grid,
    );
    let mut template = Scenario::new(TARGET, 10, 100).counting(v3);
    template.consumers.max_concurrency = 10;
    let recommended = recommended.counting(v3);
    let mut table_quota = recommended.clone();
    table_quota.table.table_wcu_per_second = Some(DEFAULT_TABLE_WCU_PER_SECOND);
    max_rate_table(
        &format!("`{v3}`: what else binds"),
        &[
            (
                format!("`{v3}`, template defaults: 10 invocations"),
                template,
            ),
            (
                format!("`{v3}`, recommended: 50 invocations"),
                recommended.clone(),
            ),
            (
                format!("`{v3}`, recommended, default 40,000 WCU/s table quota enforced"),
                table_quota,
            ),
        ],
    );
    fixed_rate_table(
        &format!("`{v3}`: every deployment at 100,000 events/s (100,000 users)"),
        &grid
            .iter()
            .cloned()
            .chain([(format!("`{v3}`, recommended: 50 invocations"), recommended)])
            .collect::<Vec<_>>(),
    );
}
