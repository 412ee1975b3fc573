//! The `--env-vars` file of `sam local` for a stack on moto: for each function, the variables
//! the template gives it with `!Ref` to a table, queue or bucket, set to what that resource is
//! on moto (a table's or bucket's name, a queue's URL, as `!Ref` answers on AWS); and, for every
//! function, moto's endpoint as `LOCAL_AWS_ENDPOINT_URL`. Variables set from parameters keep
//! their defaults, which SAM resolves itself.

use serde_json::{Map, Value, json};
use serde_yaml_ng::Value as Yaml;
use taskpulse_aws::env::LOCAL_AWS_ENDPOINT_URL;

use crate::{DevstackError, Provisioned, Stack, Template};

const FUNCTION: &str = "AWS::Serverless::Function";

pub fn sam_env_vars(stack: &Stack) -> Result<Value, DevstackError> {
    Ok(sam_env_vars_for(
        &Template::load_project()?,
        &stack.moto.endpoint_url(),
        &stack.resources,
    ))
}

fn sam_env_vars_for(template: &Template, endpoint: &str, resources: &Provisioned) -> Value {
    let on_moto = |logical_id: &str| -> Option<String> {
        resources
            .tables
            .get(logical_id)
            .or_else(|| resources.buckets.get(logical_id))
            .cloned()
            .or_else(|| resources.queues.get(logical_id).map(|q| q.url.clone()))
    };
    let mut file = Map::new();
    file.insert(
        "Parameters".into(),
        json!({ LOCAL_AWS_ENDPOINT_URL: endpoint }),
    );
    for (function, resource) in template.resources_of_type(FUNCTION) {
        let Some(variables) = resource
            .get("Properties")
            .and_then(|p| p.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Yaml::as_mapping)
        else {
            continue;
        };
        let mut set = Map::new();
        for (name, value) in variables {
            let (Some(name), Yaml::Tagged(tagged)) = (name.as_str(), value) else {
                continue;
            };
            let target = tagged.value.as_str().unwrap_or_default();
            if tagged.tag == "!Ref"
                && let Some(value) = on_moto(target)
            {
                set.insert(name.to_owned(), json!(value));
            }
        }
        file.insert(function.to_owned(), Value::Object(set));
    }
    Value::Object(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QueueInfo;

    #[test]
    fn each_function_gets_its_resources_on_moto_and_everyone_the_endpoint() {
        let queue = |name: &str| QueueInfo {
            name: name.into(),
            url: format!("http://172.17.0.1:5000/123456789012/{name}"),
            arn: format!("arn:aws:sqs:us-east-1:123456789012:{name}"),
        };
        let resources = Provisioned {
            tables: [("TasksTable", "t-tasks"), ("AnalyticsTable", "t-analytics")]
                .map(|(id, name)| (id.to_owned(), name.to_owned()))
                .into(),
            queues: [
                ("EventsQueue", queue("q-events")),
                ("RebuildQueue", queue("q-rebuild")),
            ]
            .map(|(id, q)| (id.to_owned(), q))
            .into(),
            buckets: [("ArchiveBucket".to_owned(), "b-archive".to_owned())].into(),
        };
        let template = Template::load_project().unwrap();
        let file = sam_env_vars_for(&template, "http://172.17.0.1:5000", &resources);

        assert_eq!(
            file["Parameters"],
            json!({ "LOCAL_AWS_ENDPOINT_URL": "http://172.17.0.1:5000" })
        );
        let api = &file["ApiFunction"];
        assert_eq!(api["TASKS_TABLE"], "t-tasks");
        assert_eq!(api["ANALYTICS_TABLE"], "t-analytics");
        assert_eq!(api["EVENTS_QUEUE_URL"], queue("q-events").url);
        // Parameters keep their defaults: SAM resolves those.
        assert!(api.get("GLOBAL_COUNTER_SHARDS").is_none(), "{api}");
        assert_eq!(file["ConsumerFunction"]["ARCHIVE_BUCKET"], "b-archive");
        assert_eq!(
            file["RebuildCoordinatorFunction"]["REBUILD_QUEUE_URL"],
            queue("q-rebuild").url
        );
        assert!(file["RelayFunction"]["TASKS_TABLE"].is_string());
    }
}
