//! The DynamoDB tables and SQS queues of `template.yaml`, created on an AWS-protocol endpoint
//! exactly as the template declares them. The template stays the single source of the resource
//! definitions: a property this module does not know is an error, not silently dropped.

use std::collections::BTreeMap;
use std::path::Path;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml_ng::{Mapping, Value};

use crate::DevstackError;

/// A parsed SAM/CloudFormation template.
#[derive(Debug, Clone)]
pub struct Template {
    root: Mapping,
}

/// What [`provision`] created: logical id → physical name, URL and ARN.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    pub tables: BTreeMap<String, String>,
    pub queues: BTreeMap<String, QueueInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    pub name: String,
    pub url: String,
    pub arn: String,
}

impl Provisioned {
    pub fn table(&self, logical_id: &str) -> Result<&str, DevstackError> {
        self.tables
            .get(logical_id)
            .map(String::as_str)
            .ok_or_else(|| {
                DevstackError::Template(format!("no table {logical_id} in the template"))
            })
    }

    pub fn queue(&self, logical_id: &str) -> Result<&QueueInfo, DevstackError> {
        self.queues.get(logical_id).ok_or_else(|| {
            DevstackError::Template(format!("no queue {logical_id} in the template"))
        })
    }
}

fn invalid(resource: &str, detail: impl std::fmt::Display) -> DevstackError {
    DevstackError::Template(format!("{resource}: {detail}"))
}

fn text(value: &Value) -> Option<&str> {
    value.as_str()
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, DevstackError> {
        let source = std::fs::read_to_string(path).map_err(|e| DevstackError::io(path, e))?;
        Self::parse(&source)
    }

    /// `template.yaml` at the workspace root.
    pub fn load_project() -> Result<Self, DevstackError> {
        Self::load(&crate::workspace_root().join("template.yaml"))
    }

    pub fn parse(source: &str) -> Result<Self, DevstackError> {
        let value: Value = serde_yaml_ng::from_str(source)
            .map_err(|e| DevstackError::Template(format!("template is not YAML: {e}")))?;
        match value {
            Value::Mapping(root) => Ok(Self { root }),
            _ => Err(DevstackError::Template("template is not a mapping".into())),
        }
    }

    /// A top-level section (`Globals`, `Parameters`, `Outputs`, …).
    pub fn section(&self, name: &str) -> Option<&Value> {
        self.root.get(name)
    }

    /// The resources section: logical id → resource mapping.
    pub fn resources(&self) -> impl Iterator<Item = (&str, &Mapping)> {
        self.root
            .get("Resources")
            .and_then(Value::as_mapping)
            .into_iter()
            .flat_map(|resources| resources.iter())
            .filter_map(|(id, resource)| Some((id.as_str()?, resource.as_mapping()?)))
    }

    /// The logical ids of the resources of one type, in template order.
    pub fn resources_of_type(&self, resource_type: &str) -> Vec<(&str, &Mapping)> {
        self.resources()
            .filter(|(_, r)| r.get("Type").and_then(text) == Some(resource_type))
            .collect()
    }

    pub fn resource(&self, logical_id: &str) -> Option<&Mapping> {
        self.resources()
            .find(|(id, _)| *id == logical_id)
            .map(|(_, r)| r)
    }

    /// A parameter's default value, as text.
    fn parameter_default(&self, name: &str) -> Option<String> {
        let default = self.root.get("Parameters")?.get(name)?.get("Default")?;
        scalar_text(default)
    }

    /// Resolves a property value: a scalar, `!Ref Parameter` (its default), or
    /// `!GetAtt Queue.Arn` (from queues already created).
    fn resolve(
        &self,
        resource: &str,
        value: &Value,
        queues: &BTreeMap<String, QueueInfo>,
    ) -> Result<Value, DevstackError> {
        let (function, argument) = match value {
            Value::Tagged(tagged) => (tagged.tag.to_string(), tagged.value.clone()),
            Value::Mapping(map) if map.len() == 1 => {
                let (key, argument) = map.iter().next().expect("one entry");
                match key.as_str() {
                    Some(name @ ("Ref" | "Fn::GetAtt" | "Fn::Sub")) => (
                        format!("!{}", name.trim_start_matches("Fn::")),
                        argument.clone(),
                    ),
                    _ => return self.resolve_mapping(resource, map, queues),
                }
            }
            Value::Mapping(map) => return self.resolve_mapping(resource, map, queues),
            Value::Sequence(items) => {
                return items
                    .iter()
                    .map(|item| self.resolve(resource, item, queues))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Sequence);
            }
            scalar => return Ok(scalar.clone()),
        };
        match (function.as_str(), &argument) {
            ("!Ref", Value::String(name)) => self
                .parameter_default(name)
                .map(Value::String)
                .ok_or_else(|| invalid(resource, format!("!Ref {name} has no parameter default"))),
            ("!GetAtt", target) => {
                let dotted = match target {
                    Value::String(s) => s.clone(),
                    Value::Sequence(parts) => {
                        parts.iter().filter_map(text).collect::<Vec<_>>().join(".")
                    }
                    _ => String::new(),
                };
                match dotted.split_once('.') {
                    Some((id, "Arn")) => queues
                        .get(id)
                        .map(|q| Value::String(q.arn.clone()))
                        .ok_or_else(|| {
                            invalid(
                                resource,
                                format!("!GetAtt {dotted}: no queue {id} created before"),
                            )
                        }),
                    _ => Err(invalid(
                        resource,
                        format!("!GetAtt {dotted} is not supported"),
                    )),
                }
            }
            (other, _) => Err(invalid(
                resource,
                format!("intrinsic {other} is not supported"),
            )),
        }
    }

    fn resolve_mapping(
        &self,
        resource: &str,
        map: &Mapping,
        queues: &BTreeMap<String, QueueInfo>,
    ) -> Result<Value, DevstackError> {
        let mut resolved = Mapping::new();
        for (key, value) in map {
            resolved.insert(key.clone(), self.resolve(resource, value, queues)?);
        }
        Ok(Value::Mapping(resolved))
    }

    fn properties(
        &self,
        logical_id: &str,
        resource: &Mapping,
        queues: &BTreeMap<String, QueueInfo>,
    ) -> Result<Mapping, DevstackError> {
        match resource.get("Properties") {
            None => Ok(Mapping::new()),
            Some(Value::Mapping(props)) => match self.resolve_mapping(logical_id, props, queues)? {
                Value::Mapping(resolved) => Ok(resolved),
                _ => unreachable!("a mapping resolves to a mapping"),
            },
            Some(_) => Err(invalid(logical_id, "Properties is not a mapping")),
        }
    }
}

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

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_field(resource: &str, value: &Value, name: &str) -> Result<String, DevstackError> {
    value
        .get(name)
        .and_then(scalar_text)
        .ok_or_else(|| invalid(resource, format!("{name} must be a string")))
}

