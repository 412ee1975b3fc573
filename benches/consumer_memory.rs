//! Peak memory of the consumer handling the largest SQS batch: 10,000 messages. A child
//! process does only what the function does with one invocation — read the event JSON,
//! deserialize the `SqsEvent`, run the batch handler (against a store that commits without
//! keeping anything and an archive that drops the object it was given, so only the
//! consumer's own memory counts, the archive object it builds included) — and reports its peak
//! RSS.
//!
//! Run: `cargo bench --bench consumer_memory`. Results are recorded in `docs/benchmarks.md`.

use std::process::Command;

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::json;
use taskpulse_app::analytics::{PlanLimits, TransactionPlan};
use taskpulse_app::archive::ArchiveKey;
use taskpulse_app::projections::ProjectionConfig;
use taskpulse_app::{
    ApplyTransaction, LoadProjectionConfig, StoreError, TransactionResult, WriteArchive,
};
use taskpulse_domain::EventEnvelope;
use taskpulse_lambda::consumer::{Consumer, handle_batch};
use taskpulse_testkit::HistoryShape;

/// The consumer function's allocator (`functions/consumer/src/main.rs`): its peak is the figure.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct CommitEverything;

impl ApplyTransaction for CommitEverything {
    async fn apply_transaction(
        &self,
        _: &TransactionPlan,
    ) -> Result<TransactionResult, StoreError> {
        Ok(TransactionResult::Committed { write_units: 0.0 })
    }
}

impl LoadProjectionConfig for CommitEverything {
    async fn load_projection_config(&self) -> Result<ProjectionConfig, StoreError> {
        Ok(ProjectionConfig::initial())
    }
}

struct DropObjects;

impl WriteArchive for DropObjects {
    async fn put_archive_object(&self, _: &ArchiveKey, body: Vec<u8>) -> Result<(), StoreError> {
        drop(body);
        Ok(())
    }
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The 10,000-record SQS event, as the Lambda runtime receives it.
fn write_payload(path: &std::path::Path) -> usize {
    let events: Vec<EventEnvelope> = HistoryShape::workload(2_000, 4_000, 3)
        .generate()
        .events
        .into_iter()
        .take(10_000)
        .collect();
    assert_eq!(events.len(), 10_000);
    let records: Vec<_> = events
        .iter()
        .enumerate()
        .map(|(n, e)| {
            json!({
                "messageId": format!("{n:08}-0000-4000-8000-000000000000"),
                "receiptHandle": format!("AQEB{n:0>120}"),
                "body": e.to_json(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795687200123",
                               "SenderId": "AROAEXAMPLE:taskpulse-api", "ApproximateFirstReceiveTimestamp": "1795687200456"},
                "messageAttributes": {"eventType": {"stringValue": e.event_type(), "dataType": "String"}},
                "md5OfBody": "0123456789abcdef0123456789abcdef",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:taskpulse-EventsQueue",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    let payload = json!({ "Records": records }).to_string();
    std::fs::write(path, &payload).unwrap();
    payload.len()
}

async fn measure(path: &str) {
    let at_start = status_kib("VmRSS:");
    let payload = std::fs::read(path).unwrap();
    let batch: SqsEvent = serde_json::from_slice(&payload).unwrap();
    drop(payload);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let consumer = Consumer {
        archive: DropObjects,
        store: CommitEverything,
        erasures: taskpulse_app::memory::MemoryTaskStore::default(),
        requeue: taskpulse_app::memory::MemoryWorkQueue::default(),
        limits: PlanLimits::default(),
    };
    let (response, summary) = handle_batch(&consumer, batch, deadline).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.applied, 10_000);
    println!("transactions planned: {}", summary.transactions);
    println!(
        "RSS at start of the invocation: {:.1} MiB",
        at_start as f64 / 1024.0
    );
    println!(
        "peak RSS (VmHWM): {:.1} MiB",
        status_kib("VmHWM:") as f64 / 1024.0
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--measure") {
        measure(&args[position + 1]).await;
        return;
    }
    let path = std::env::temp_dir().join("taskpulse-consumer-10k-batch.json");
    let bytes = write_payload(&path);
    println!(
        "10,000 records, {:.1} MiB of event JSON",
        bytes as f64 / 1_048_576.0
    );
    let output = Command::new(std::env::current_exe().unwrap())
        .arg("--measure")
        .arg(&path)
        .output()
        .unwrap();
    print!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_file(&path);
}
