//! Moving a user's counter items to another user id (an erasure's pseudonym): every item of
//! the user's partition in a version, day items with their inline markers and overflow
//! markers alike, copied as it is under the other id, then deleted.
//!
//! The copies are written before any original is deleted (two `BatchWriteItem` rounds, since a
//! batch's writes have no order), so a move that stops anywhere loses nothing: repeating it
//! finds what is left under the user, writes it again under the other id (the same item
//! again) and deletes it. Nothing else writes either partition meanwhile: the erasure holds
//! back the user's events, and the pseudonym is new.

use aws_sdk_dynamodb::types::AttributeValue;
use taskpulse_app::{MoveUserCounters, StoreError};
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::ProjectionVersion;

use super::DynamoAnalyticsStore;
use crate::batch::{self, Item};
use crate::error::store_error;
use crate::keys::{self, PK, SK, key_attributes};

impl<W: Send + Sync> DynamoAnalyticsStore<W> {
    /// Up to `limit` items of `partition`, whole, read consistently.
    async fn partition_items(
        &self,
        partition: &str,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = vec![];
        let mut start = None;
        loop {
            let output = self
                .reader
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()))
                .limit(i32::try_from(limit - found.len()).unwrap_or(i32::MAX))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(store_error)?;
            found.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() || found.len() >= limit {
                found.truncate(limit);
                return Ok(found);
            }
        }
    }
}

/// The copy of `item` under partition `to`, and the key of `item` itself.
fn moved(mut item: Item, to: &str) -> Result<(Item, Item), StoreError> {
    let sk = item
        .get(SK)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| StoreError::Rejected("a counter item without a sort key".into()))?;
    let from = item
        .insert(PK.to_owned(), AttributeValue::S(to.to_owned()))
        .and_then(|v| v.as_s().ok().cloned())
        .ok_or_else(|| StoreError::Rejected("a counter item without a partition key".into()))?;
    Ok((item, key_attributes((from, sk))))
}

impl<W: Send + Sync> MoveUserCounters for DynamoAnalyticsStore<W> {
    async fn move_user_counters(
        &self,
        version: ProjectionVersion,
        from: &UserId,
        to: &UserId,
        limit: usize,
    ) -> Result<usize, StoreError> {
        if limit == 0 {
            return Ok(0);
        }
        let items = self
            .partition_items(&keys::counter_user_partition(version, from), limit)
            .await?;
        let to = keys::counter_user_partition(version, to);
        let mut puts = Vec::with_capacity(items.len());
        let mut deletes = Vec::with_capacity(items.len());
        for item in items {
            let (copy, original) = moved(item, &to)?;
            puts.push(batch::put_request(copy)?);
            deletes.push(batch::delete_request(original)?);
        }
        let count = puts.len();
        batch::write_all(&self.reader, &self.table, puts).await?;
        batch::write_all(&self.reader, &self.table, deletes).await?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_copy_keeps_every_attribute_under_the_new_partition_and_the_original_key_is_kept() {
        let item: Item = HashMap::from([
            (PK.to_owned(), AttributeValue::S("V2#USER#ana".into())),
            (SK.to_owned(), AttributeValue::S("DAY#2026-12-01".into())),
            ("created".to_owned(), AttributeValue::N("3".into())),
        ]);
        let (copy, original) = moved(item.clone(), "V2#USER#erased-1").unwrap();
        assert_eq!(copy[PK], AttributeValue::S("V2#USER#erased-1".into()));
        assert_eq!((&copy[SK], &copy["created"]), (&item[SK], &item["created"]));
        assert_eq!(copy.len(), item.len());
        assert_eq!(
            original,
            key_attributes(("V2#USER#ana".into(), "DAY#2026-12-01".into()))
        );
        let mut keyless = item;
        keyless.remove(SK);
        assert!(moved(keyless, "x").is_err());
    }
}
