//! The environment a function binary (or `taskpulse serve` on the AWS backend) reads, for
//! starting one against moto or against an endpoint where nothing answers.

use taskpulse_aws::env::{
    ANALYTICS_TABLE, ARCHIVE_BUCKET, ERASURE_QUEUE_URL, EVENTS_QUEUE_URL, OUTBOX_CHECK_QUEUE_URL,
    REBUILD_QUEUE_URL, TASKS_TABLE,
};
use taskpulse_devstack::Stack;

/// The endpoint, dummy credentials, region and resource names, as the functions read them.
pub fn function_environment(
    endpoint: &str,
    tasks_table: &str,
    analytics_table: &str,
    events_queue_url: &str,
    check_queue_url: &str,
    archive_bucket: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        (TASKS_TABLE, tasks_table.to_owned()),
        (ANALYTICS_TABLE, analytics_table.to_owned()),
        (EVENTS_QUEUE_URL, events_queue_url.to_owned()),
        (OUTBOX_CHECK_QUEUE_URL, check_queue_url.to_owned()),
        (ARCHIVE_BUCKET, archive_bucket.to_owned()),
    ]
}

/// [`function_environment`] for the stack's moto server and the template's resources on it,
/// with the rebuild queue and the erasure queue.
pub fn moto_environment(stack: &Stack) -> Vec<(&'static str, String)> {
    let resources = &stack.resources;
    let mut environment = function_environment(
        &stack.moto.endpoint_url(),
        resources.table(taskpulse_devstack::TASKS_TABLE).unwrap(),
        resources
            .table(taskpulse_devstack::ANALYTICS_TABLE)
            .unwrap(),
        &resources
            .queue(taskpulse_devstack::EVENTS_QUEUE)
            .unwrap()
            .url,
        &resources
            .queue(taskpulse_devstack::OUTBOX_CHECK_QUEUE)
            .unwrap()
            .url,
        resources
            .bucket(taskpulse_devstack::ARCHIVE_BUCKET)
            .unwrap(),
    );
    environment.push((
        REBUILD_QUEUE_URL,
        resources
            .queue(taskpulse_devstack::REBUILD_QUEUE)
            .unwrap()
            .url
            .clone(),
    ));
    environment.push((
        ERASURE_QUEUE_URL,
        resources
            .queue(taskpulse_devstack::ERASURE_QUEUE)
            .unwrap()
            .url
            .clone(),
    ));
    environment
}
