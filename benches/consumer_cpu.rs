//! CPU per event of the consumer's own work, without I/O: decode the SQS body, project the
//! event onto counter deltas, and plan the batch into merged, packed transactions.
//!
//! Run: `cargo bench --bench consumer_cpu`. Results are recorded in `docs/benchmarks.md`.
//!
//! With `CONSUMER_CPU_PASSES=<n>` set it runs no criterion measurement: it decodes, projects
//! and plans the batch `n` times (or only decodes, with `CONSUMER_CPU_WORK=decode`) and exits,
//! so that `scripts/bench-consumer-instructions.sh` can count the instructions of that work
//! under callgrind.

use criterion::{Criterion, Throughput, criterion_group};
use std::hint::black_box;
use taskpulse_app::analytics::{PlanLimits, plan_transactions};
use taskpulse_domain::analytics::{EventEffect, Projection, ProjectionVersion, effect};
use taskpulse_domain::{EventEnvelope, TimeZone};
use taskpulse_testkit::{HistoryShape, shuffle};

/// The consumer function's allocator (`functions/consumer/src/main.rs`), so the figures are its.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The largest batch SQS hands a Lambda function (standard queue).
const BATCH: usize = 10_000;

/// The bodies of a batch of the workload's events: `zones` stamps them as the API would.
fn batch_bodies(zones: Option<&[TimeZone]>) -> Vec<String> {
    let shape = HistoryShape::workload(2_000, 4_000, 3);
    let events = match zones {
        Some(zones) => {
            shape
                .generate_in_zones(&|user| zones[user.as_str().len() % zones.len()].clone())
                .events
        }
        None => shape.generate().events,
    };
    let mut bodies: Vec<String> = events.iter().map(EventEnvelope::to_json).collect();
    bodies.truncate(BATCH);
    assert_eq!(bodies.len(), BATCH, "the mix must fill a batch");
    shuffle(&mut bodies, 7);
    bodies
}

/// Decode, project and plan `bodies` as the consumer does (`tasks`).
fn decode_project_plan(bodies: &[String], limits: &PlanLimits) -> usize {
    let effects: Vec<_> = bodies
        .iter()
        .map(|body| effect(&EventEnvelope::from_json(body).unwrap()))
        .collect();
    plan_transactions(ProjectionVersion::FIRST, &effects, limits, || 3).len()
}

/// The passes of `CONSUMER_CPU_PASSES`, counted rather than timed.
fn counted_passes(passes: usize) {
    let bodies = batch_bodies(None);
    let limits = PlanLimits::default();
    let decode_only = std::env::var("CONSUMER_CPU_WORK").as_deref() == Ok("decode");
    for _ in 0..passes {
        if decode_only {
            for body in &bodies {
                black_box(EventEnvelope::from_json(body).unwrap());
            }
        } else {
            black_box(decode_project_plan(black_box(&bodies), &limits));
        }
    }
}

fn consumer_cpu(c: &mut Criterion) {
    let bodies = batch_bodies(None);
    let limits = PlanLimits::default();
    let plan = |effects: &[EventEffect]| {
        plan_transactions(ProjectionVersion::FIRST, effects, &limits, || 3)
    };
    let mut group = c.benchmark_group("consumer");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    group.bench_function("decode 10k", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(EventEnvelope::from_json(body).unwrap());
            }
        })
    });
    let events: Vec<EventEnvelope> = bodies
        .iter()
        .map(|b| EventEnvelope::from_json(b).unwrap())
        .collect();
    group.bench_function("project + plan 10k", |b| {
        b.iter(|| {
            let effects: Vec<_> = events.iter().map(effect).collect();
            black_box(plan(&effects))
        })
    });
    group.bench_function("decode + project + plan 10k", |b| {
        b.iter(|| black_box(decode_project_plan(&bodies, &limits)))
    });
    // The same events, in the same order, stamped as the API stamps them for owners in four
    // zones, counted by `tasks-v2` (its per-priority completions and histogram buckets, local
    // days spanning two UTC days) and by `tasks-v3` (the due gauges besides).
    let zones = ["UTC", "Asia/Tokyo", "America/Los_Angeles", "Europe/Berlin"]
        .map(|name| TimeZone::parse(name).expect("a known zone"));
    let stamped = batch_bodies(Some(&zones));
    for projection in [Projection::TasksV2, Projection::TasksV3] {
        let name = format!("decode + project + plan 10k, {projection}");
        group.bench_function(name, |b| {
            b.iter(|| {
                let effects: Vec<_> = stamped
                    .iter()
                    .map(|body| projection.effect(&EventEnvelope::from_json(body).unwrap()))
                    .collect();
                black_box(plan(&effects))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, consumer_cpu);

fn main() {
    match std::env::var("CONSUMER_CPU_PASSES") {
        Ok(passes) => counted_passes(passes.parse().expect("CONSUMER_CPU_PASSES is a count")),
        Err(_) => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
