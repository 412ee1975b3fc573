use super::*;
use serde_json::json;

pub(super) fn created_envelope() -> EventEnvelope {
    EventEnvelope {
        event_id: EventId::from_uuid(Uuid::from_u128(7)),
        schema_version: 1,
        occurred_at: "2026-11-26T10:00:00Z".parse().unwrap(),
        task_id: TaskId::from_uuid(Uuid::from_u128(1)),
        user_id: UserId::parse("user-1").unwrap(),
        sequence: 1,
        event: TaskEvent::Created(TaskCreated {
            title: Some(Title::parse("Write report").unwrap()),
            description: None,
            priority: Priority::High,
            planned_accomplish_date: "2026-11-30T17:00:00Z".parse().unwrap(),
        }),
    }
}

#[test]
fn envelope_has_the_documented_shape() {
    let json: serde_json::Value = serde_json::from_str(&created_envelope().to_json()).unwrap();
    assert_eq!(
        json,
        json!({
            "eventId": "00000000-0000-0000-0000-000000000007",
            "eventType": "TaskCreated",
            "schemaVersion": 1,
            "occurredAt": "2026-11-26T10:00:00Z",
            "taskId": "00000000-0000-0000-0000-000000000001",
            "userId": "user-1",
            "sequence": 1,
            "data": {
                "title": "Write report",
                "priority": "high",
                "plannedAccomplishDate": "2026-11-30T17:00:00Z"
            }
        })
    );
}

#[test]
fn envelope_round_trips() {
    let envelope = created_envelope();
    assert_eq!(
        EventEnvelope::from_json(&envelope.to_json()).unwrap(),
        envelope
    );
}

fn with(mutate: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut json: serde_json::Value = serde_json::from_str(&created_envelope().to_json()).unwrap();
    mutate(&mut json);
    json.to_string()
}

#[test]
fn each_kind_of_bad_body_is_told_apart() {
    let kind = |body: &str| EventEnvelope::from_json(body).unwrap_err().kind();
    assert_eq!(kind("{not json"), "not_json");
    assert_eq!(
        kind(&with(|j| j["schemaVersion"] = json!(2))),
        "unsupported_schema_version"
    );
    assert_eq!(
        kind(&with(|j| {
            j.as_object_mut().unwrap().remove("taskId");
        })),
        "invalid_envelope"
    );
    assert_eq!(
        kind(&with(|j| j["sequence"] = json!(0))),
        "invalid_envelope"
    );
    assert_eq!(
        kind(&with(|j| j["eventType"] = json!("TaskExploded"))),
        "unknown_event_type"
    );
    assert_eq!(
        kind(&with(|j| {
            j["data"].as_object_mut().unwrap().remove("priority");
        })),
        "invalid_data"
    );
    assert_eq!(
        kind(&with(|j| j["data"]["title"] = json!(""))),
        "invalid_data"
    );
}

#[test]
fn missing_field_is_named_in_the_reason() {
    let body = with(|j| {
        j.as_object_mut().unwrap().remove("occurredAt");
    });
    let err = EventEnvelope::from_json(&body).unwrap_err().to_string();
    assert!(err.contains("occurredAt"), "{err}");
}

#[test]
fn every_listed_type_is_decodable_name() {
    for t in TaskEvent::TYPES {
        let err = TaskEvent::from_data(t, "{}").unwrap_err();
        assert_eq!(err.kind(), "invalid_data", "{t} should be a known type");
    }
}

#[test]
fn bodies_the_one_pass_does_not_take_read_the_same_or_fail_the_same() {
    let usual = created_envelope().to_json();
    let value: serde_json::Value = serde_json::from_str(&usual).unwrap();
    // `data` before `eventType`, and an escaped `eventType`: the reference reading takes them.
    let data = value["data"].to_string();
    let data_first = usual.replace(&format!(",\"data\":{data}"), "").replacen(
        '{',
        &format!("{{\"data\":{data},"),
        1,
    );
    assert!(data_first.starts_with("{\"data\""), "{data_first}");
    let escaped = usual.replace("\"TaskCreated\"", "\"Task\\u0043reated\"");
    for body in [&usual, &data_first, &escaped] {
        assert_eq!(
            EventEnvelope::from_json(body).unwrap(),
            created_envelope(),
            "{body}"
        );
    }
    let repeated = usual.replacen('{', "{\"sequence\":2,", 1);
    assert_eq!(
        EventEnvelope::from_json(&repeated).unwrap_err().kind(),
        "invalid_envelope"
    );
    let bad_data = usual.replace("\"high\"", "\"urgent\"");
    assert_eq!(
        EventEnvelope::from_json(&bad_data).unwrap_err().kind(),
        "invalid_data"
    );
}
