//! Shared by the integration tests: a moto server with the template's resources, and helpers
//! that read DynamoDB directly, independently of the adapters under test.

#![allow(dead_code)] // each test binary uses its own subset

use aws_sdk_dynamodb::types::AttributeValue;
use taskpulse::AwsPipeline;
use taskpulse_devstack::Stack;
use taskpulse_domain::EventId;

/// A fresh moto server with the resources of `template.yaml`, and the pipeline wired to it.
/// Any failure to get there fails the test: these tests never skip.
pub async fn stack() -> (Stack, AwsPipeline) {
    let stack = Stack::start()
        .await
        .unwrap_or_else(|e| panic!("the moto-backed stack could not start: {e}"));
    let pipeline = AwsPipeline::new(&stack.config, &stack.resources)
        .unwrap_or_else(|e| panic!("pipeline wiring failed: {e}"));
    (stack, pipeline)
}

/// The dedupe marker item of an event, read straight from the analytics table.
pub async fn marker(
    stack: &Stack,
    event_id: EventId,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    let (pk, sk) = taskpulse_aws::keys::marker_key(event_id);
    aws_sdk_dynamodb::Client::new(&stack.config)
        .get_item()
        .table_name(stack.resources.table(taskpulse::ANALYTICS_TABLE).unwrap())
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem on the analytics table")
        .item
}
