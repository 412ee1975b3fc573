//! The queues' redrive, visibility and encryption rules, and the rebuild queue's tries.

use serde_yaml_ng::Value;
use taskpulse_devstack::Template;

use super::{number, resource, template};

#[test]
fn the_rebuild_queue_gives_each_partition_three_tries_one_per_invocation() {
    let template = template();
    let (queue, _) = queue_and_its_dlq(&template, "RebuildQueue", "RebuildDeadLetterQueue");
    let worker = &resource(&template, "RebuildWorkerFunction")["Properties"];
    let timeout = number(&worker["Timeout"]);
    assert!(
        number(&queue["VisibilityTimeout"]) >= 6 * timeout,
        "visibility timeout must be at least 6 x the worker timeout ({timeout} s)"
    );
    assert_eq!(number(&queue["RedrivePolicy"]["maxReceiveCount"]), 3);
    let source = &worker["Events"]["Partitions"]["Properties"];
    assert_eq!(number(&source["BatchSize"]), 1);
    let types: Vec<&str> = source["FunctionResponseTypes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(types, ["ReportBatchItemFailures"]);
    match &source["ScalingConfig"]["MaximumConcurrency"] {
        Value::Tagged(tagged) => {
            assert_eq!(tagged.value.as_str(), Some("RebuildWorkerConcurrency"))
        }
        other => panic!("the worker concurrency comes from its parameter, not {other:?}"),
    }
    for alarm in [
        "RebuildDeadLetterQueueNotEmptyAlarm",
        "RebuildWorkerErrorsAlarm",
    ] {
        resource(&template, alarm);
    }
}

#[test]
fn queue_rules_hold() {
    let template = template();
    let (erasures, _) = queue_and_its_dlq(&template, "ErasureQueue", "ErasureDeadLetterQueue");
    let eraser = &resource(&template, "EraserFunction")["Properties"];
    assert!(
        number(&erasures["VisibilityTimeout"]) >= 6 * number(&eraser["Timeout"]),
        "an erasure still in work must not be delivered again"
    );
    let source = &eraser["Events"]["Erasures"]["Properties"];
    assert_eq!(number(&source["BatchSize"]), 1);
    // Lambda's range for an SQS mapping's maximum concurrency.
    let fan_out = number(&source["ScalingConfig"]["MaximumConcurrency"]);
    assert!((2..=1000).contains(&fan_out), "{fan_out}");
    assert_eq!(
        source["FunctionResponseTypes"][0].as_str(),
        Some("ReportBatchItemFailures")
    );

    let (queue, dlq) = queue_and_its_dlq(&template, "EventsQueue", "EventsDeadLetterQueue");
    let consumer = &resource(&template, "ConsumerFunction")["Properties"];
    let consumer_timeout = number(&consumer["Timeout"]);
    assert!(
        number(&queue["VisibilityTimeout"]) >= 6 * consumer_timeout,
        "visibility timeout must be at least 6 x the consumer timeout ({consumer_timeout} s)"
    );
    let redrive = &queue["RedrivePolicy"];
    assert!(number(&redrive["maxReceiveCount"]) >= 5);
    assert!(number(&dlq["MessageRetentionPeriod"]) >= number(&queue["MessageRetentionPeriod"]));

    let source = &consumer["Events"]["TaskEvents"]["Properties"];
    let types: Vec<&str> = source["FunctionResponseTypes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(
        types,
        ["ReportBatchItemFailures"],
        "partial batch failures must be on"
    );
    for parameter in ["BatchSize", "MaximumBatchingWindowInSeconds"] {
        assert!(
            matches!(source[parameter], Value::Tagged(_)),
            "{parameter} comes from a parameter"
        );
    }
    assert!(matches!(
        source["ScalingConfig"]["MaximumConcurrency"],
        Value::Tagged(_)
    ));
}

/// The properties of the queue `queue` and of its dead-letter queue `dlq`, once checked that the
/// queue's redrive policy sends to `dlq` (the stack's own queue, not an ARN from elsewhere) and
/// that both queues are encrypted.
fn queue_and_its_dlq<'a>(template: &'a Template, queue: &str, dlq: &str) -> (&'a Value, &'a Value) {
    let queue_properties = &resource(template, queue)["Properties"];
    let dlq_properties = &resource(template, dlq)["Properties"];
    match &queue_properties["RedrivePolicy"]["deadLetterTargetArn"] {
        Value::Tagged(tagged) => {
            assert_eq!(tagged.value.as_str(), Some(format!("{dlq}.Arn").as_str()))
        }
        other => panic!("the DLQ must be the stack's own, not {other:?}"),
    }
    for (id, properties) in [(queue, queue_properties), (dlq, dlq_properties)] {
        assert_eq!(
            properties["SqsManagedSseEnabled"].as_bool(),
            Some(true),
            "{id} is encrypted"
        );
    }
    (queue_properties, dlq_properties)
}

#[tokio::test]
async fn the_rebuild_queues_are_created_on_moto_from_the_template() {
    let stack = taskpulse_devstack::Stack::start()
        .await
        .expect("moto with the template's resources");
    let queue = stack
        .resources
        .queue(taskpulse_devstack::REBUILD_QUEUE)
        .unwrap();
    let dlq = stack
        .resources
        .queue(taskpulse_devstack::REBUILD_DLQ)
        .unwrap();
    assert!(queue.url.ends_with(taskpulse_devstack::REBUILD_QUEUE));
    assert_ne!(queue.arn, dlq.arn);
    assert!(dlq.arn.ends_with(taskpulse_devstack::REBUILD_DLQ));
}

#[test]
fn outbox_checks_wait_past_the_api_timeout_and_reach_the_relay_in_batches() {
    let template = template();
    let (queue, dlq) =
        queue_and_its_dlq(&template, "OutboxCheckQueue", "OutboxCheckDeadLetterQueue");
    let relay = &resource(&template, "RelayFunction")["Properties"];
    assert!(
        number(&queue["VisibilityTimeout"]) >= 6 * number(&relay["Timeout"]),
        "a check still in work must not be delivered again"
    );
    assert!(number(&queue["RedrivePolicy"]["maxReceiveCount"]) >= 5);
    assert!(number(&dlq["MessageRetentionPeriod"]) >= number(&queue["MessageRetentionPeriod"]));
    resource(&template, "OutboxCheckDeadLetterQueueNotEmptyAlarm");

    let source = &relay["Events"]["OutboxChecks"]["Properties"];
    match &source["Queue"] {
        Value::Tagged(tagged) => assert_eq!(tagged.value.as_str(), Some("OutboxCheckQueue.Arn")),
        other => panic!("the relay reads the stack's checks queue, not {other:?}"),
    }
    assert_eq!(number(&source["BatchSize"]), 10);
    assert_eq!(
        source["FunctionResponseTypes"][0].as_str(),
        Some("ReportBatchItemFailures")
    );

    // A check must arrive after the write it was sent before: the API's timeout bounds when
    // that write can land.
    let api = &resource(&template, "ApiFunction")["Properties"];
    let api_timeout = match &api["Timeout"] {
        Value::Null => {
            number(&template.section("Globals").expect("Globals")["Function"]["Timeout"])
        }
        own => number(own),
    };
    let delay = taskpulse_app::relay::OUTBOX_CHECK_DELAY.as_secs();
    assert!(
        delay >= 6 * api_timeout as u64,
        "a check waits {delay} s, the API may take {api_timeout} s"
    );
}
