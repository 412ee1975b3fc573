//! The dashboard page in a real browser (Debian's headless Chromium, driven by Selenium from
//! `tests/browser/dashboard.py`) against the local stack as `cargo run` starts it: a task
//! created and completed through the page's form shows as the analytics API answers it, and
//! the page follows a simulation live, without a reload and without a console error.

use std::time::Duration;

use taskpulse_devstack::workspace_root;
use taskpulse_testkit::{browser, percentile};

use crate::local_stack::{BINARY, LocalStack};

#[test]
fn the_page_shows_what_the_api_answers_and_follows_a_simulation_live() {
    let Some(browser) = browser() else { return };
    // The batching window of template.yaml (1 s): what a newcomer sees.
    let stack = LocalStack::start(&[], &[]);
    let folder = workspace_root().join("target/browser");
    std::fs::create_dir_all(&folder).unwrap();
    let screenshot = folder.join("dashboard.png");
    let _ = std::fs::remove_file(&screenshot);

    let measured = browser
        .run_script(
            "dashboard.py",
            &[&stack.url, BINARY, screenshot.to_str().unwrap()],
        )
        .unwrap_or_else(|error| panic!("{error}\n{}", stack.output()));

    let mut latencies: Vec<Duration> = measured["latencies_ms"]
        .as_array()
        .expect("latencies")
        .iter()
        .map(|ms| Duration::from_secs_f64(ms.as_f64().unwrap() / 1000.0))
        .collect();
    latencies.sort();
    assert_eq!(latencies.len(), 22, "{measured}");
    let page_bytes = measured["page_bytes"].as_u64().unwrap();
    assert!(page_bytes > 0 && page_bytes < 200 * 1024, "{measured}");
    let shot = std::fs::metadata(&screenshot).expect("a screenshot").len();
    assert!(shot > 10_000, "a screenshot of {shot} bytes shows nothing");
    println!(
        "dashboard: command answer -> page shows it: p50 {:?}, p99 {:?} ({} commands); page {} bytes; {} global values seen live",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.len(),
        page_bytes,
        measured["global_values_seen"],
    );
}
