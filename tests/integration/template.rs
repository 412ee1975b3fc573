//! What the linters do not check in `template.yaml`: the dashboard shows every metric the code
//! records and no other; each function's policy grants exactly the actions it uses; the queue
//! rules (redrive, visibility, encryption) hold; the archive bucket is private and encrypted,
//! and its Glue table projects the partitions the archive keys name; each function gets the
//! environment its code reads.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::Value;
use taskpulse_devstack::Template;

fn template() -> Template {
    Template::load_project().expect("template.yaml parses")
}

fn resource<'a>(template: &'a Template, id: &str) -> &'a serde_yaml_ng::Mapping {
    template
        .resource(id)
        .unwrap_or_else(|| panic!("{id} is declared"))
}

/// The text under a `!Sub` tag (or a plain string).
fn sub_text(value: &Value) -> &str {
    match value {
        Value::Tagged(tagged) => tagged.value.as_str().expect("!Sub of a string"),
        other => other.as_str().expect("a string"),
    }
}

fn number(value: &Value) -> i64 {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{value:?} is a number"))
}

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

/// (actions, resource reference) of every statement of a function's inline policies.
fn granted(template: &Template, function: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut grants: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let policies = resource(template, function)["Properties"]["Policies"]
        .as_sequence()
        .unwrap();
    for policy in policies {
        for statement in policy["Statement"]
            .as_sequence()
            .expect("inline statements only")
        {
            assert_eq!(statement["Effect"].as_str(), Some("Allow"));
            let target = match &statement["Resource"] {
                Value::Tagged(tagged) => {
                    format!("{} {}", tagged.tag, tagged.value.as_str().unwrap_or(""))
                }
                other => {
                    panic!("{function}: resource {other:?} must reference a resource of the stack")
                }
            };
            let actions = grants.entry(target).or_default();
            for action in statement["Action"].as_sequence().unwrap() {
                actions.insert(action.as_str().unwrap().to_owned());
            }
        }
    }
    grants
}

fn expect(grants: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    grants
        .iter()
        .map(|(target, actions)| {
            (
                target.to_string(),
                actions.iter().map(|a| a.to_string()).collect(),
            )
        })
        .collect()
}

#[test]
fn each_function_is_granted_exactly_the_actions_it_uses() {
    let template = template();
    assert_eq!(
        granted(&template, "ApiFunction"),
        expect(&[
            (
                "!GetAtt TasksTable.Arn",
                &[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:ConditionCheckItem"
                ]
            ),
            ("!Sub ${TasksTable.Arn}/index/byUser", &["dynamodb:Query"]),
            (
                "!GetAtt AnalyticsTable.Arn",
                &["dynamodb:Query", "dynamodb:GetItem"]
            ),
            ("!GetAtt EventsQueue.Arn", &["sqs:SendMessage"]),
        ])
    );
    assert_eq!(
        granted(&template, "ConsumerFunction"),
        expect(&[
            (
                "!GetAtt AnalyticsTable.Arn",
                &["dynamodb:UpdateItem", "dynamodb:GetItem"]
            ),
            ("!Sub ${ArchiveBucket.Arn}/events/*", &["s3:PutObject"]),
        ])
    );
    assert_eq!(
        granted(&template, "RebuildCoordinatorFunction"),
        expect(&[
            (
                "!GetAtt AnalyticsTable.Arn",
                &[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:Query",
                    "dynamodb:Scan",
                    "dynamodb:BatchWriteItem"
                ]
            ),
            ("!GetAtt ArchiveBucket.Arn", &["s3:ListBucket"]),
            ("!GetAtt RebuildQueue.Arn", &["sqs:SendMessage"]),
        ])
    );
    assert_eq!(
        granted(&template, "RebuildWorkerFunction"),
        expect(&[
            (
                "!GetAtt AnalyticsTable.Arn",
                &[
                    "dynamodb:UpdateItem",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem"
                ]
            ),
            ("!Sub ${ArchiveBucket.Arn}/events/*", &["s3:GetObject"]),
            ("!GetAtt ArchiveBucket.Arn", &["s3:ListBucket"]),
        ])
    );
    assert_eq!(
        granted(&template, "RelayFunction"),
        expect(&[
            ("!Sub ${TasksTable.Arn}/index/outbox", &["dynamodb:Query"]),
            (
                "!GetAtt TasksTable.Arn",
                &["dynamodb:GetItem", "dynamodb:UpdateItem"]
            ),
            ("!GetAtt EventsQueue.Arn", &["sqs:SendMessage"]),
        ])
    );
}

/// The statements of a function's inline policies that grant `action`.
fn statements_granting<'a>(template: &'a Template, function: &str, action: &str) -> Vec<&'a Value> {
    resource(template, function)["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|policy| policy["Statement"].as_sequence().unwrap())
        .filter(|statement| {
            statement["Action"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|a| a.as_str() == Some(action))
        })
        .collect()
}