fn sequence<'a>(
    resource: &str,
    value: &'a Value,
    name: &str,
) -> Result<&'a Vec<Value>, DevstackError> {
    value
        .as_sequence()
        .ok_or_else(|| invalid(resource, format!("{name} must be a list")))
}

fn key_schema(resource: &str, value: &Value) -> Result<Vec<KeySchemaElement>, DevstackError> {
    sequence(resource, value, "KeySchema")?
        .iter()
        .map(|element| {
            KeySchemaElement::builder()
                .attribute_name(string_field(resource, element, "AttributeName")?)
                .key_type(KeyType::from(
                    string_field(resource, element, "KeyType")?.as_str(),
                ))
                .build()
                .map_err(|e| invalid(resource, e))
        })
        .collect()
}

fn enabled(resource: &str, value: &Value, field: &str) -> Result<bool, DevstackError> {
    match value.get(field) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => Ok(s.eq_ignore_ascii_case("true")),
        _ => Err(invalid(resource, format!("{field} must be a boolean"))),
    }
}

/// Creates every `AWS::SQS::Queue` and `AWS::DynamoDB::Table` of the template, named
/// `<prefix>-<LogicalId>` so several test runs can share one endpoint.
pub async fn provision(
    config: &SdkConfig,
    template: &Template,
    prefix: &str,
) -> Result<Provisioned, DevstackError> {
    let mut provisioned = Provisioned::default();
    create_queues(config, template, prefix, &mut provisioned).await?;
    create_tables(config, template, prefix, &mut provisioned).await?;
    Ok(provisioned)
}

