//! The markers of the archive days an erasure has rewritten: items beside the erasure record,
//! in its partition, under the erasure's pseudonym (`keys::archive_day_marker_key`), each with
//! the objects rewritten that day. A marker is read only while its erasure is in the archive steps; the table's TTL
//! deletes it with the record's retention.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{NaiveDate, Utc};
use taskpulse_app::{ArchiveDayMarkers, StoreError};
use taskpulse_domain::UserId;
use taskpulse_domain::erasure::Erasure;

use super::{DynamoTaskStore, unreadable};
use crate::error::store_error;
use crate::keys::{self, ERASURE_ARCHIVE_OBJECTS_REWRITTEN, EXPIRES_AT, SK, key_attributes};
use crate::partition_query::{PartitionQuery, query_partition};

impl ArchiveDayMarkers for DynamoTaskStore {
    async fn mark_archive_day(
        &self,
        user: &UserId,
        pseudonym: &UserId,
        day: NaiveDate,
        objects: u64,
    ) -> Result<(), StoreError> {
        let expires_at = Utc::now() + Erasure::RETENTION;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(keys::archive_day_marker_key(
                user, pseudonym, day,
            ))))
            .update_expression("ADD #objects :objects SET #expires = :expires")
            .expression_attribute_names("#objects", ERASURE_ARCHIVE_OBJECTS_REWRITTEN)
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(":objects", AttributeValue::N(objects.to_string()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N(expires_at.timestamp().to_string()),
            )
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn marked_archive_days(
        &self,
        user: &UserId,
        pseudonym: &UserId,
    ) -> Result<BTreeMap<NaiveDate, u64>, StoreError> {
        let partition = keys::erasure_partition(user);
        let prefix = keys::archive_day_marker_prefix(pseudonym);
        // Every marker sorts between the prefix and the prefix followed by any date.
        let (from, to) = (prefix.to_owned(), format!("{prefix}~"));
        let items = query_partition(
            &self.client,
            &self.table,
            PartitionQuery {
                partition: &partition,
                sort_keys: Some((&from, &to)),
                keys_only: false,
                limit: usize::MAX,
            },
        )
        .await?;
        items
            .iter()
            .map(|item| {
                let day = item
                    .get(SK)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|sk| keys::archive_day_of_marker(sk));
                let objects = item
                    .get(ERASURE_ARCHIVE_OBJECTS_REWRITTEN)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok());
                day.zip(objects)
                    .ok_or_else(|| unreadable("archive day marker", format!("{item:?}")))
            })
            .collect()
    }
}
