//! The SQS event source mapping of a function, as the template declares it.

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

use super::{Template, invalid, scalar_text, text};
use crate::DevstackError;

/// How `template.yaml` configures the consumer's event source mapping and its queue: the
/// settings the local event source mapping copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerMapping {
    pub batch_size: u32,
    pub batching_window_seconds: u32,
    pub maximum_concurrency: u32,
    pub function_timeout_seconds: u32,
    pub visibility_timeout_seconds: u32,
    pub max_receive_count: u32,
}

impl Template {
    /// The SQS event source of `function` (its first `Type: SQS` event), with the queue it
    /// reads and that queue's redrive policy, parameters resolved to their defaults.
    pub fn consumer_mapping(&self, function: &str) -> Result<ConsumerMapping, DevstackError> {
        let props = self
            .resource(function)
            .and_then(|r| r.get("Properties"))
            .ok_or_else(|| invalid(function, "no such function"))?;
        let source = props
            .get("Events")
            .and_then(Value::as_mapping)
            .into_iter()
            .flat_map(|events| events.values())
            .find(|event| event.get("Type").and_then(text) == Some("SQS"))
            .and_then(|event| event.get("Properties"))
            .ok_or_else(|| invalid(function, "has no SQS event source"))?;
        // Each value on its own: the function's other properties name resources that only
        // exist once deployed.
        let number = |value: Option<&Value>, what: &str| -> Result<u32, DevstackError> {
            let value = value.ok_or_else(|| invalid(function, format!("{what} is missing")))?;
            scalar_text(&self.resolve(function, value, &BTreeMap::new())?)
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| invalid(function, format!("{what} is not a number")))
        };
        let function_timeout = match props.get("Timeout") {
            Some(value) => number(Some(value), "Timeout")?,
            None => number(
                self.section("Globals")
                    .and_then(|g| g.get("Function"))
                    .and_then(|f| f.get("Timeout")),
                "Globals.Function.Timeout",
            )?,
        };
        let queue_id = match source.get("Queue") {
            Some(Value::Tagged(tagged)) if tagged.tag == "GetAtt" => text(&tagged.value)
                .and_then(|t| t.split_once('.'))
                .map(|(id, _)| id.to_owned()),
            _ => None,
        }
        .ok_or_else(|| {
            invalid(
                function,
                "the SQS event's Queue must be !GetAtt <Queue>.Arn",
            )
        })?;
        let queue = self
            .resource(&queue_id)
            .and_then(|q| q.get("Properties"))
            .ok_or_else(|| invalid(&queue_id, "no such queue"))?;
        Ok(ConsumerMapping {
            batch_size: number(source.get("BatchSize"), "BatchSize")?,
            batching_window_seconds: number(
                source.get("MaximumBatchingWindowInSeconds"),
                "MaximumBatchingWindowInSeconds",
            )?,
            maximum_concurrency: number(
                source
                    .get("ScalingConfig")
                    .and_then(|s| s.get("MaximumConcurrency")),
                "ScalingConfig.MaximumConcurrency",
            )?,
            function_timeout_seconds: function_timeout,
            visibility_timeout_seconds: number(
                queue.get("VisibilityTimeout"),
                "the queue's VisibilityTimeout",
            )?,
            max_receive_count: number(
                queue
                    .get("RedrivePolicy")
                    .and_then(|r| r.get("maxReceiveCount")),
                "the queue's RedrivePolicy.maxReceiveCount",
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consumer_mapping_is_read_from_the_project_template() {
        let mapping = Template::load_project()
            .unwrap()
            .consumer_mapping(crate::CONSUMER_FUNCTION)
            .unwrap();
        assert_eq!(
            mapping,
            ConsumerMapping {
                batch_size: 100,
                batching_window_seconds: 1,
                maximum_concurrency: 10,
                function_timeout_seconds: 30,
                visibility_timeout_seconds: 180,
                max_receive_count: 5,
            }
        );
        let err = Template::load_project()
            .unwrap()
            .consumer_mapping("ApiFunction")
            .unwrap_err();
        assert!(err.to_string().contains("no SQS event source"), "{err}");
    }
}