async fn create_queues(
    config: &SdkConfig,
    template: &Template,
    prefix: &str,
    provisioned: &mut Provisioned,
) -> Result<(), DevstackError> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut pending = template.resources_of_type("AWS::SQS::Queue");
    // A queue can name another (its dead-letter queue) by ARN: create referenced queues first.
    while !pending.is_empty() {
        let before = pending.len();
        let mut deferred = vec![];
        for (logical_id, resource) in pending {
            let props = match template.properties(logical_id, resource, &provisioned.queues) {
                Ok(props) => props,
                Err(DevstackError::Template(msg)) if msg.contains("created before") => {
                    deferred.push((logical_id, resource));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let fifo = props.get("FifoQueue").and_then(scalar_text).as_deref() == Some("true");
            let name = format!("{prefix}-{logical_id}{}", if fifo { ".fifo" } else { "" });
            let mut request = sqs.create_queue().queue_name(&name);
            for (key, value) in &props {
                let key = key.as_str().unwrap_or_default();
                let attribute = match key {
                    "QueueName" | "Tags" => continue,
                    "RedrivePolicy" | "RedriveAllowPolicy" => {
                        let json = serde_json::to_string(value)
                            .map_err(|e| invalid(logical_id, format!("{key}: {e}")))?;
                        request = request.attributes(QueueAttributeName::from(key), json);
                        continue;
                    }
                    "VisibilityTimeout"
                    | "MessageRetentionPeriod"
                    | "DelaySeconds"
                    | "MaximumMessageSize"
                    | "ReceiveMessageWaitTimeSeconds"
                    | "FifoQueue"
                    | "ContentBasedDeduplication"
                    | "SqsManagedSseEnabled" => key,
                    other => {
                        return Err(invalid(
                            logical_id,
                            format!("queue property {other} is not supported by devstack"),
                        ));
                    }
                };
                let text = scalar_text(value)
                    .ok_or_else(|| invalid(logical_id, format!("{key} must be a scalar")))?;
                request = request.attributes(QueueAttributeName::from(attribute), text);
            }
            let url = request
                .send()
                .await
                .map_err(|e| DevstackError::aws(format!("CreateQueue {name}"), e))?
                .queue_url
                .unwrap_or_default();
            let arn = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(|e| DevstackError::aws(format!("GetQueueAttributes {name}"), e))?
                .attributes
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .unwrap_or_default();
            provisioned
                .queues
                .insert(logical_id.to_owned(), QueueInfo { name, url, arn });
        }
        if deferred.len() == before {
            let ids: Vec<&str> = deferred.iter().map(|(id, _)| *id).collect();
            return Err(DevstackError::Template(format!(
                "queues {ids:?} reference each other or a queue that does not exist"
            )));
        }
        pending = deferred;
    }
    Ok(())
}

async fn create_tables(
    config: &SdkConfig,
    template: &Template,
    prefix: &str,
    provisioned: &mut Provisioned,
) -> Result<(), DevstackError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    for (logical_id, resource) in template.resources_of_type("AWS::DynamoDB::Table") {
        let props = template.properties(logical_id, resource, &provisioned.queues)?;
        let name = format!("{prefix}-{logical_id}");
        let mut request = dynamodb.create_table().table_name(&name);
        let mut ttl = None;
        let mut point_in_time_recovery = false;
        for (key, value) in &props {
            let key = key.as_str().unwrap_or_default();
            match key {
                "TableName" | "Tags" | "DeletionProtectionEnabled" | "SSESpecification" => {}
                "BillingMode" => {
                    request = request.billing_mode(BillingMode::from(
                        scalar_text(value).unwrap_or_default().as_str(),
                    ));
                }
                "AttributeDefinitions" => {
                    for definition in sequence(logical_id, value, key)? {
                        request = request.attribute_definitions(
                            AttributeDefinition::builder()
                                .attribute_name(string_field(
                                    logical_id,
                                    definition,
                                    "AttributeName",
                                )?)
                                .attribute_type(ScalarAttributeType::from(
                                    string_field(logical_id, definition, "AttributeType")?.as_str(),
                                ))
                                .build()
                                .map_err(|e| invalid(logical_id, e))?,
                        );
                    }
                }
                "KeySchema" => {
                    request = request.set_key_schema(Some(key_schema(logical_id, value)?))
                }
                "GlobalSecondaryIndexes" => {
                    for index in sequence(logical_id, value, key)? {
                        let projection = index.get("Projection").ok_or_else(|| {
                            invalid(logical_id, "a global secondary index needs a Projection")
                        })?;
                        let mut projection_builder =
                            Projection::builder().projection_type(ProjectionType::from(
                                string_field(logical_id, projection, "ProjectionType")?.as_str(),
                            ));
                        if let Some(attributes) = projection.get("NonKeyAttributes") {
                            for attribute in sequence(logical_id, attributes, "NonKeyAttributes")? {
                                projection_builder = projection_builder
                                    .non_key_attributes(scalar_text(attribute).unwrap_or_default());
                            }
                        }
                        request = request.global_secondary_indexes(
                            GlobalSecondaryIndex::builder()
                                .index_name(string_field(logical_id, index, "IndexName")?)
                                .set_key_schema(Some(key_schema(
                                    logical_id,
                                    index.get("KeySchema").unwrap_or(&Value::Null),
                                )?))
                                .projection(projection_builder.build())
                                .build()
                                .map_err(|e| invalid(logical_id, e))?,
                        );
                    }
                }
                "StreamSpecification" => {
                    request = request.stream_specification(
                        StreamSpecification::builder()
                            .stream_enabled(true)
                            .stream_view_type(StreamViewType::from(
                                string_field(logical_id, value, "StreamViewType")?.as_str(),
                            ))
                            .build()
                            .map_err(|e| invalid(logical_id, e))?,
                    );
                }
                "TimeToLiveSpecification" => {
                    if enabled(logical_id, value, "Enabled")? {
                        ttl = Some(string_field(logical_id, value, "AttributeName")?);
                    }
                }
                "PointInTimeRecoverySpecification" => {
                    point_in_time_recovery =
                        enabled(logical_id, value, "PointInTimeRecoveryEnabled")?;
                }
                other => {
                    return Err(invalid(
                        logical_id,
                        format!("table property {other} is not supported by devstack"),
                    ));
                }
            }
        }
        request
            .send()
            .await
            .map_err(|e| DevstackError::aws(format!("CreateTable {name}"), e))?;
        if let Some(attribute) = ttl {
            dynamodb
                .update_time_to_live()
                .table_name(&name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(attribute)
                        .build()
                        .map_err(|e| invalid(logical_id, e))?,
                )
                .send()
                .await
                .map_err(|e| DevstackError::aws(format!("UpdateTimeToLive {name}"), e))?;
        }
        if point_in_time_recovery {
            dynamodb
                .update_continuous_backups()
                .table_name(&name)
                .point_in_time_recovery_specification(
                    PointInTimeRecoverySpecification::builder()
                        .point_in_time_recovery_enabled(true)
                        .build()
                        .map_err(|e| invalid(logical_id, e))?,
                )
                .send()
                .await
                .map_err(|e| DevstackError::aws(format!("UpdateContinuousBackups {name}"), e))?;
        }
        provisioned.tables.insert(logical_id.to_owned(), name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consumer_mapping_is_read_from_the_project_template() {
        let mapping = Template::load_project()
            .unwrap()
            .consumer_mapping("ConsumerFunction")
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

    #[test]
    fn refs_resolve_to_parameter_defaults_and_getatt_to_created_queues() {
        let template = Template::parse(
            "Parameters:\n  Visibility:\n    Type: Number\n    Default: 180\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      VisibilityTimeout: !Ref Visibility\n      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt D.Arn\n        maxReceiveCount: 5\n",
        )
        .unwrap();
        let (id, resource) = template.resources_of_type("AWS::SQS::Queue")[0];
        let mut queues = BTreeMap::new();
        let err = template.properties(id, resource, &queues).unwrap_err();
        assert!(err.to_string().contains("created before"), "{err}");
        queues.insert(
            "D".to_owned(),
            QueueInfo {
                name: "d".into(),
                url: "u".into(),
                arn: "arn:d".into(),
            },
        );
        let props = template.properties(id, resource, &queues).unwrap();
        assert_eq!(
            props.get("VisibilityTimeout").and_then(Value::as_str),
            Some("180")
        );
        assert_eq!(
            props
                .get("RedrivePolicy")
                .and_then(|p| p.get("deadLetterTargetArn"))
                .and_then(Value::as_str),
            Some("arn:d")
        );
    }

    #[test]
    fn unsupported_intrinsics_are_errors() {
        let template = Template::parse(
            "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: !Join ['-', [a, b]]\n",
        )
        .unwrap();
        let (id, resource) = template.resources_of_type("AWS::DynamoDB::Table")[0];
        assert!(template.properties(id, resource, &BTreeMap::new()).is_err());
    }
}
