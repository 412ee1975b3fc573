//! The `--env-vars` file of `sam local` for a stack on moto: what each function reads to find
//! the template's resources there.

use serde_json::{Map, Value, json};
use taskpulse_aws::env::{
    ANALYTICS_TABLE, ARCHIVE_BUCKET, EVENTS_QUEUE_URL, LOCAL_AWS_ENDPOINT_URL, REBUILD_QUEUE_URL,
    TASKS_TABLE,
};

use crate::{
    ANALYTICS_TABLE as ANALYTICS_TABLE_ID, ARCHIVE_BUCKET as ARCHIVE_BUCKET_ID, DevstackError,
    EVENTS_QUEUE, REBUILD_QUEUE, Stack, TASKS_TABLE as TASKS_TABLE_ID,
};

/// The variables for every function (`Parameters`): the resource names and moto's endpoint
/// as `LOCAL_AWS_ENDPOINT_URL`. SAM sets only the variables the template declares, and its
/// own region and credentials (any credentials do for moto).
pub fn sam_env_vars(stack: &Stack) -> Result<Value, DevstackError> {
    let resources = &stack.resources;
    let mut variables = Map::new();
    let mut set = |name: &str, value: &str| {
        variables.insert(name.to_owned(), json!(value));
    };
    set(LOCAL_AWS_ENDPOINT_URL, &stack.moto.endpoint_url());
    set(TASKS_TABLE, resources.table(TASKS_TABLE_ID)?);
    set(ANALYTICS_TABLE, resources.table(ANALYTICS_TABLE_ID)?);
    set(EVENTS_QUEUE_URL, &resources.queue(EVENTS_QUEUE)?.url);
    set(REBUILD_QUEUE_URL, &resources.queue(REBUILD_QUEUE)?.url);
    set(ARCHIVE_BUCKET, resources.bucket(ARCHIVE_BUCKET_ID)?);
    Ok(json!({ "Parameters": variables }))
}
