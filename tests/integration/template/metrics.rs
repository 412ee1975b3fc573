//! The dashboard plots every metric the code records, and the code records only metrics of the
//! registry.

use std::collections::BTreeSet;

use taskpulse_devstack::Template;

use super::{resource, sub_text, template};

/// Every custom metric (namespace taskpulse) the dashboard plots, by name.
fn dashboard_metrics(template: &Template) -> BTreeSet<String> {
    let body = sub_text(&resource(template, "Dashboard")["Properties"]["DashboardBody"]);
    // Substitutions become plain strings so the body parses as the JSON CloudWatch receives.
    let mut json = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        json.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed substitution") + start;
        json.push_str("SUB");
        rest = &rest[end + 1..];
    }
    json.push_str(rest);
    let body: serde_json::Value = serde_json::from_str(&json).expect("the dashboard body is JSON");
    let mut names = BTreeSet::new();
    for widget in body["widgets"].as_array().unwrap() {
        let mut namespace = String::new();
        let mut name = String::new();
        for metric in widget["properties"]["metrics"].as_array().unwrap() {
            let parts = metric.as_array().unwrap();
            // "." repeats the previous row's value, "..." the whole previous row.
            match parts.first().and_then(|v| v.as_str()) {
                Some("...") => {}
                Some(".") => name = parts[1].as_str().unwrap_or(&name).to_owned(),
                Some(ns) => {
                    namespace = ns.to_owned();
                    name = parts[1].as_str().unwrap().to_owned();
                }
                None => continue, // a math expression
            }
            if namespace == taskpulse_app::metric::NAMESPACE {
                names.insert(name.clone());
            }
        }
    }
    names
}

#[test]
fn the_dashboard_shows_every_recorded_metric_and_no_other() {
    let recorded: BTreeSet<String> = taskpulse_app::metric::ALL
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(dashboard_metrics(&template()), recorded);
}

#[test]
fn every_metric_name_the_code_records_is_in_the_registry() {
    // The registry is what the dashboard is checked against; a name recorded elsewhere would
    // escape that check. Scan the sources for metric macro calls naming a registry constant.
    let root = taskpulse_devstack::workspace_root();
    let mut unregistered = vec![];
    for dir in ["shared", "functions", "src"] {
        for path in walk(&root.join(dir)) {
            let source = std::fs::read_to_string(&path).unwrap();
            for (n, line) in source.lines().enumerate() {
                for mac in ["counter!(", "gauge!(", "histogram!("] {
                    if let Some(at) = line.find(mac) {
                        let argument = line[at + mac.len()..].trim_start();
                        if !argument.starts_with("metric::") && !argument.is_empty() {
                            unregistered.push(format!(
                                "{}:{}: {}",
                                path.display(),
                                n + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        unregistered.is_empty(),
        "metrics named outside taskpulse_app::metric: {unregistered:#?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}
