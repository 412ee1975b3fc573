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
use crate::keys::{self, PK, SK, key_attributes};
use crate::partition_query::{PartitionQuery, query_partition};

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
        let partition = keys::counter_user_partition(version, from);
        let query = PartitionQuery {
            partition: &partition,
            sort_keys: None,
            keys_only: false,
            limit,
        };
        let items = query_partition(&self.reader, &self.table, query).await?;
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
