//! Rebuild throughput on the embedded backend, one core: a history archived the way the
//! consumer archives it (one object per batch of 100 and UTC day), then rebuilt from the
//! archive into a new projection version — read, parse, deduplicate, project, plan, commit
//! exactly once — and the same rebuild run again (everything a duplicate). From the item writes
//! per event it measures, it models a rebuild on AWS: hours for 100 million events at a write
//! budget and a worker concurrency.
//!
//! Run: `cargo bench --bench rebuild_throughput`. Results are recorded in `docs/benchmarks.md`.

use std::time::{Duration, Instant};

use taskpulse_app::analytics::PlanLimits;
use taskpulse_app::archive::archive_events;
use taskpulse_app::memory::{MemoryAnalyticsStore, MemoryArchive};
use taskpulse_app::rebuild::{RebuildPlan, Rereads, WritePace, retire, run_rebuild};
use taskpulse_domain::analytics::Projection;
use taskpulse_testkit::HistoryShape;

/// One worker's sustained item writes per second on DynamoDB: a `TransactWriteItems` of 100
/// items takes about 25 ms there (a stated assumption, not measured here).
const WORKER_ITEM_WRITES_PER_SECOND: f64 = 4_000.0;

fn plan(projection: Projection) -> RebuildPlan {
    RebuildPlan {
        projection,
        from: None,
        to: None,
        settle: Duration::ZERO,
        write_rate: None,
        limits: PlanLimits::default(),
        // Version 1 is empty here, so every item differs: no rereads (each would read one key).
        rereads: Rereads {
            rounds: 0,
            pause: Duration::ZERO,
        },
        activate: true,
        force: true,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let events = HistoryShape::workload(5_000, 60_000, 30).generate().events;
    let archive = MemoryArchive::default();
    for batch in events.chunks(100) {
        let outcome = archive_events(&archive, batch).await;
        assert!(outcome.failed.is_empty());
    }
    let store = MemoryAnalyticsStore::default();
    println!(
        "history: {} events, {} archive objects, 30 days, 5,000 users\n",
        events.len(),
        archive.objects().len()
    );
    println!(
        "| run | events | applied | item writes | backfill s | events/s (one core) | with verification s |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut item_writes_per_event = 0.0;
    for (run, projection) in [
        ("rebuild into version 2 (`tasks`)", Projection::Tasks),
        (
            "rebuild into version 3 (`tasks-by-priority`)",
            Projection::TasksByPriority,
        ),
    ] {
        let started = Instant::now();
        let report = run_rebuild(
            &archive,
            &taskpulse_app::memory::MemoryTaskStore::default(),
            &store,
            &plan(projection),
            |_| {},
        )
        .await
        .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(report.events, events.len() as u64);
        assert_eq!(report.applied, events.len() as u64);
        assert!(report.activated);
        // The replaced version goes before the next build may start.
        retire(&store, &mut WritePace::new(None)).await.unwrap();
        item_writes_per_event = report.item_writes as f64 / report.events as f64;
        let backfill = report.backfill_time.as_secs_f64();
        println!(
            "| {run} | {} | {} | {} | {backfill:.2} | {:.0} | {seconds:.2} |",
            report.events,
            report.applied,
            report.item_writes,
            report.events as f64 / backfill
        );
    }

    println!(
        "\nmodel of a rebuild on AWS: 100 million events, {item_writes_per_event:.3} item writes per event (measured above), \
         each worker at most {WORKER_ITEM_WRITES_PER_SECOND:.0} item writes/s\n"
    );
    println!("| write budget (item writes/s) | workers | hours |");
    println!("|---|---|---|");
    let writes = 100_000_000.0 * item_writes_per_event;
    for (budget, workers) in [
        (1_000.0, 2.0),
        (5_000.0, 5.0),
        (20_000.0, 10.0),
        (20_000.0, 2.0),
    ] {
        let rate = f64::min(budget, workers * WORKER_ITEM_WRITES_PER_SECOND);
        println!(
            "| {budget:.0} | {workers:.0} | {:.1} |",
            writes / rate / 3600.0
        );
    }
}
