//! Runs the taskpulse pipeline once, locally, against a fresh moto server:
//! tasks are created through the API handler, their events travel through the real SQS queue,
//! every batch is delivered to the consumer twice (as SQS may do), and the DynamoDB counters
//! are printed: each task counts once.
//!
//! Needs only the Rust toolchain and python3: moto is installed into `.venv` on first run.

use std::process::ExitCode;

use chrono::Utc;
use serde_json::json;
use taskpulse::{AwsPipeline, PipelineError};
use taskpulse_app::ReadCounters;
use taskpulse_devstack::Stack;
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::{Counter, CounterKey, Scope};
use taskpulse_lambda::apigw::HttpApiEvent;

const USERS: [&str; 3] = ["alice", "bob", "carol"];
const TASKS_PER_USER: [usize; 3] = [3, 2, 1];

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("taskpulse: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), PipelineError> {
    println!("Starting moto (DynamoDB + SQS) and creating the resources of template.yaml...");
    let stack = Stack::start().await?;
    println!("  endpoint {}", stack.moto.endpoint_url());
    for (logical, name) in &stack.resources.tables {
        println!("  table {logical}: {name}");
    }
    for (logical, queue) in &stack.resources.queues {
        println!("  queue {logical}: {}", queue.url);
    }
    let pipeline = AwsPipeline::new(&stack.config, &stack.resources)?;

    println!("\nPOST /tasks through the API handler:");
    for (user, count) in USERS.iter().zip(TASKS_PER_USER) {
        for n in 1..=count {
            let request = HttpApiEvent::new("POST", "/tasks")
                .caller(user)
                .json(&json!({
                    "title": format!("{user}'s task {n}"),
                    "priority": "high",
                    "plannedAccomplishDate": "2030-01-01T17:00:00Z"
                }))
                .to_request();
            let response = pipeline.api.handle(request).await;
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned();
            println!("  {user:<6} -> {} {location}", response.status());
        }
    }

    println!("\nPolling the queue; every batch is delivered to the consumer twice:");
    while let Some(summary) = pipeline.poll_once(2).await? {
        println!(
            "  batch: {} applied, {} duplicates skipped, {} failed",
            summary.applied,
            summary.duplicates,
            summary.poison + summary.failed_writes
        );
    }

    let today = Utc::now().date_naive();
    println!("\nCounters for {today} (read from DynamoDB):");
    let scopes = USERS
        .iter()
        .map(|u| Scope::User(UserId::parse(u).expect("valid user id")))
        .chain([Scope::Global]);
    for scope in scopes {
        let label = match &scope {
            Scope::User(user) => format!("user {user}"),
            Scope::Global => "everyone".to_owned(),
        };
        let counters = pipeline
            .analytics
            .read_counters(&CounterKey { scope, day: today })
            .await
            .map_err(|e| PipelineError::Sqs(e.to_string()))?;
        let get = |c: Counter| counters.get(&c).copied().unwrap_or(0);
        println!(
            "  {label:<12} created={} openNew={}",
            get(Counter::Created),
            get(Counter::OpenNew)
        );
    }
    println!("\nDone; moto is stopped and its state discarded.");
    Ok(())
}
