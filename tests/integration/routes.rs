//! The routes the API handler serves, the routes `docs/openapi.yaml` describes, the routes
//! `template.yaml` sends to the API function and the routes the test kit's client has a
//! method for are the same set.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;
use taskpulse_devstack::{Template, workspace_root};
use taskpulse_lambda::api::{PREFLIGHT_ROUTE, ROUTES};
use taskpulse_testkit::Route;

fn served() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect()
}

#[test]
fn openapi_describes_exactly_the_served_routes() {
    let source = std::fs::read_to_string(workspace_root().join("docs/openapi.yaml")).unwrap();
    let spec: Value = serde_yaml_ng::from_str(&source).unwrap();
    assert_eq!(spec["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    let paths = spec["paths"].as_mapping().expect("paths");
    let mut described = BTreeSet::new();
    for (path, item) in paths {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "put", "post", "delete", "patch", "head", "options"].contains(&method) {
                described.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    assert_eq!(described, served());
}

#[test]
fn the_template_routes_exactly_the_served_routes_to_the_api_function() {
    let template = Template::load_project().unwrap();
    let function = template.resource("ApiFunction").expect("ApiFunction");
    let events = function["Properties"]["Events"].as_mapping().unwrap();
    let mut routed = BTreeSet::new();
    for (_, event) in events {
        assert_eq!(event["Type"].as_str(), Some("HttpApi"));
        let properties = &event["Properties"];
        let route = (
            properties["Method"].as_str().unwrap().to_uppercase(),
            properties["Path"].as_str().unwrap().to_owned(),
        );
        // Only the preflight route skips the JWT authorizer: a preflight carries no token.
        let authorizer = properties["Auth"]["Authorizer"].as_str();
        if route == (PREFLIGHT_ROUTE.0.to_owned(), PREFLIGHT_ROUTE.1.to_owned()) {
            assert_eq!(authorizer, Some("NONE"), "{route:?}");
        } else {
            assert_eq!(
                authorizer, None,
                "{route:?} uses the default JWT authorizer"
            );
            routed.insert(route);
        }
    }
    assert_eq!(routed, served());
    let preflight = events
        .values()
        .filter(|e| e["Properties"]["Method"] == "OPTIONS");
    assert_eq!(preflight.count(), 1, "one preflight route");
}

#[test]
fn the_test_client_has_a_method_for_exactly_the_served_routes() {
    let covered: BTreeSet<(String, String)> = Route::ALL
        .iter()
        .map(|route| {
            let (method, path) = route.key();
            (method.to_owned(), path.to_owned())
        })
        .collect();
    assert_eq!(covered.len(), Route::ALL.len(), "one route per method");
    assert_eq!(covered, served());
}
