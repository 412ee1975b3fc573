use super::*;
use taskpulse_domain::analytics::Projection;

/// Short runs and a fleet large enough not to bind, for fast tests.
fn scenario(events_per_second: f64, shards: u32, batch_size: usize) -> Scenario {
    let mut scenario = Scenario::new(events_per_second, shards, batch_size);
    scenario.consumers.max_concurrency = 200;
    scenario.warm_up_ms = 1_000;
    scenario.measured_ms = 2_000;
    scenario
}

#[test]
fn item_sizes_follow_the_billing_rules() {
    let sizes = ItemSizes::from_billing_rules();
    assert_eq!(
        sizes.bytes_per_applied_event, 16,
        "one 16-byte id per event"
    );
    assert!(sizes.global_item_bytes < 1024, "{sizes:?}");
    assert_eq!(sizes.global_write_units(), 2);
    // The user's day item passes 1 KB after about fifty events (docs/data-model.md).
    let first_over_1kb = (0..).find(|n| sizes.user_item_bytes(*n) > 1024).unwrap();
    assert!((40..=55).contains(&first_over_1kb), "{first_over_1kb}");
    assert_eq!(sizes.user_write_units(first_over_1kb - 1), 2);
    assert_eq!(sizes.user_write_units(first_over_1kb), 4);
    // 400 KB: about 25,000 events of one user on one day.
    let full = (MAX_ITEM_BYTES - sizes.user_item_base_bytes) / 16;
    assert!((25_000..=25_700).contains(&full), "{full}");
}

#[test]
fn later_projections_fill_the_global_items_with_buckets_and_due_gauges() {
    let tasks = ItemSizes::from_billing_rules();
    assert_eq!(ItemSizes::counting(Projection::Tasks), tasks);
    let v2 = ItemSizes::counting(Projection::TasksV2);
    let v3 = ItemSizes::counting(Projection::TasksV3);
    // Every bucket from a minute to a year in both histograms: over 250 counters of about a
    // dozen bytes each; `tasks-v3` adds a due gauge for each of 366 days.
    assert!(
        v2.global_item_bytes > tasks.global_item_bytes + 250 * 10,
        "{v2:?}"
    );
    assert!(
        v3.global_item_bytes > v2.global_item_bytes + 366 * 8,
        "{v3:?}"
    );
    for sizes in [tasks, v2, v3] {
        assert_eq!(
            sizes.global_write_units(),
            2 * sizes.global_item_bytes.div_ceil(1024),
            "{sizes:?}"
        );
    }
    // A user's day of ten events stays under 1 KB, so 2 units an update, with ten markers.
    assert_eq!(v3.user_write_units(10), 2, "{v3:?}");
    assert!(v3.user_item_bytes(0) > tasks.user_item_bytes(0));
}

#[test]
fn a_shard_of_a_later_projection_takes_as_many_transactions_as_its_item_allows() {
    // One event per transaction on one shard: the shard's units per update set the rate.
    let sizes = ItemSizes::counting(Projection::TasksV3);
    let expected = PARTITION_WCU_PER_SECOND / sizes.global_write_units() as f64;
    let found = max_sustained_rate(&scenario(0.0, 1, 1).counting(Projection::TasksV3), 1e7);
    assert!(
        (expected * 0.9..=expected * 1.06).contains(&found.events_per_second),
        "{expected} {found:#?}"
    );
    assert_eq!(found.at_max.hottest_partition, "GLOBAL#0/DAY#2026-11-26");
}

#[test]
fn one_shard_and_single_event_batches_sustain_about_500_events_per_second() {
    // Every event is one transaction writing the one global shard: 2 units of 1,000/s.
    let found = max_sustained_rate(&scenario(0.0, 1, 1), 1e7);
    assert!(
        (450.0..=530.0).contains(&found.events_per_second),
        "{found:#?}"
    );
    assert_eq!(found.at_max.hottest_partition, "GLOBAL#0/DAY#2026-11-26");
    assert!(found.at_max.hottest_partition_wcu_per_second <= 1_000.0);
    assert!(found.at_max.hottest_partition_wcu_per_second > 900.0);
}

#[test]
fn enforcing_the_partition_limit_throttles_a_load_above_it() {
    let limited = run(&scenario(1_000.0, 1, 1));
    assert!(limited.throttled_transactions > 0, "{limited:#?}");
    assert!(!limited.bounded, "{limited:#?}");
    assert!(limited.hottest_partition_wcu_per_second <= 1_000.0);
    assert!(limited.applied_events_per_second < 520.0, "{limited:#?}");

    let mut unlimited = scenario(1_000.0, 1, 1);
    unlimited.table.partition_wcu_per_second = 1e12;
    let unlimited = run(&unlimited);
    assert_eq!(unlimited.throttled_transactions, 0);
    assert!(unlimited.bounded, "{unlimited:#?}");
    assert!(
        unlimited.applied_events_per_second > 980.0,
        "{unlimited:#?}"
    );
    assert!(unlimited.hottest_partition_wcu_per_second > 1_900.0);
}

