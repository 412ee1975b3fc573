//! `template.yaml` as the tests and the local stack read it: a parsed SAM/CloudFormation
//! template, its resources, and their properties with `!Ref` and `!GetAtt` resolved. The
//! template stays the single source of the resource definitions: a property this crate does
//! not know is an error, not silently dropped.

mod consumer_mapping;
mod provision;

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use crate::DevstackError;

pub use consumer_mapping::ConsumerMapping;
pub use provision::{Provisioned, QueueInfo, provision};

/// A parsed SAM/CloudFormation template.
#[derive(Debug, Clone)]
pub struct Template {
    root: Mapping,
}

pub(crate) fn invalid(resource: &str, detail: impl std::fmt::Display) -> DevstackError {
    DevstackError::Template(format!("{resource}: {detail}"))
}

pub(crate) fn text(value: &Value) -> Option<&str> {
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

    pub(crate) fn properties(
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

pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
