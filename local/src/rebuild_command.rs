//! `taskpulse rebuild`: rebuilds the analytics of a running local stack from its event archive
//! (the stack runs it, on whichever backend it uses; see `crate::rebuild`), drawing its
//! progress, then prints the report. Exits non-zero if the rebuild failed or its activation
//! was refused.

use std::time::Duration;

use http::{Method, StatusCode};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use taskpulse_devstack::bounded_http::send;

/// How often the state is polled.
const POLL_EVERY: Duration = Duration::from_millis(200);
/// The stack answers these requests at once; a stack that does not is not serving.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, clap::Args)]
pub struct RebuildOptions {
    /// The local stack's base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// The projection to build (`tasks`, `tasks-by-priority`).
    #[arg(long, default_value = "tasks-by-priority")]
    pub projection: String,
    /// The first archive partition (UTC date) to backfill [default: the first].
    #[arg(long)]
    pub from: Option<chrono::NaiveDate>,
    /// The last archive partition to backfill [default: the last].
    #[arg(long)]
    pub to: Option<chrono::NaiveDate>,
    /// Build and verify, but leave the current version serving.
    #[arg(long)]
    pub no_activate: bool,
    /// Activate although the verification found differences (e.g. a projection bug fixed).
    #[arg(long)]
    pub force: bool,
    /// Counter item writes per second at most.
    #[arg(long)]
    pub write_rate: Option<f64>,
    /// Seconds between registering the version and reading the archive [default: the
    /// configuration cache plus the consumer's timeout, so no batch in flight is missed].
    #[arg(long)]
    pub settle_seconds: Option<u64>,
}

async fn call(
    method: Method,
    url: &str,
    body: Option<Value>,
) -> Result<(StatusCode, Value), String> {
    let headers: &[(&str, &str)] = if body.is_some() {
        &[("content-type", "application/json")]
    } else {
        &[]
    };
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let answer = send(method, url, headers, body, REQUEST_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    Ok((answer.status, value))
}

/// Runs the rebuild; `Ok(true)` when it was verified and (unless `--no-activate`) activated.
pub async fn run(options: RebuildOptions) -> Result<bool, String> {
    let base = options.url.trim_end_matches('/');
    let endpoint = format!("{base}/_local/rebuild");
    let request = json!({
        "projection": options.projection,
        "from": options.from,
        "to": options.to,
        "activate": !options.no_activate,
        "force": options.force,
        "writeRate": options.write_rate,
        "settleSeconds": options.settle_seconds,
    });
    let (status, answer) = call(Method::POST, &endpoint, Some(request))
        .await
        .map_err(|e| {
            format!("no local stack answers: {e}\n  start one with `cargo run` (or pass --url)")
        })?;
    if status != StatusCode::ACCEPTED {
        return Err(format!(
            "the stack refused the rebuild ({status}): {}",
            answer["detail"]
        ));
    }
    println!(
        "taskpulse rebuild: {} from the event archive of {base}",
        options.projection
    );
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("  {bar:40} {pos}/{len} partitions  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let state = loop {
        let (_, state) = call(Method::GET, &endpoint, None).await?;
        let stage = state["stage"].as_str().unwrap_or("?");
        bar.set_length(state["partitionsPending"].as_u64().unwrap_or(0));
        bar.set_position(state["partitionsDone"].as_u64().unwrap_or(0));
        bar.set_message(format!(
            "{stage}: {} events, {:.0} events/s",
            state["events"],
            state["eventsPerSecond"].as_f64().unwrap_or(0.0)
        ));
        if matches!(stage, "done" | "failed") {
            break state;
        }
        tokio::time::sleep(POLL_EVERY).await;
    };
    bar.finish_and_clear();
    print_report(&state);
    Ok(state["stage"] == "done"
        && state["refused"].is_null()
        && (options.no_activate || state["activated"] == true))
}

fn print_report(state: &Value) {
    println!(
        "  version    {} ({})",
        state["version"],
        state["projection"].as_str().unwrap_or("?")
    );
    println!(
        "  archive    {} partitions, {} events: {} applied, {} already applied by the live consumer, {} repeated lines skipped",
        state["partitionsDone"],
        state["events"],
        state["applied"],
        state["duplicates"],
        state["repeatedLines"]
    );
    for corrupt in state["corrupt"].as_array().into_iter().flatten() {
        println!(
            "  corrupt    {} line {}: {}",
            corrupt["key"].as_str().unwrap_or("?"),
            corrupt["line"],
            corrupt["reason"].as_str().unwrap_or("?")
        );
    }
    println!(
        "  verified   {} counters differ from the active version",
        state["differences"]
    );
    if state["usersOnOtherDays"].as_u64().unwrap_or(0) > 0 {
        println!(
            "             {} users counted on other days ({} day items), same totals: their time zones",
            state["usersOnOtherDays"], state["userDaysOnOtherDays"]
        );
    }
    for difference in state["sampleDifferences"].as_array().into_iter().flatten() {
        println!(
            "             {} {}: active {}, rebuilt {}",
            difference["key"].as_str().unwrap_or("?"),
            difference["counter"].as_str().unwrap_or("?"),
            difference["active"],
            difference["building"]
        );
    }
    if let Some(error) = state["error"].as_str() {
        println!("  FAILED     {error} (rerun to continue: done partitions are skipped)");
    } else if state["activated"] == true {
        println!(
            "  active     version {} now answers the analytics routes",
            state["version"]
        );
    } else if let Some(refused) = state["refused"].as_str() {
        println!("  refused    {refused}");
    } else {
        println!("  built      not activated (--no-activate)");
    }
}
