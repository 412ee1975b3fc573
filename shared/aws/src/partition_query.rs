//! Reading up to a number of items of one partition, in sort key order, through as many
//! `Query` pages as that takes: what an erasure reads of a user's partitions (counter items
//! to move, idempotency record keys to delete, the days to rewrite in the archive).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use taskpulse_app::StoreError;

use crate::batch::Item;
use crate::error::store_error;
use crate::keys::{PK, SK};

/// What to read of a partition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartitionQuery<'a> {
    pub partition: &'a str,
    /// Only the sort keys from the first to the second, both included.
    pub sort_keys: Option<(&'a str, &'a str)>,
    /// Only `pk` and `sk` of each item.
    pub keys_only: bool,
    pub limit: usize,
}

/// Up to `query.limit` items of the partition, read consistently.
pub(crate) async fn query_partition(
    client: &Client,
    table: &str,
    query: PartitionQuery<'_>,
) -> Result<Vec<Item>, StoreError> {
    let condition = match query.sort_keys {
        Some(_) => "#pk = :pk AND #sk BETWEEN :from AND :to",
        None => "#pk = :pk",
    };
    let mut request = client
        .query()
        .table_name(table)
        .key_condition_expression(condition)
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":pk", AttributeValue::S(query.partition.to_owned()))
        // A page of `limit` items: a second page is read only when the first stopped at 1 MB.
        .limit(i32::try_from(query.limit).unwrap_or(i32::MAX))
        .consistent_read(true);
    if query.sort_keys.is_some() || query.keys_only {
        request = request.expression_attribute_names("#sk", SK);
    }
    if let Some((from, to)) = query.sort_keys {
        request = request
            .expression_attribute_values(":from", AttributeValue::S(from.to_owned()))
            .expression_attribute_values(":to", AttributeValue::S(to.to_owned()));
    }
    if query.keys_only {
        request = request.projection_expression("#pk, #sk");
    }
    let mut items = request.into_paginator().items().send();
    let mut found = vec![];
    while found.len() < query.limit {
        match items.next().await {
            Some(item) => found.push(item.map_err(store_error)?),
            None => break,
        }
    }
    Ok(found)
}
