//! Whole projection versions: a scan of a version's counter items (what a verification
//! compares) and the deletion of a retired version's items in `BatchWriteItem` pages.
//!
//! Both scan the table for the version's partition-key prefix. A version's items are spread
//! over every user's partition, so there is no cheaper way to find them; both run off the
//! request path (a rebuild, a retirement), the deletion at the rebuild's write pace.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use taskpulse_app::{DeleteCounters, ScanCounters, StoreError, VersionCounters};
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::{Counter, CounterKey, ProjectionVersion, Scope};

use crate::analytics_store::{DynamoAnalyticsStore, rejected};
use crate::batch::{self, Item};
use crate::error::store_error;
use crate::keys::{self, CounterPartition, PK, SK, key_attributes};

/// The filter selecting `version`'s counter items by partition key.
fn version_filter(version: ProjectionVersion) -> (String, HashMap<String, AttributeValue>) {
    (
        format!("begins_with({PK}, :user) OR begins_with({PK}, :global)"),
        HashMap::from([
            (
                ":user".to_owned(),
                AttributeValue::S(keys::counter_user_prefix(version)),
            ),
            (
                ":global".to_owned(),
                AttributeValue::S(keys::counter_global_prefix(version)),
            ),
        ]),
    )
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

impl<W: Send + Sync> DynamoAnalyticsStore<W> {
    /// Scans `version`'s items, `projection` naming the attributes read, page by page; stops
    /// when `visit` says so.
    async fn scan_version(
        &self,
        version: ProjectionVersion,
        projection: Option<&str>,
        names: HashMap<String, String>,
        mut visit: impl FnMut(&Item) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let (filter, values) = version_filter(version);
        // The next page is read only when the stream is polled past this one: a visit that
        // stops reads no more.
        let mut items = self
            .reader
            .scan()
            .table_name(&self.table)
            .filter_expression(filter)
            .set_expression_attribute_values(Some(values))
            .set_projection_expression(projection.map(str::to_owned))
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .into_paginator()
            .items()
            .send();
        while let Some(item) = items.next().await {
            if !visit(&item.map_err(store_error)?)? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Deletes items by key in `BatchWriteItem` pages, sending unprocessed items again.
    async fn delete_keys(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        let requests = keys
            .into_iter()
            .map(batch::delete_request)
            .collect::<Result<_, _>>()?;
        batch::write_all(&self.reader, &self.table, requests).await
    }
}

impl<W: Send + Sync> ScanCounters for DynamoAnalyticsStore<W> {
    async fn scan_counters(
        &self,
        version: ProjectionVersion,
    ) -> Result<VersionCounters, StoreError> {
        // Whole items: the due gauges' names are not known before they are read (a scan is
        // billed on whole items whatever it returns; the applied-event sets are skipped below).
        let mut counters = VersionCounters::new();
        self.scan_version(version, None, HashMap::new(), |item| {
            let (Some(pk), Some(sk)) = (text(item, PK), text(item, SK)) else {
                return Ok(true);
            };
            let (Some((found, partition)), Some(day)) = (
                keys::parse_counter_partition(pk),
                keys::parse_day_sort_key(sk),
            ) else {
                return Ok(true);
            };
            if found != version {
                return Ok(true);
            }
            let scope = match partition {
                CounterPartition::User(user) => Scope::User(
                    UserId::parse(user).map_err(|e| rejected(format!("item {pk}: {e}")))?,
                ),
                CounterPartition::Global(_) => Scope::Global,
            };
            let entry = counters.entry(CounterKey { scope, day }).or_default();
            for (name, value) in item {
                if let Some(counter) = Counter::from_name(name) {
                    let number: i64 = value
                        .as_n()
                        .ok()
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| rejected(format!("item {pk}: {name} is not an integer")))?;
                    *entry.entry(counter).or_default() += number;
                }
            }
            Ok(true)
        })
        .await?;
        // A counter at zero reads as one never written.
        for values in counters.values_mut() {
            values.retain(|_, v| *v != 0);
        }
        Ok(counters)
    }
}

impl<W: Send + Sync> DeleteCounters for DynamoAnalyticsStore<W> {
    async fn delete_counter_items(
        &self,
        version: ProjectionVersion,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let names = HashMap::from([
            ("#pk".to_owned(), PK.to_owned()),
            ("#sk".to_owned(), SK.to_owned()),
        ]);
        let mut found: Vec<Item> = vec![];
        self.scan_version(version, Some("#pk, #sk"), names, |item| {
            let (Some(pk), Some(sk)) = (text(item, PK), text(item, SK)) else {
                return Ok(true);
            };
            if keys::parse_counter_partition(pk).is_some_and(|(v, _)| v == version) {
                found.push(key_attributes((pk.to_owned(), sk.to_owned())));
            }
            Ok(found.len() < limit)
        })
        .await?;
        if found.is_empty() {
            // The counters are gone: the rebuild's progress of the version goes with them.
            let mut progress = vec![];
            let mut items = self
                .reader
                .query()
                .table_name(&self.table)
                .key_condition_expression(format!("{PK} = :pk"))
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(keys::rebuild_partition(version)),
                )
                .projection_expression("#pk, #sk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .into_paginator()
                .items()
                .send();
            while let Some(item) = items.next().await {
                let item = item.map_err(store_error)?;
                if let (Some(pk), Some(sk)) = (text(&item, PK), text(&item, SK)) {
                    progress.push(key_attributes((pk.to_owned(), sk.to_owned())));
                }
            }
            self.delete_keys(progress).await?;
            return Ok(0);
        }
        let deleted = found.len();
        self.delete_keys(found).await?;
        Ok(deleted)
    }
}
