//! The DynamoDB tables, SQS queues and S3 buckets of the template, created on an AWS-protocol
//! endpoint exactly as the template declares them.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml_ng::Value;

use super::{Template, invalid, scalar_text};
use crate::DevstackError;

/// What [`provision`] created: logical id → physical name, URL and ARN.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    pub tables: BTreeMap<String, String>,
    pub queues: BTreeMap<String, QueueInfo>,
    /// Logical id → bucket name.
    pub buckets: BTreeMap<String, String>,
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

    pub fn bucket(&self, logical_id: &str) -> Result<&str, DevstackError> {
        self.buckets
            .get(logical_id)
            .map(String::as_str)
            .ok_or_else(|| {
                DevstackError::Template(format!("no bucket {logical_id} in the template"))
            })
    }

    pub fn queue(&self, logical_id: &str) -> Result<&QueueInfo, DevstackError> {
        self.queues.get(logical_id).ok_or_else(|| {
            DevstackError::Template(format!("no queue {logical_id} in the template"))
        })
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
    create_buckets(config, template, prefix, &mut provisioned).await?;
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

/// Every `AWS::S3::Bucket`, named `<prefix>-<logical id>` in lower case (bucket names are).
/// Their encryption, public access block and lifecycle are the account's concern on AWS and
/// change nothing the code sees, so only the bucket is created.
async fn create_buckets(
    config: &SdkConfig,
    template: &Template,
    prefix: &str,
    provisioned: &mut Provisioned,
) -> Result<(), DevstackError> {
    let s3 = taskpulse_aws::sdk::s3_client(config);
    for (logical_id, _) in template.resources_of_type("AWS::S3::Bucket") {
        let name = format!("{prefix}-{logical_id}").to_lowercase();
        s3.create_bucket()
            .bucket(&name)
            .send()
            .await
            .map_err(|e| DevstackError::aws(format!("CreateBucket {name}"), e))?;
        provisioned.buckets.insert(logical_id.to_owned(), name);
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
