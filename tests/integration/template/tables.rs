//! The tables have the keys and indexes the code names.

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

use super::{resource, template};

/// The attribute names of a key schema, hash key first.
fn key_schema(schema: &Value) -> Vec<&str> {
    let mut elements: Vec<(&str, &str)> = schema
        .as_sequence()
        .expect("a key schema")
        .iter()
        .map(|e| {
            (
                e["KeyType"].as_str().unwrap(),
                e["AttributeName"].as_str().unwrap(),
            )
        })
        .collect();
    // HASH sorts before RANGE.
    elements.sort();
    elements.into_iter().map(|(_, name)| name).collect()
}

#[test]
fn the_tables_have_the_keys_and_indexes_the_code_names() {
    use taskpulse_aws::keys;

    let template = template();
    let tasks = &resource(&template, "TasksTable")["Properties"];
    assert_eq!(key_schema(&tasks["KeySchema"]), [keys::PK, keys::SK]);
    let indexes: BTreeMap<&str, &Value> = tasks["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| (i["IndexName"].as_str().unwrap(), i))
        .collect();
    let by_user = indexes[keys::TASKS_BY_USER_INDEX];
    assert_eq!(
        key_schema(&by_user["KeySchema"]),
        [keys::TASKS_BY_USER_PK, keys::TASKS_BY_USER_SK]
    );
    let projected: Vec<&str> = by_user["Projection"]["NonKeyAttributes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(projected, keys::TASKS_BY_USER_PROJECTION);
    assert_eq!(
        key_schema(&indexes[keys::OUTBOX_INDEX]["KeySchema"]),
        [keys::OUTBOX_PK, keys::OUTBOX_SK]
    );
    assert_eq!(
        tasks["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(keys::EXPIRES_AT)
    );
    let analytics = &resource(&template, "AnalyticsTable")["Properties"];
    assert_eq!(key_schema(&analytics["KeySchema"]), [keys::PK, keys::SK]);
}
