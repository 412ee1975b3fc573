//! Reading DynamoDB directly, independently of the adapters under test.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use taskpulse_aws::keys;
use taskpulse_devstack::Stack;
use taskpulse_domain::{EventId, UserId};

/// The item with this key (`pk`, `sk`) in the template's table `table` (a logical id such as
/// `taskpulse_devstack::TASKS_TABLE`), read consistently; empty when there is none.
pub async fn read_item(
    stack: &Stack,
    table: &str,
    key: (String, String),
) -> HashMap<String, AttributeValue> {
    aws_sdk_dynamodb::Client::new(&stack.config)
        .get_item()
        .table_name(stack.resources.table(table).unwrap())
        .set_key(Some(keys::key_attributes(key)))
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetItem on {table}: {e}"))
        .item
        .unwrap_or_default()
}

/// Writes `item` as it is into the template's table `table`, past the adapters: for items in a
/// layout the adapters no longer write (data an earlier release left behind).
pub async fn write_item(stack: &Stack, table: &str, item: HashMap<String, AttributeValue>) {
    aws_sdk_dynamodb::Client::new(&stack.config)
        .put_item()
        .table_name(stack.resources.table(table).unwrap())
        .set_item(Some(item))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutItem on {table}: {e}"));
}

/// Deletes the item with this key from the template's table `table`, past the adapters: to
/// leave a state a stopped request leaves behind.
pub async fn delete_item(stack: &Stack, table: &str, key: (String, String)) {
    aws_sdk_dynamodb::Client::new(&stack.config)
        .delete_item()
        .table_name(stack.resources.table(table).unwrap())
        .set_key(Some(keys::key_attributes(key)))
        .send()
        .await
        .unwrap_or_else(|e| panic!("DeleteItem on {table}: {e}"));
}

/// The events recorded as applied on a user's day item of the analytics table.
pub async fn applied_events(stack: &Stack, user: &str, day: chrono::NaiveDate) -> Vec<EventId> {
    let key = keys::user_day_key(
        taskpulse_domain::analytics::ProjectionVersion::FIRST,
        &UserId::parse(user).unwrap(),
        day,
    );
    let item = read_item(stack, taskpulse_devstack::ANALYTICS_TABLE, key).await;
    item.get(keys::APPLIED_EVENTS)
        .and_then(|v| v.as_bs().ok())
        .map(|set| {
            set.iter()
                .map(|b| EventId::from_uuid(uuid::Uuid::from_slice(b.as_ref()).unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

/// The overflow markers (marker items past the inline set) of a user's day in the analytics
/// table, counted with a consistent query of the user's partition.
pub async fn overflow_markers(stack: &Stack, user: &str, day: chrono::NaiveDate) -> usize {
    let version = taskpulse_domain::analytics::ProjectionVersion::FIRST;
    let user = UserId::parse(user).unwrap();
    let (pk, first) =
        keys::applied_marker_key(version, &user, day, EventId::from_uuid(uuid::Uuid::nil()));
    let prefix = first
        .trim_end_matches(&uuid::Uuid::nil().to_string())
        .to_owned();
    let client = aws_sdk_dynamodb::Client::new(&stack.config);
    let table = stack
        .resources
        .table(taskpulse_devstack::ANALYTICS_TABLE)
        .unwrap();
    let mut count = 0;
    let mut start = None;
    loop {
        let output = client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.clone()))
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap_or_else(|e| panic!("Query of overflow markers: {e}"));
        count += output.items().len();
        start = output.last_evaluated_key;
        if start.is_none() {
            return count;
        }
    }
}
