//! The actions of one counter transaction, and what its cancellation reasons say.
//!
//! Per (user, day) write: an `Update` of the day item that adds the deltas and the inline
//! markers, conditional on none of the write's events being in the inline set and on the set
//! holding what the plan's placement assumed (`InlineMarkers`), returning the old item when
//! the condition fails; then one `Put` per overflow marker, conditional on its not existing.
//! Per global day one `Update` of one shard; per month item a late write reaches, one `Update`.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use taskpulse_app::StoreError;
use taskpulse_app::analytics::{InlineMarkers, MAX_INLINE_MARKERS, UserDayWrite};
use taskpulse_domain::EventId;
use taskpulse_domain::analytics::{Deltas, ProjectionVersion};

use super::rejected;
use crate::keys::{self, APPLIED_EVENTS, MONTH_LATE_WRITES, PK, key_attributes};

/// What each action of a transaction is, in request order, to read its cancellation reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// The day item of `plan.users[i]`.
    Day(usize),
    /// The overflow marker of an event.
    Marker(EventId),
    Global,
    Month,
}

pub(super) fn event_blob(id: EventId) -> Blob {
    Blob::new(id.as_uuid().as_bytes().to_vec())
}

/// `ADD` clauses for counter deltas; placeholders keep counter names clear of reserved words.
fn add_deltas(
    deltas: &Deltas,
    names: &mut HashMap<String, String>,
    values: &mut HashMap<String, AttributeValue>,
) -> Vec<String> {
    deltas
        .iter()
        .enumerate()
        .map(|(i, (counter, delta))| {
            names.insert(format!("#c{i}"), counter.name().into_owned());
            values.insert(format!(":d{i}"), AttributeValue::N(delta.to_string()));
            format!("#c{i} :d{i}")
        })
        .collect()
}

/// The condition on the inline set that the placement assumed. `size` of a missing
/// attribute is no number, so every use of it is guarded by its existence.
fn inline_condition(write: &UserDayWrite, values: &mut HashMap<String, AttributeValue>) -> String {
    let mut number = |n: usize| {
        values.insert(":markers".to_owned(), AttributeValue::N(n.to_string()));
    };
    match write.before {
        InlineMarkers::HasRoom => {
            number(MAX_INLINE_MARKERS.saturating_sub(write.inline));
            "(attribute_not_exists(#applied) OR size(#applied) <= :markers)".to_owned()
        }
        InlineMarkers::Exactly(0) => "attribute_not_exists(#applied)".to_owned(),
        InlineMarkers::Exactly(n) => {
            number(n);
            "(attribute_exists(#applied) AND size(#applied) = :markers)".to_owned()
        }
        InlineMarkers::Full => {
            number(MAX_INLINE_MARKERS);
            "(attribute_exists(#applied) AND size(#applied) >= :markers)".to_owned()
        }
    }
}

/// The day item's action of `write`: an `Update`, or a `ConditionCheck` when it adds nothing
/// (deltas that net to zero and every marker overflowing).
pub(super) fn day_action(
    table: &str,
    version: ProjectionVersion,
    write: &UserDayWrite,
) -> Result<TransactWriteItem, StoreError> {
    let mut names = HashMap::from([("#applied".to_owned(), APPLIED_EVENTS.to_owned())]);
    let mut values = HashMap::new();
    let mut clauses = add_deltas(&write.deltas, &mut names, &mut values);
    if !write.inline_events().is_empty() {
        clauses.push("#applied :events".to_owned());
        values.insert(
            ":events".to_owned(),
            AttributeValue::Bs(
                write
                    .inline_events()
                    .iter()
                    .map(|e| event_blob(*e))
                    .collect(),
            ),
        );
    }
    let mut conditions = Vec::with_capacity(write.events.len() + 1);
    for (i, event) in write.events.iter().enumerate() {
        values.insert(format!(":e{i}"), AttributeValue::B(event_blob(*event)));
        conditions.push(format!("NOT contains(#applied, :e{i})"));
    }
    conditions.push(inline_condition(write, &mut values));
    let key = key_attributes(keys::user_day_key(version, &write.user, write.day));
    if clauses.is_empty() {
        // Only the delta names would use these; an unused name is refused.
        names.retain(|placeholder, _| placeholder == "#applied");
        let check = ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(key))
            .condition_expression(conditions.join(" AND "))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(rejected)?;
        return Ok(TransactWriteItem::builder().condition_check(check).build());
    }
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(format!("ADD {}", clauses.join(", ")))
        .condition_expression(conditions.join(" AND "))
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(rejected)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The overflow marker of `event`: keys only, put if it does not exist.
pub(super) fn marker_put(
    table: &str,
    version: ProjectionVersion,
    write: &UserDayWrite,
    event: EventId,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(key_attributes(keys::applied_marker_key(
            version,
            &write.user,
            write.day,
            event,
        ))))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
        .map_err(rejected)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub(super) fn global_update(
    table: &str,
    key: (String, String),
    deltas: &Deltas,
) -> Result<TransactWriteItem, StoreError> {
    adding_update(table, key, deltas, false)
}

/// The inline marker set of a day item (empty if it has none).
pub(super) fn inline_set(item: &HashMap<String, AttributeValue>) -> HashSet<Vec<u8>> {
    item.get(APPLIED_EVENTS)
        .and_then(|v| v.as_bs().ok())
        .map(|set| set.iter().map(|b| b.as_ref().to_vec()).collect())
        .unwrap_or_default()
}

/// The late rule's update of a month item: its deltas added and one more late write counted
/// (unconditional: the day item's update in the same transaction carries the dedupe).
pub(super) fn month_update(
    table: &str,
    key: (String, String),
    deltas: &Deltas,
) -> Result<TransactWriteItem, StoreError> {
    adding_update(table, key, deltas, true)
}

/// An unconditional `Update` adding `deltas`, and 1 to `lateWrites` if `counts_late`.
fn adding_update(
    table: &str,
    key: (String, String),
    deltas: &Deltas,
    counts_late: bool,
) -> Result<TransactWriteItem, StoreError> {
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    let mut clauses = add_deltas(deltas, &mut names, &mut values);
    if counts_late {
        names.insert("#late".to_owned(), MONTH_LATE_WRITES.to_owned());
        values.insert(":one".to_owned(), AttributeValue::N("1".to_owned()));
        clauses.push("#late :one".to_owned());
    }
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key_attributes(key)))
        .update_expression(format!("ADD {}", clauses.join(", ")))
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .build()
        .map_err(rejected)?;
    Ok(TransactWriteItem::builder().update(update).build())
}
