//! The answer of an SQS batch handler with `ReportBatchItemFailures`: the records to retry,
//! by message id. A record to retry without a message id cannot be reported; the handler
//! then fails the whole invocation, so that SQS returns the whole batch rather than lose it
//! (records already done are done again, which changes nothing).

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};

/// A record failed and has no message id to report it by.
#[derive(Debug, thiserror::Error)]
#[error("a failed SQS record has no messageId, so the batch cannot be partially failed")]
pub struct UnreportableFailure;

/// The records of a batch to retry.
#[derive(Debug, Default)]
pub struct PartialBatch {
    response: SqsBatchResponse,
}

impl PartialBatch {
    /// Reports the record with `message_id` for retry.
    pub fn retry(&mut self, message_id: Option<&str>) -> Result<(), UnreportableFailure> {
        let message_id = message_id.ok_or(UnreportableFailure)?;
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = message_id.to_owned();
        self.response.batch_item_failures.push(failure);
        Ok(())
    }

    pub fn into_response(self) -> SqsBatchResponse {
        self.response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_reported_by_id_and_one_without_an_id_is_unreportable() {
        let mut batch = PartialBatch::default();
        batch.retry(Some("m1")).unwrap();
        batch.retry(Some("m3")).unwrap();
        assert!(batch.retry(None).is_err());
        let ids: Vec<String> = batch
            .into_response()
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        assert_eq!(ids, ["m1", "m3"]);
    }
}