#[test]
fn shards_raise_the_limit_linearly_until_consumer_concurrency_binds() {
    // 100 invocations of 10 + 20 ms per single-event batch: at most 3,333 events/s, where
    // sixteen shards would allow 8,000.
    let rate = |shards| {
        let mut s = scenario(0.0, shards, 1);
        s.consumers.max_concurrency = 100;
        max_sustained_rate(&s, 1e7)
    };
    let one = rate(1).events_per_second;
    let two = rate(2).events_per_second;
    let four = rate(4).events_per_second;
    let sixteen = rate(16);
    assert!((1.8..=2.2).contains(&(two / one)), "{one} {two}");
    assert!((3.6..=4.4).contains(&(four / one)), "{one} {four}");
    assert!(
        (2_900.0..=3_400.0).contains(&sixteen.events_per_second),
        "{sixteen:#?}"
    );
    assert!(sixteen.at_max.mean_busy_consumers > 85.0, "{sixteen:#?}");
    assert!(sixteen.at_max.hottest_partition_wcu_per_second < 600.0);
}

#[test]
fn the_real_planner_packs_a_batch_of_100_users_into_two_transactions() {
    // 99 user items and the global shard fill the first; the hundredth user needs a second.
    let report = run(&scenario(5_000.0, 1, 100));
    assert!(report.bounded, "{report:#?}");
    let per_event = report.transactions_per_second / report.applied_events_per_second;
    assert!((0.019..=0.022).contains(&per_event), "{per_event}");
    let bound = arithmetic_bound(&scenario(5_000.0, 1, 100));
    assert_eq!(bound.binding, "hottest partition's WCU");
    assert!(
        (24_000.0..=26_000.0).contains(&bound.events_per_second),
        "{bound:?}"
    );
}

#[test]
fn one_busy_user_is_bound_by_its_own_items_partition() {
    // One user whose day item is of the layout before the cap, with 1,000 markers inline:
    // ~16 KB, 34 units per write (new markers are items of their own, the item stays).
    let mut s = scenario(3_000.0, 10, 100);
    s.load.users = 1;
    s.load.already_applied_per_user = 1_000;
    let report = run(&s);
    assert!(!report.bounded, "{report:#?}");
    assert!(report.throttled_transactions > 0);
    assert_eq!(report.hottest_partition, "USER#0/DAY#2026-11-26");
    // The bucket may enter the measured window holding part of one write (< 200 units).
    assert!(
        report.hottest_partition_wcu_per_second <= 1_000.0 + 200.0 / 2.0,
        "{report:#?}"
    );
    assert!(
        report.hottest_partition_wcu_per_second > 900.0,
        "{report:#?}"
    );
    assert!(report.applied_events_per_second < 1_500.0, "{report:#?}");
}

#[test]
fn a_user_item_near_400_kb_no_longer_grows_its_markers_overflow() {
    // An item of the layout before the cap, a few events short of 400 KB: before, it was
    // refused within a second; now its markers are items of their own. Each update of it
    // still costs ~780 units, so its own partition takes about one a second.
    let mut s = scenario(200.0, 1, 10);
    s.load.users = 1;
    s.load.already_applied_per_user = 25_580;
    let report = run(&s);
    assert_eq!(report.refused_events, 0, "{report:#?}");
    assert!(report.applied_events_per_second > 0.0, "{report:#?}");
    let sizes = crate::ItemSizes::from_billing_rules();
    assert_eq!(
        report.largest_user_item_bytes,
        sizes.user_item_bytes(25_580)
    );
    assert!(report.largest_user_item_bytes <= MAX_ITEM_BYTES);
}

#[test]
fn a_full_day_item_costs_the_same_per_event_however_busy_the_user() {
    // 32 markers inline: the item stays under 1 KB; every event past them is one marker item.
    let sizes = crate::ItemSizes::from_billing_rules();
    let full = taskpulse_app::analytics::MAX_INLINE_MARKERS as u32;
    assert!(sizes.user_item_bytes(full) <= 1024, "{sizes:?}");
    assert_eq!(sizes.user_write_units(full), 2);
    assert_eq!(sizes.marker_write_units(), 2);
}

#[test]
fn the_table_quota_binds_when_enforced() {
    // Single-event batches over 32 shards: 2 units on the user, 2 on a shard per event.
    let mut s = scenario(1_000.0, 32, 1);
    s.table.table_wcu_per_second = Some(1_000.0);
    let report = run(&s);
    assert!(report.throttled_transactions > 0);
    assert!(report.table_wcu_per_second <= 1_000.0 * 1.01, "{report:#?}");
    assert!(
        (230.0..=255.0).contains(&report.applied_events_per_second),
        "{report:#?}"
    );
}

#[test]
fn a_run_is_deterministic_for_its_seed() {
    let s = scenario(2_000.0, 2, 10);
    assert_eq!(run(&s), run(&s));
    let mut other = s.clone();
    other.seed = 2;
    assert_ne!(run(&s).max_event_age_ms, 0);
    assert_ne!(run(&s), run(&other));
}
