//! One run of the simulator: check the stack answers, set up delivery chaos and poison, run the
//! workload, wait for the counters to settle, and report.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use http::Method;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use taskpulse_local::event_source_mapping::DeliveryChaos;

use crate::client::{HttpClient, dead_letters, local_stats};
use crate::durations::percentile_differences;
use crate::erasure::erase_during_traffic;
use crate::freshness::percentile;
use crate::overdue::overdue_difference;
use crate::poison::poison_bodies;
use crate::rebuild::rebuild_during_traffic;
use crate::recount::{Extras, differences, observed};
use crate::report::{SimulationReport, print_report};
use crate::simulation::{Simulation, lock};
use crate::workload::workload;
use crate::zones::{set_zones, zone_of};
use crate::{SimulateError, SimulateOptions};

/// Runs the simulation and prints its report.
pub async fn run(options: SimulateOptions) -> Result<SimulationReport, SimulateError> {
    if options.users == 0 || options.tasks == 0 || options.concurrency == 0 {
        return Err(SimulateError::Setup(
            "--users, --tasks and --concurrency must be at least 1".into(),
        ));
    }
    if options
        .rate
        .is_some_and(|rate| !(rate >= 0.1 && rate.is_finite()))
    {
        return Err(SimulateError::Setup(
            "--rate must be at least 0.1 commands/s".into(),
        ));
    }
    if let Some(projection) = &options.rebuild {
        if taskpulse_domain::analytics::Projection::from_name(projection).is_none() {
            return Err(SimulateError::Setup(format!(
                "--rebuild: no projection named '{projection}' (known: {})",
                taskpulse_domain::analytics::Projection::ALL
                    .map(|p| p.name())
                    .join(", ")
            )));
        }
        if !(0.0..1.0).contains(&options.rebuild_at) {
            return Err(SimulateError::Setup(
                "--rebuild-at must be in [0, 1)".into(),
            ));
        }
    }
    if options.erase && (options.users < 2 || !(0.0..1.0).contains(&options.erase_at)) {
        return Err(SimulateError::Setup(
            "--erase needs at least 2 users and --erase-at in [0, 1)".into(),
        ));
    }
    let delivery = options.delivery();
    delivery
        .validate()
        .map_err(|e| SimulateError::Setup(format!("--duplicate-rate: {e}")))?;
    let http = HttpClient::new(&options.url);
    let health = http
        .send(Method::GET, "/health", &[], None)
        .await
        .map_err(|e| {
            SimulateError::Setup(format!(
                "no local stack answers at {}: {e}\n  start one with `cargo run` (or pass --url)",
                options.url
            ))
        })?;
    let backend = health.1["backend"].as_str().unwrap_or("?").to_owned();
    let seed = options.seed.unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    let run_id = format!("{:06x}", rng.u32(..) & 0xff_ffff);
    let start_day = Utc::now().date_naive();
    let scripts = workload(&options, &mut rng, Utc::now());
    let total_commands: usize = scripts.iter().map(|s| s.steps.len()).sum();
    println!(
        "taskpulse simulate: {} users, {} tasks, {total_commands} commands against {} ({backend}); seed {seed}",
        options.users, options.tasks, options.url
    );

    let progress = if options.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(total_commands as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "  {bar:40} {pos}/{len} commands  {per_sec}  {elapsed}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let simulation = Arc::new(Simulation {
        users: (0..options.users)
            .map(|i| format!("sim-{run_id}-user-{i}"))
            .collect(),
        recounts: (0..options.users).map(|_| Mutex::default()).collect(),
        freshness: (0..options.users).map(|_| Mutex::default()).collect(),
        http,
        commands: Default::default(),
        events: Default::default(),
        errors: Mutex::default(),
        erasing: options.erase.then(|| options.users - 1),
        erase_requested: Default::default(),
        progress,
        regressions: Mutex::default(),
        next_slot: options
            .rate
            .map(|_| Mutex::new(tokio::time::Instant::now())),
        slot_interval: options
            .rate
            .map_or(Duration::ZERO, |rate| Duration::from_secs_f64(1.0 / rate)),
    });

    set_zones(&simulation).await?;
    let global_before = observed(&simulation.analytics(None, start_day).await?);
    let stats_before = local_stats(&simulation.http).await.ok();
    let dead_before = stats_before.as_ref().and_then(dead_letters);
    let poison = options.poison_count();
    let chaos_wanted = delivery != DeliveryChaos::default() || poison > 0;
    if (chaos_wanted || options.rebuild.is_some()) && stats_before.is_none() {
        return Err(SimulateError::Setup(
            "delivery chaos, poison and --rebuild need the local stack's /_local endpoints, which this URL does not serve".into(),
        ));
    }
    if delivery != DeliveryChaos::default() {
        simulation
            .http
            .call(Method::PUT, "/_local/delivery", &[], Some(json!(delivery)))
            .await?;
        println!(
            "  delivery: {:.0} % of processed messages delivered again{}",
            delivery.duplicate_rate * 100.0,
            if delivery.reorder {
                ", batches shuffled"
            } else {
                ""
            }
        );
    }
    for body in poison_bodies(poison) {
        simulation
            .http
            .send(Method::POST, "/_local/queue/messages", &[], Some(body))
            .await
            .map_err(|e| SimulateError::Setup(format!("injecting poison: {e}")))?;
    }
    if poison > 0 {
        println!("  poison: {poison} malformed messages put on the queue");
    }

    let (done_tx, done) = tokio::sync::watch::channel(false);
    let observer = {
        let simulation = Arc::clone(&simulation);
        tokio::spawn(async move { simulation.observe(start_day, done).await })
    };
    let rebuild = options.rebuild.clone().map(|projection| {
        let start_after = (total_commands as f64 * options.rebuild_at) as u64;
        tokio::spawn(rebuild_during_traffic(
            Arc::clone(&simulation),
            projection,
            start_after,
        ))
    });
    let erasure = simulation.erasing.map(|user| {
        let start_after = (total_commands as f64 * options.erase_at) as u64;
        tokio::spawn(erase_during_traffic(
            Arc::clone(&simulation),
            user,
            start_after,
        ))
    });
    let started = Instant::now();
    let queue = Arc::new(Mutex::new(
        scripts.into_iter().enumerate().collect::<Vec<_>>(),
    ));
    let workers: Vec<_> = (0..options.concurrency)
        .map(|_| {
            let simulation = Arc::clone(&simulation);
            let queue = Arc::clone(&queue);
            let run_id = run_id.clone();
            tokio::spawn(async move {
                loop {
                    let next = lock(&queue).pop();
                    let Some((n, script)) = next else { return };
                    if let Err(error) = simulation.run_task(&script, &format!("{run_id}-{n}")).await
                    {
                        lock(&simulation.errors).push(error.to_string());
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let sending = started.elapsed();
    let rebuilt = match rebuild {
        Some(task) => Some(
            task.await
                .map_err(|e| SimulateError::Setup(format!("the rebuild task failed: {e}")))??,
        ),
        None => None,
    };
    let erased = match erasure {
        Some(task) => Some(
            task.await
                .map_err(|e| SimulateError::Setup(format!("the erasure task failed: {e}")))??,
        ),
        None => None,
    };
    simulation.progress.finish_and_clear();
    let extras = Extras::of(
        options
            .rebuild
            .as_deref()
            .filter(|_| rebuilt.as_ref().is_some_and(|r| r.activated)),
    );
    let serving = rebuilt
        .as_ref()
        .filter(|r| r.activated)
        .and_then(|r| r.version);
    let commands = simulation
        .commands
        .load(std::sync::atomic::Ordering::Relaxed);
    let events = simulation.events.load(std::sync::atomic::Ordering::Relaxed);

    // Settle: wait until every user's counters and the global ones reach the recount.
    let settle_until = Instant::now() + Duration::from_secs(options.settle_timeout_secs);
    let expected_global = {
        let mut total = global_before.clone();
        for recount in &simulation.recounts {
            total.merge(&lock(recount));
        }
        total
    };
    let mut mismatches;
    let mut settled_at;
    let version_check = |answer: &serde_json::Value, whose: &str, mismatches: &mut Vec<String>| {
        if let Some(version) = serving
            && answer["projectionVersion"].as_u64() != Some(version)
        {
            mismatches.push(format!(
                "{whose}: answered by projection version {} after version {version} was activated",
                answer["projectionVersion"]
            ));
        }
    };
    loop {
        mismatches = vec![];
        for user in 0..options.users {
            if simulation.is_erased(user) {
                // Refused now; its events stay in the global recount.
                continue;
            }
            let expected = lock(&simulation.recounts[user]).clone();
            let answer = simulation.analytics(Some(user), start_day).await?;
            simulation.note_seen(user, &answer);
            version_check(&answer, &simulation.users[user], &mut mismatches);
            let actual = observed(&answer);
            for (counter, e, a) in differences(&expected, &actual, extras) {
                mismatches.push(format!(
                    "{}: {counter} expected {e}, found {a}",
                    simulation.users[user]
                ));
            }
            if extras.v2 {
                for wrong in percentile_differences(&expected.durations, &answer) {
                    mismatches.push(format!("{}: {wrong}", simulation.users[user]));
                }
            }
            if extras.overdue {
                let open = &expected.open_by_planned_date;
                if let Some(wrong) = overdue_difference(open, &zone_of(user), &answer) {
                    mismatches.push(format!("{}: {wrong}", simulation.users[user]));
                }
            }
        }
        let answer = simulation.analytics(None, start_day).await?;
        version_check(&answer, "global", &mut mismatches);
        let actual = observed(&answer);
        // Global per-priority counts include what other runs left: only users are compared.
        for (counter, e, a) in differences(&expected_global, &actual, Extras::default()) {
            mismatches.push(format!("global: {counter} expected {e}, found {a}"));
        }
        settled_at = started.elapsed();
        if mismatches.is_empty() || Instant::now() >= settle_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = done_tx.send(true);
    let observer_round = observer.await.unwrap_or_default();
    mismatches.extend(lock(&simulation.regressions).iter().cloned());
    if let Some((_, wrong)) = &erased {
        mismatches.extend(wrong.iter().cloned());
    }
    if let Some(rebuilt) = &rebuilt
        && !rebuilt.activated
    {
        mismatches.push(format!("the rebuild was not activated: {}", rebuilt.state));
    }

    let mut dead_letters_found = None;
    if poison > 0 {
        loop {
            let found = local_stats(&simulation.http)
                .await
                .ok()
                .as_ref()
                .and_then(dead_letters);
            let new = found.map(|f| f.saturating_sub(dead_before.unwrap_or(0)));
            dead_letters_found = new;
            if new.is_none_or(|n| n >= poison as u64) || Instant::now() >= settle_until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let stats_after = if stats_before.is_some() {
        local_stats(&simulation.http).await.ok()
    } else {
        None
    };
    if delivery != DeliveryChaos::default() {
        let _ = simulation
            .http
            .call(
                Method::PUT,
                "/_local/delivery",
                &[],
                Some(json!(DeliveryChaos::default())),
            )
            .await;
    }

    let mut samples: Vec<Duration> = simulation
        .freshness
        .iter()
        .flat_map(|f| {
            let f = lock(f);
            f.accepted
                .iter()
                .zip(&f.seen)
                .map(|(accepted, seen)| seen.saturating_duration_since(*accepted))
                .collect::<Vec<_>>()
        })
        .collect();
    samples.sort();
    let errors = lock(&simulation.errors).clone();
    let report = SimulationReport {
        commands,
        events,
        commands_per_second: commands as f64 / sending.as_secs_f64().max(1e-9),
        events_per_second: events as f64 / settled_at.as_secs_f64().max(1e-9),
        freshness_p50: percentile(&samples, 50.0),
        freshness_p99: percentile(&samples, 99.0),
        freshness_samples: samples.len(),
        freshness_resolution: observer_round,
        mismatches,
        errors,
        dead_letters_expected: poison,
        dead_letters_found,
        rebuild: rebuilt.map(|r| r.state),
        erasure: erased.map(|(status, _)| status),
        erased_user: simulation
            .erasing
            .map(|user| simulation.users[user].clone()),
        checked: extras,
    };
    print_report(
        &report,
        &options,
        sending,
        settled_at,
        stats_before.as_ref(),
        stats_after.as_ref(),
    );
    Ok(report)
}
