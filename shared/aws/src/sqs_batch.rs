//! One `SendMessageBatch` call and what it left unsent: the one place that reads SQS's answer
//! for the event publisher and the work queues.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

/// `SendMessageBatch` (and every other SQS batch call) takes at most ten entries.
pub const SQS_BATCH_LIMIT: usize = 10;

/// Why entries of a batch were not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BatchNotSent {
    /// The call itself failed: none of the entries was sent.
    Call(String),
    /// SQS answered 200 but refused these entries (by the ids they were sent with); the rest
    /// were sent.
    Entries { ids: Vec<String>, reason: String },
}

/// Sends `entries` (at most [`SQS_BATCH_LIMIT`], ids unique within them) in one call.
pub(crate) async fn send_batch(
    client: &Client,
    queue_url: &str,
    entries: Vec<SendMessageBatchRequestEntry>,
) -> Result<(), BatchNotSent> {
    let output = client
        .send_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| BatchNotSent::Call(DisplayErrorContext(&e).to_string()))?;
    // A 200 response can still carry failed entries: each must be treated as unsent.
    let failed = output.failed();
    if failed.is_empty() {
        return Ok(());
    }
    let reason = failed
        .iter()
        .map(|f| {
            format!(
                "entry {}: {} {}",
                f.id(),
                f.code(),
                f.message().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(BatchNotSent::Entries {
        ids: failed.iter().map(|f| f.id().to_owned()).collect(),
        reason,
    })
}
