//! The archive bucket is private, encrypted and TLS-only; its Glue table projects the partitions
//! the archive keys name.

use super::{resource, sub_text, template};

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
