//! `BatchWriteItem` and `BatchGetItem` in pages of their limits, with what DynamoDB left
//! unprocessed (under load, or past a partition's throughput) sent again after a pause.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest,
};
use taskpulse_app::StoreError;
use taskpulse_app::backoff::Backoff;

use crate::error::store_error;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// `BatchWriteItem` takes at most 25 requests.
pub(crate) const BATCH_WRITE_LIMIT: usize = 25;
/// `BatchGetItem` takes at most 100 keys.
pub(crate) const BATCH_GET_LIMIT: usize = 100;
/// Pauses before a batch's unprocessed part is sent again.
const UNPROCESSED_BACKOFF: Backoff = Backoff {
    first: std::time::Duration::from_millis(50),
    longest: std::time::Duration::from_secs(2),
};
/// Sends of one batch's unprocessed part before giving up (the caller's run is repeatable).
const UNPROCESSED_ATTEMPTS: u32 = 8;

fn rejected(error: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected(error.to_string())
}

pub(crate) fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(rejected)?;
    Ok(WriteRequest::builder().put_request(put).build())
}

pub(crate) fn delete_request(key: Item) -> Result<WriteRequest, StoreError> {
    let delete = DeleteRequest::builder()
        .set_key(Some(key))
        .build()
        .map_err(rejected)?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

/// Sends `pending` with `send`, which answers what it got back and what was left
/// unprocessed, until nothing is left; pauses between sends, and gives up after
/// [`UNPROCESSED_ATTEMPTS`] retries. Answers everything got back. `what` names the requests in
/// the error.
pub(crate) async fn until_processed<T, R, F, Fut>(
    mut pending: Vec<T>,
    what: &str,
    mut send: F,
) -> Result<Vec<R>, StoreError>
where
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = Result<(Vec<R>, Vec<T>), StoreError>>,
{
    let mut got = vec![];
    let mut attempt = 0;
    while !pending.is_empty() {
        if attempt > 0 {
            if attempt > UNPROCESSED_ATTEMPTS {
                return Err(StoreError::Unavailable(format!(
                    "{} {what} still unprocessed after {UNPROCESSED_ATTEMPTS} retries",
                    pending.len()
                )));
            }
            UNPROCESSED_BACKOFF.sleep(attempt - 1).await;
        }
        let (answered, left) = send(pending).await?;
        got.extend(answered);
        pending = left;
        attempt += 1;
    }
    Ok(got)
}

/// Writes `requests` to `table` in `BatchWriteItem` pages. A page is done before the next is
/// sent, so requests in an earlier call, or an earlier page, happen before later ones.
pub(crate) async fn write_all(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> Result<(), StoreError> {
    let mut requests = requests.into_iter().peekable();
    while requests.peek().is_some() {
        let page: Vec<WriteRequest> = requests.by_ref().take(BATCH_WRITE_LIMIT).collect();
        until_processed(page, "writes", |page| async move {
            let output = client
                .batch_write_item()
                .request_items(table, page)
                .send()
                .await
                .map_err(store_error)?;
            let left = output
                .unprocessed_items
                .and_then(|mut left| left.remove(table))
                .unwrap_or_default();
            Ok((Vec::<()>::new(), left))
        })
        .await?;
    }
    Ok(())
}

/// Reads the items of `keys` from `table` with eventually consistent `BatchGetItem` pages;
/// keys without an item are left out. `keys` must hold no key twice.
pub(crate) async fn get_all(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
) -> Result<Vec<Item>, StoreError> {
    let mut found = vec![];
    for page in keys.chunks(BATCH_GET_LIMIT) {
        let got = until_processed(page.to_vec(), "reads", |page| async move {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(page))
                .build()
                .map_err(rejected)?;
            let output = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(store_error)?;
            let answered = output
                .responses
                .and_then(|mut by_table| by_table.remove(table))
                .unwrap_or_default();
            let left = output
                .unprocessed_keys
                .and_then(|mut left| left.remove(table))
                .map(|left| left.keys)
                .unwrap_or_default();
            Ok((answered, left))
        })
        .await?;
        found.extend(got);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn what_is_left_unprocessed_is_sent_again_until_none_is_left() {
        let sent = Mutex::new(vec![]);
        let got = until_processed(vec![1, 2, 3, 4, 5], "writes", |page: Vec<u32>| {
            sent.lock().unwrap().push(page.clone());
            // Each send processes the first of what it is given.
            async move { Ok((vec![page[0] * 10], page[1..].to_vec())) }
        })
        .await
        .unwrap();
        assert_eq!(got, [10, 20, 30, 40, 50]);
        assert_eq!(
            sent.into_inner().unwrap(),
            [
                vec![1, 2, 3, 4, 5],
                vec![2, 3, 4, 5],
                vec![3, 4, 5],
                vec![4, 5],
                vec![5]
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_never_processed_fails_as_unavailable_after_the_retries() {
        let mut sends = 0;
        let error = until_processed(vec!["k"], "reads", |page| {
            sends += 1;
            async move { Ok((Vec::<()>::new(), page)) }
        })
        .await
        .unwrap_err();
        assert_eq!(sends, UNPROCESSED_ATTEMPTS + 1);
        assert!(
            matches!(&error, StoreError::Unavailable(m) if m.contains("1 reads still unprocessed")),
            "{error:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_send_fails_at_once_and_nothing_is_sent_for_nothing() {
        let mut sends = 0;
        let error = until_processed(vec![1], "writes", |_| {
            sends += 1;
            async { Err::<(Vec<()>, Vec<u32>), _>(StoreError::Rejected("no table".into())) }
        })
        .await
        .unwrap_err();
        assert_eq!((sends, error), (1, StoreError::Rejected("no table".into())));
        let mut sends = 0;
        until_processed(Vec::<u32>::new(), "writes", |page| {
            sends += 1;
            async move { Ok((Vec::<()>::new(), page)) }
        })
        .await
        .unwrap();
        assert_eq!(sends, 0);
    }
}
