//! Failures moto does not produce, injected in front of the real DynamoDB client: conflicts,
//! throttling and committed transactions whose response is lost.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_dynamodb::types::{CancellationReason, TransactWriteItem};
use taskpulse_app::StoreError;
use taskpulse_aws::{DynamoAnalyticsStore, TransactOutcome, TransactWrites};
use taskpulse_lambda::consumer::{Consumer, handle_batch};
use taskpulse_testkit::{
    HistoryShape, failed_ids, pipeline_on_moto, shuffle, sqs_event, sqs_record,
};

use super::{assert_matches, global_report, recount, user_report};

/// The failures moto does not produce, injected in front of the real client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// DynamoDB cancels the transaction: another transaction was writing one of its items.
    Conflict,
    /// DynamoDB refuses for capacity.
    Throttled,
    /// The transaction commits, but the response is lost (timeout, crash before it arrives).
    LostResponse,
}

struct FaultyWriter {
    inner: aws_sdk_dynamodb::Client,
    faults: Mutex<Vec<Fault>>,
    calls: AtomicUsize,
}

impl TransactWrites for FaultyWriter {
    async fn transact_write(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<TransactOutcome, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let fault = {
            let mut faults = self.faults.lock().unwrap();
            if faults.is_empty() {
                None
            } else {
                Some(faults.remove(0))
            }
        };
        match fault {
            None => self.inner.transact_write(items).await,
            Some(Fault::Conflict) => {
                let reasons = (0..items.len())
                    .map(|i| {
                        CancellationReason::builder()
                            .code(if i == 0 {
                                "TransactionConflict"
                            } else {
                                "None"
                            })
                            .build()
                    })
                    .collect();
                Ok(TransactOutcome::Cancelled(reasons))
            }
            Some(Fault::Throttled) => Err(StoreError::Unavailable(
                "ThrottlingException: rate exceeded".into(),
            )),
            Some(Fault::LostResponse) => {
                let committed = self.inner.transact_write(items).await?;
                assert!(matches!(committed, TransactOutcome::Committed { .. }));
                Err(StoreError::Unavailable(
                    "connection reset before the response".into(),
                ))
            }
        }
    }
}

#[tokio::test]
async fn conflicts_throttling_and_lost_responses_cause_no_drift() {
    let (stack, pipeline) = pipeline_on_moto().await;
    let history = HistoryShape::every_counter().generate();
    let writer = FaultyWriter {
        inner: aws_sdk_dynamodb::Client::new(&stack.config),
        faults: Mutex::new(vec![]),
        calls: AtomicUsize::new(0),
    };
    let store = DynamoAnalyticsStore::with_writer(
        writer,
        aws_sdk_dynamodb::Client::new(&stack.config),
        stack
            .resources
            .table(taskpulse_devstack::ANALYTICS_TABLE)
            .unwrap(),
        pipeline.limits.global_shards,
    );
    let mut messages: Vec<SqsMessage> = history
        .events
        .iter()
        .enumerate()
        .map(|(n, e)| sqs_record(format!("m-{n}"), e.to_json()))
        .collect();
    shuffle(&mut messages, 42);
    let chunks: Vec<Vec<SqsMessage>> = messages.chunks(40).map(<[_]>::to_vec).collect();
    let scripts = [
        vec![Fault::Conflict, Fault::Conflict, Fault::Throttled],
        vec![Fault::LostResponse],
        vec![Fault::Throttled, Fault::LostResponse, Fault::Conflict],
    ];
    // No time left for retries: the first transient failure is reported.
    let short = tokio::time::Instant::now;
    let mut redeliveries = 0;
    for (n, chunk) in chunks.iter().enumerate() {
        // No time to retry for every third batch (whose script loses a committed response):
        // the records are reported failed, SQS delivers them again, and the redelivery must
        // not count twice.
        let tight = n % 3 == 1;
        *store_writer(&store).faults.lock().unwrap() = scripts[n % scripts.len()].clone();
        let batch = sqs_event(chunk.clone());
        let (response, _) = if tight {
            let consumer = Consumer {
                archive: &pipeline.archive,
                store: &store,
                erasures: pipeline.tasks(),
                requeue: pipeline.requeue(),
                limits: pipeline.limits,
            };
            handle_batch(&consumer, batch, short()).await.unwrap()
        } else {
            pipeline.consume_with(&store, batch).await
        };
        if !response.batch_item_failures.is_empty() {
            redeliveries += 1;
            let failed = failed_ids(&response);
            let again = chunk
                .iter()
                .filter(|m| failed.contains(&m.message_id.as_deref().unwrap()))
                .cloned()
                .collect();
            let (response, _) = pipeline.consume_with(&store, sqs_event(again)).await;
            assert!(response.batch_item_failures.is_empty());
        }
    }
    assert!(
        redeliveries > 0,
        "the tight deadlines must have forced at least one redelivery"
    );
    assert!(store_writer(&store).calls.load(Ordering::SeqCst) > chunks.len());

    let global = global_report(&pipeline).await;
    assert_matches(&global, &recount(&history, None), "everyone");
    let user = user_report(&pipeline, "user-3").await;
    assert_matches(&user, &recount(&history, Some("user-3")), "user-3");
}

fn store_writer(store: &DynamoAnalyticsStore<FaultyWriter>) -> &FaultyWriter {
    store.writer()
}