#[test]
fn listing_the_archive_is_limited_to_its_events_prefix() {
    let template = template();
    for function in ["RebuildCoordinatorFunction", "RebuildWorkerFunction"] {
        let statements = statements_granting(&template, function, "s3:ListBucket");
        assert_eq!(statements.len(), 1, "{function}");
        let prefixes: Vec<&str> = statements[0]["Condition"]["StringLike"]["s3:prefix"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{function}: ListBucket needs an s3:prefix condition"))
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let root = taskpulse_app::archive::ARCHIVE_ROOT;
        assert_eq!(
            prefixes,
            [root.to_owned(), format!("{root}*")],
            "{function}"
        );
    }
}

#[test]
fn the_archive_bucket_is_encrypted_private_and_tls_only() {
    let template = template();
    let bucket = resource(&template, "ArchiveBucket");
    assert_eq!(bucket["DeletionPolicy"].as_str(), Some("Retain"));
    let props = &bucket["Properties"];
    let encryption = &props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert!(
        matches!(
            encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"].as_str(),
            Some("AES256" | "aws:kms")
        ),
        "default encryption"
    );
    let block = &props["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting].as_bool(), Some(true), "{setting}");
    }
    let policy = &resource(&template, "ArchiveBucketPolicy")["Properties"]["PolicyDocument"];
    let deny = &policy["Statement"][0];
    assert_eq!(deny["Effect"].as_str(), Some("Deny"));
    assert_eq!(
        deny["Condition"]["Bool"]["aws:SecureTransport"].as_bool(),
        Some(false)
    );
}

#[test]
fn the_glue_table_projects_the_archive_partitions_without_a_crawler() {
    let template = template();
    assert!(template.resources_of_type("AWS::Glue::Crawler").is_empty());
    let table = &resource(&template, "ArchiveEventsTable")["Properties"]["TableInput"];
    let parameters = &table["Parameters"];
    for (key, value) in [
        ("projection.enabled", "true"),
        ("projection.date.type", "date"),
        ("projection.date.format", "yyyy-MM-dd"),
        ("projection.date.range", "2020-01-01,NOW"),
        ("projection.date.interval", "1"),
        ("projection.date.interval.unit", "DAYS"),
    ] {
        assert_eq!(parameters[key].as_str(), Some(value), "{key}");
    }
    // The location template is the archive's own key layout (`ArchiveKey::partition_prefix`).
    let day: chrono::NaiveDate = "2026-12-01".parse().unwrap();
    let prefix = taskpulse_app::archive::ArchiveKey::partition_prefix(day);
    let location = sub_text(&parameters["storage.location.template"]);
    assert_eq!(
        location
            .replace("${ArchiveBucket}", "bucket")
            .replace("${!date}", "2026-12-01"),
        format!("s3://bucket/{prefix}")
    );
    let keys = table["PartitionKeys"].as_sequence().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["Name"].as_str(), Some("date"));
    let storage = &table["StorageDescriptor"];
    assert_eq!(
        sub_text(&storage["Location"]),
        "s3://${ArchiveBucket}/events/"
    );
    assert_eq!(
        storage["SerdeInfo"]["SerializationLibrary"].as_str(),
        Some("org.openx.data.jsonserde.JsonSerDe")
    );
    let columns: Vec<(&str, &str)> = storage["Columns"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| (c["Name"].as_str().unwrap(), c["Type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        &columns[..7],
        [
            ("eventId", "string"),
            ("eventType", "string"),
            ("schemaVersion", "int"),
            ("occurredAt", "string"),
            ("taskId", "string"),
            ("userId", "string"),
            ("sequence", "bigint"),
        ]
    );
    assert_eq!(columns[7].0, "data");
    assert!(columns[7].1.starts_with("struct<priority:string,"));
    for field in [
        "onTime:boolean",
        "leadTimeSeconds:bigint",
        "delaySeconds:bigint",
    ] {
        assert!(columns[7].1.contains(field), "{field}");
    }
}

/// A function's environment variable, as the template writes it (`!Ref X` as "!Ref X").
fn environment(template: &Template, function: &str, name: &str) -> Option<String> {
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

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("{other:?} is not a scalar"),
    }
}

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
fn the_rebuild_queue_gives_each_partition_three_tries_one_per_invocation() {
    let template = template();
    let queue = &resource(&template, "RebuildQueue")["Properties"];
    let dlq = &resource(&template, "RebuildDeadLetterQueue")["Properties"];
    let worker = &resource(&template, "RebuildWorkerFunction")["Properties"];
    let timeout = number(&worker["Timeout"]);
    assert!(
        number(&queue["VisibilityTimeout"]) >= 6 * timeout,
        "visibility timeout must be at least 6 x the worker timeout ({timeout} s)"
    );
    assert_eq!(number(&queue["RedrivePolicy"]["maxReceiveCount"]), 3);
    match &queue["RedrivePolicy"]["deadLetterTargetArn"] {
        Value::Tagged(tagged) => {
            assert_eq!(tagged.value.as_str(), Some("RebuildDeadLetterQueue.Arn"))
        }
        other => panic!("the DLQ must be the stack's own, not {other:?}"),
    }
    assert_eq!(queue["SqsManagedSseEnabled"].as_bool(), Some(true));
    assert_eq!(dlq["SqsManagedSseEnabled"].as_bool(), Some(true));
    let source = &worker["Events"]["Partitions"]["Properties"];
    assert_eq!(number(&source["BatchSize"]), 1);
    let types: Vec<&str> = source["FunctionResponseTypes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(types, ["ReportBatchItemFailures"]);
    match &source["ScalingConfig"]["MaximumConcurrency"] {
        Value::Tagged(tagged) => {
            assert_eq!(tagged.value.as_str(), Some("RebuildWorkerConcurrency"))
        }
        other => panic!("the worker concurrency comes from its parameter, not {other:?}"),
    }
    for alarm in [
        "RebuildDeadLetterQueueNotEmptyAlarm",
        "RebuildWorkerErrorsAlarm",
    ] {
        resource(&template, alarm);
    }
}

#[test]
fn queue_rules_hold() {
    let template = template();
    let queue = &resource(&template, "EventsQueue")["Properties"];
    let dlq = &resource(&template, "EventsDeadLetterQueue")["Properties"];
    let consumer = &resource(&template, "ConsumerFunction")["Properties"];
    let consumer_timeout = number(&consumer["Timeout"]);
    assert!(
        number(&queue["VisibilityTimeout"]) >= 6 * consumer_timeout,
        "visibility timeout must be at least 6 x the consumer timeout ({consumer_timeout} s)"
    );
    let redrive = &queue["RedrivePolicy"];
    assert!(number(&redrive["maxReceiveCount"]) >= 5);
    match &redrive["deadLetterTargetArn"] {
        Value::Tagged(tagged) => {
            assert_eq!(tagged.value.as_str(), Some("EventsDeadLetterQueue.Arn"))
        }
        other => panic!("the DLQ must be the stack's own, not {other:?}"),
    }
    assert!(number(&dlq["MessageRetentionPeriod"]) >= number(&queue["MessageRetentionPeriod"]));
    assert_eq!(queue["SqsManagedSseEnabled"].as_bool(), Some(true));
    assert_eq!(dlq["SqsManagedSseEnabled"].as_bool(), Some(true));

    let source = &consumer["Events"]["TaskEvents"]["Properties"];
    let types: Vec<&str> = source["FunctionResponseTypes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(
        types,
        ["ReportBatchItemFailures"],
        "partial batch failures must be on"
    );
    for parameter in ["BatchSize", "MaximumBatchingWindowInSeconds"] {
        assert!(
            matches!(source[parameter], Value::Tagged(_)),
            "{parameter} comes from a parameter"
        );
    }
    assert!(matches!(
        source["ScalingConfig"]["MaximumConcurrency"],
        Value::Tagged(_)
    ));
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

/// The attribute names of a key schema, hash key first.
fn key_schema(schema: &Value) -> Vec<&str> {
    let mut elements: Vec<(&str, &str)> = schema
        .as_sequence()
        .expect("a key schema")
        .iter()
        .map(|e| {
            (
                e["KeyType"].as_str().unwrap(),
                e["AttributeName"].as_str().unwrap(),
            )
        })
        .collect();
    // HASH sorts before RANGE.
    elements.sort();
    elements.into_iter().map(|(_, name)| name).collect()
}

#[test]
fn the_tables_have_the_keys_and_indexes_the_code_names() {
    use taskpulse_aws::keys;

    let template = template();
    let tasks = &resource(&template, "TasksTable")["Properties"];
    assert_eq!(key_schema(&tasks["KeySchema"]), [keys::PK, keys::SK]);
    let indexes: BTreeMap<&str, &Value> = tasks["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| (i["IndexName"].as_str().unwrap(), i))
        .collect();
    let by_user = indexes[keys::TASKS_BY_USER_INDEX];
    assert_eq!(
        key_schema(&by_user["KeySchema"]),
        [keys::TASKS_BY_USER_PK, keys::TASKS_BY_USER_SK]
    );
    let projected: Vec<&str> = by_user["Projection"]["NonKeyAttributes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(projected, keys::TASKS_BY_USER_PROJECTION);
    assert_eq!(
        key_schema(&indexes[keys::OUTBOX_INDEX]["KeySchema"]),
        [keys::OUTBOX_PK, keys::OUTBOX_SK]
    );
    assert_eq!(
        tasks["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(keys::EXPIRES_AT)
    );
    let analytics = &resource(&template, "AnalyticsTable")["Properties"];
    assert_eq!(key_schema(&analytics["KeySchema"]), [keys::PK, keys::SK]);
}

#[tokio::test]
async fn the_rebuild_queues_are_created_on_moto_from_the_template() {
    let stack = taskpulse_devstack::Stack::start()
        .await
        .expect("moto with the template's resources");
    let queue = stack
        .resources
        .queue(taskpulse_devstack::REBUILD_QUEUE)
        .unwrap();
    let dlq = stack
        .resources
        .queue(taskpulse_devstack::REBUILD_DLQ)
        .unwrap();
    assert!(queue.url.ends_with(taskpulse_devstack::REBUILD_QUEUE));
    assert_ne!(queue.arn, dlq.arn);
    assert!(dlq.arn.ends_with(taskpulse_devstack::REBUILD_DLQ));
}
