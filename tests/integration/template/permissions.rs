//! Each function's policy grants exactly the actions its code uses, on the resources it uses.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::Value;
use taskpulse_devstack::Template;

use super::{resource, template};

/// (actions, resource reference) of every statement of a function's inline policies.
fn granted(template: &Template, function: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut grants: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let policies = resource(template, function)["Properties"]["Policies"]
        .as_sequence()
        .unwrap();
    for policy in policies {
        for statement in policy["Statement"]
            .as_sequence()
            .expect("inline statements only")
        {
            assert_eq!(statement["Effect"].as_str(), Some("Allow"));
            let target = match &statement["Resource"] {
                Value::Tagged(tagged) => {
                    format!("{} {}", tagged.tag, tagged.value.as_str().unwrap_or(""))
                }
                other => {
                    panic!("{function}: resource {other:?} must reference a resource of the stack")
                }
            };
            let actions = grants.entry(target).or_default();
            for action in statement["Action"].as_sequence().unwrap() {
                actions.insert(action.as_str().unwrap().to_owned());
            }
        }
    }
    grants
}

fn expect(grants: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    grants
        .iter()
        .map(|(target, actions)| {
            (
                target.to_string(),
                actions.iter().map(|a| a.to_string()).collect(),
            )
        })
        .collect()
}

#[test]
fn each_function_is_granted_exactly_the_actions_it_uses() {
    let template = template();
    assert_eq!(
        granted(&template, "ApiFunction"),
        expect(&[
            (
                "!GetAtt TasksTable.Arn",
                &[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:ConditionCheckItem",
                    "dynamodb:BatchGetItem"
                ]
            ),
            ("!Sub ${TasksTable.Arn}/index/byUser", &["dynamodb:Query"]),
            (
                "!GetAtt AnalyticsTable.Arn",
                &["dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem"]
            ),
            ("!GetAtt EventsQueue.Arn", &["sqs:SendMessage"]),
            ("!GetAtt OutboxCheckQueue.Arn", &["sqs:SendMessage"]),
            ("!GetAtt ErasureQueue.Arn", &["sqs:SendMessage"]),
        ])
    );
    assert_eq!(
        granted(&template, "ConsumerFunction"),
        expect(&[
            (
                "!GetAtt AnalyticsTable.Arn",
                &["dynamodb:UpdateItem", "dynamodb:GetItem"]
            ),
            ("!Sub ${ArchiveBucket.Arn}/events/*", &["s3:PutObject"]),
            ("!GetAtt TasksTable.Arn", &["dynamodb:BatchGetItem"]),
            ("!GetAtt EventsQueue.Arn", &["sqs:SendMessage"]),
        ])
    );
    assert_eq!(
        granted(&template, "RebuildCoordinatorFunction"),
        expect(&[
            (
                "!GetAtt AnalyticsTable.Arn",
                &[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:Query",
                    "dynamodb:Scan",
                    "dynamodb:BatchWriteItem"
                ]
            ),
            ("!GetAtt ArchiveBucket.Arn", &["s3:ListBucket"]),
            ("!GetAtt RebuildQueue.Arn", &["sqs:SendMessage"]),
        ])
    );
    assert_eq!(
        granted(&template, "RebuildWorkerFunction"),
        expect(&[
            (
                "!GetAtt AnalyticsTable.Arn",
                &[
                    "dynamodb:UpdateItem",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem"
                ]
            ),
            ("!Sub ${ArchiveBucket.Arn}/events/*", &["s3:GetObject"]),
            ("!GetAtt ArchiveBucket.Arn", &["s3:ListBucket"]),
            ("!GetAtt TasksTable.Arn", &["dynamodb:BatchGetItem"]),
        ])
    );
    assert_eq!(
        granted(&template, "EraserFunction"),
        expect(&[
            (
                "!GetAtt TasksTable.Arn",
                &[
                    "dynamodb:BatchGetItem",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                    "dynamodb:Scan",
                    "dynamodb:BatchWriteItem"
                ]
            ),
            ("!Sub ${TasksTable.Arn}/index/byUser", &["dynamodb:Query"]),
            (
                "!GetAtt AnalyticsTable.Arn",
                &[
                    "dynamodb:GetItem",
                    "dynamodb:Query",
                    "dynamodb:BatchWriteItem"
                ]
            ),
            (
                "!Sub ${ArchiveBucket.Arn}/events/*",
                &["s3:GetObject", "s3:PutObject"]
            ),
            ("!GetAtt ArchiveBucket.Arn", &["s3:ListBucket"]),
            ("!GetAtt EventsQueue.Arn", &["sqs:SendMessage"]),
            ("!GetAtt ErasureQueue.Arn", &["sqs:SendMessage"]),
        ])
    );
    assert_eq!(
        // The SQS event source grants receiving and deleting the checks.
        granted(&template, "RelayFunction"),
        expect(&[
            ("!Sub ${TasksTable.Arn}/index/outbox", &["dynamodb:Query"]),
            (
                "!GetAtt TasksTable.Arn",
                &["dynamodb:GetItem", "dynamodb:UpdateItem"]
            ),
            ("!GetAtt EventsQueue.Arn", &["sqs:SendMessage"]),
        ])
    );
}

/// The statements of a function's inline policies that grant `action`.
fn statements_granting<'a>(template: &'a Template, function: &str, action: &str) -> Vec<&'a Value> {
    resource(template, function)["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|policy| policy["Statement"].as_sequence().unwrap())
        .filter(|statement| {
            statement["Action"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|a| a.as_str() == Some(action))
        })
        .collect()
}

#[test]
fn listing_the_archive_is_limited_to_its_events_prefix() {
    let template = template();
    for function in [
        "RebuildCoordinatorFunction",
        "RebuildWorkerFunction",
        "EraserFunction",
    ] {
        let statements = statements_granting(&template, function, "s3:ListBucket");
        assert_eq!(statements.len(), 1, "{function}");
        let prefixes: Vec<&str> = statements[0]["Condition"]["StringLike"]["s3:prefix"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{function}: ListBucket needs an s3:prefix condition"))
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let root = taskpulse_app::archive::ARCHIVE_ROOT;
        assert_eq!(
            prefixes,
            [root.to_owned(), format!("{root}*")],
            "{function}"
        );
    }
}
