//! Each function is an arm64 Rust function with JSON logs and a log group, gets the
//! environment its code reads, and lets `sam local` (and only it) name a local endpoint.

use super::{environment, number, resource, sub_text, template};

#[test]
fn each_function_gets_the_environment_its_code_reads() {
    use taskpulse_aws::env;
    use taskpulse_lambda::rebuild::settings;

    let template = template();
    let has = |function: &str, name: &str, expected: &str| {
        assert_eq!(
            environment(&template, function, name).as_deref(),
            Some(expected),
            "{function} {name}"
        );
    };
    has(
        "ConsumerFunction",
        env::ARCHIVE_BUCKET,
        "!Ref ArchiveBucket",
    );
    has(
        "ApiFunction",
        env::CORS_ALLOWED_ORIGINS,
        "!Ref DashboardOrigins",
    );
    for function in ["RebuildCoordinatorFunction", "RebuildWorkerFunction"] {
        has(function, env::ANALYTICS_TABLE, "!Ref AnalyticsTable");
        has(function, env::ARCHIVE_BUCKET, "!Ref ArchiveBucket");
        has(
            function,
            env::GLOBAL_COUNTER_SHARDS,
            "!Ref GlobalCounterShards",
        );
        has(
            function,
            settings::REBUILD_WRITE_RATE,
            "!Ref RebuildWriteRate",
        );
    }
    has(
        "RebuildCoordinatorFunction",
        env::REBUILD_QUEUE_URL,
        "!Ref RebuildQueue",
    );
    has(
        "RebuildWorkerFunction",
        settings::REBUILD_WORKER_CONCURRENCY,
        "!Ref RebuildWorkerConcurrency",
    );
    for function in [
        "ConsumerFunction",
        "RebuildWorkerFunction",
        "EraserFunction",
    ] {
        has(function, env::TASKS_TABLE, "!Ref TasksTable");
    }
    has("ApiFunction", env::ERASURE_QUEUE_URL, "!Ref ErasureQueue");
    has(
        "EraserFunction",
        env::ERASURE_QUEUE_URL,
        "!Ref ErasureQueue",
    );
    for function in ["EraserFunction", "ConsumerFunction"] {
        has(function, env::EVENTS_QUEUE_URL, "!Ref EventsQueue");
    }
    has(
        "EraserFunction",
        env::ANALYTICS_TABLE,
        "!Ref AnalyticsTable",
    );
    // An erasure settles longer than any writer acts on an erasure record read before the
    // record existed: a command, a consumer batch (the rebuild worker reads the record per
    // chunk, within `taskpulse_app::rebuild`'s 20 s retry budget), so that nothing that began
    // before the request writes after its deletions.
    let settle: u64 = environment(&template, "EraserFunction", env::ERASURE_SETTLE_SECONDS)
        .expect("the eraser's settle time")
        .parse()
        .unwrap();
    // (The relay writes only conditionally on a task's version: it cannot recreate one.)
    let writers = ["ApiFunction", "ConsumerFunction"];
    for writer in writers {
        let timeout = match &resource(&template, writer)["Properties"]["Timeout"] {
            serde_yaml_ng::Value::Null => {
                number(&template.section("Globals").unwrap()["Function"]["Timeout"])
            }
            timeout => number(timeout),
        };
        assert!(
            settle > timeout as u64,
            "the erasure settle time ({settle} s) must exceed {writer}'s timeout ({timeout} s)"
        );
    }
    // The settle time waits out the longest consumer batch: it must know the real timeout.
    let consumer_timeout =
        number(&resource(&template, "ConsumerFunction")["Properties"]["Timeout"]);
    has(
        "RebuildCoordinatorFunction",
        settings::CONSUMER_TIMEOUT_SECONDS,
        &consumer_timeout.to_string(),
    );
}

#[test]
fn every_function_is_an_arm64_rust_function_with_json_logs_and_a_log_group() {
    let template = template();
    let globals = &template.section("Globals").expect("Globals")["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));
    assert_eq!(globals["LoggingConfig"]["LogFormat"].as_str(), Some("JSON"));
    for (function, binary) in [
        ("ApiFunction", "taskpulse-api"),
        ("ConsumerFunction", "taskpulse-consumer"),
        ("RelayFunction", "taskpulse-relay"),
        (
            "RebuildCoordinatorFunction",
            "taskpulse-rebuild-coordinator",
        ),
        ("RebuildWorkerFunction", "taskpulse-rebuild-worker"),
    ] {
        let declared = resource(&template, function);
        assert_eq!(
            declared["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda")
        );
        assert_eq!(
            declared["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some(binary)
        );
        let group = resource(&template, &format!("{function}LogGroup"));
        assert!(
            sub_text(&group["Properties"]["LogGroupName"]).ends_with(&format!("${{{function}}}"))
        );
    }
}

#[test]
fn the_template_lets_sam_local_set_the_endpoint_and_never_sets_it_on_aws() {
    use taskpulse_aws::env::{AWS_SAM_LOCAL, LOCAL_AWS_ENDPOINT_URL};
    let template = template();
    // SAM passes a function only the variables the template declares: declared, and empty.
    let globals =
        &template.section("Globals").expect("Globals")["Function"]["Environment"]["Variables"];
    assert_eq!(globals[LOCAL_AWS_ENDPOINT_URL].as_str(), Some(""));
    for name in [AWS_SAM_LOCAL, "AWS_ENDPOINT_URL"] {
        assert!(globals.get(name).is_none(), "Globals set {name}");
    }
    // No function overrides it, and none claims to run under SAM on AWS (that would make the
    // API read callers from unverified bearer tokens).
    for (id, resource) in template.resources_of_type("AWS::Serverless::Function") {
        let variables = &resource["Properties"]["Environment"]["Variables"];
        for name in [LOCAL_AWS_ENDPOINT_URL, AWS_SAM_LOCAL, "AWS_ENDPOINT_URL"] {
            assert!(variables.get(name).is_none(), "{id} sets {name}");
        }
    }
}
