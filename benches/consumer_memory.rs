//! Peak memory of the consumer handling the largest SQS batch: 10,000 messages, parsed from
//! the JSON the Lambda runtime receives, applied through the batch handler (to a store that
//! commits without keeping anything, so only the consumer's own memory is measured).
//!
//! Run: `cargo bench --bench consumer_memory` (prints the peak RSS from /proc/self/status).

mod common;

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::json;
use taskpulse_app::{ApplyTransaction, StoreError, TransactionResult};
use taskpulse_domain::EventEnvelope;
use taskpulse_domain::analytics::{PlanLimits, TransactionPlan};
use taskpulse_lambda::consumer::handle_batch;

struct CommitEverything;

impl ApplyTransaction for CommitEverything {
    async fn apply_transaction(
        &self,
        _: &TransactionPlan,
    ) -> Result<TransactionResult, StoreError> {
        Ok(TransactionResult::Committed { write_units: 0.0 })
    }
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let before = rss_kib("VmRSS:");
    let events: Vec<EventEnvelope> = common::event_mix(2_000, 4_000, 3)
        .into_iter()
        .take(10_000)
        .collect();
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
    drop(records);
    drop(events);
    let payload_bytes = payload.len();
    let baseline = rss_kib("VmRSS:");

    // What the function does with one invocation.
    let batch: SqsEvent = serde_json::from_str(&payload).unwrap();
    drop(payload);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let (response, summary) =
        handle_batch(&CommitEverything, batch, &PlanLimits::default(), deadline)
            .await
            .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.applied, 10_000);

    println!(
        "records: {}, transactions planned: {}",
        summary.records, summary.transactions
    );
    println!("payload: {:.1} MiB", payload_bytes as f64 / 1_048_576.0);
    println!("RSS at start: {:.1} MiB", before as f64 / 1024.0);
    println!(
        "RSS with the payload in memory: {:.1} MiB",
        baseline as f64 / 1024.0
    );
    println!(
        "peak RSS (VmHWM): {:.1} MiB",
        rss_kib("VmHWM:") as f64 / 1024.0
    );
}
