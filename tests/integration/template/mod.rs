//! What the linters do not check in `template.yaml`, one module per concern: the dashboard
//! shows every metric the code records and no other (`metrics`); each function's policy grants
//! exactly the actions it uses (`permissions`); the archive bucket is private and encrypted,
//! and its Glue table projects the partitions the archive keys name (`archive`); each function
//! gets the environment its code reads, and is an arm64 Rust function (`functions`); the queue
//! rules hold (`queues`); the tables have the keys the code names (`tables`).

mod archive;
mod functions;
mod metrics;
mod permissions;
mod queues;
mod tables;

use serde_yaml_ng::Value;
use taskpulse_devstack::Template;

pub(super) fn template() -> Template {
    Template::load_project().expect("template.yaml parses")
}

pub(super) fn resource<'a>(template: &'a Template, id: &str) -> &'a serde_yaml_ng::Mapping {
    template
        .resource(id)
        .unwrap_or_else(|| panic!("{id} is declared"))
}

/// The text under a `!Sub` tag (or a plain string).
pub(super) fn sub_text(value: &Value) -> &str {
    match value {
        Value::Tagged(tagged) => tagged.value.as_str().expect("!Sub of a string"),
        other => other.as_str().expect("a string"),
    }
}

pub(super) fn number(value: &Value) -> i64 {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{value:?} is a number"))
}

/// A function's environment variable, as the template writes it (`!Ref X` as "!Ref X").
pub(super) fn environment(template: &Template, function: &str, name: &str) -> Option<String> {
    let value = &resource(template, function)["Properties"]["Environment"]["Variables"][name];
    match value {
        Value::Null => None,
        Value::Tagged(tagged) => Some(format!(
            "{} {}",
            tagged.tag,
            tagged.value.as_str().unwrap_or("")
        )),
        other => Some(scalar(other)),
    }
}

pub(super) fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("{other:?} is not a scalar"),
    }
}
