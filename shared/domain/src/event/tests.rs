use super::*;
use serde_json::json;

pub(super) fn created_envelope() -> EventEnvelope {
    EventEnvelope {
        event_id: EventId::from_uuid(Uuid::from_u128(7)),
        schema_version: 1,
        occurred_at: "2026-11-26T10:00:00Z".parse().unwrap(),
        local_day: None,
        task_id: TaskId::from_uuid(Uuid::from_u128(1)),
        user_id: UserId::parse("user-1").unwrap(),
        sequence: 1,
        event: TaskEvent::Created(TaskCreated {
            title: Some(Title::parse("Write report").unwrap()),
            description: None,
            priority: Priority::High,
            planned_accomplish_date: "2026-11-30T17:00:00Z".parse().unwrap(),
            planned_local_day: None,
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

#[test]
fn a_stamped_local_day_is_carried_after_occurred_at_and_read_back_by_either_reading() {
    let tokyo = crate::TimeZone::parse("Asia/Tokyo").unwrap();
    let mut envelope = created_envelope();
    envelope.occurred_at = "2026-11-26T20:00:00Z".parse().unwrap();
    let stamped = envelope.clone().in_zone(&tokyo);
    let day: chrono::NaiveDate = "2026-11-27".parse().unwrap();
    assert_eq!(stamped.local_day, Some(day));
    assert_eq!(stamped.owner_day(), day);
    assert_eq!(
        envelope.owner_day(),
        "2026-11-26".parse().unwrap(),
        "UTC day when unstamped"
    );
    let body = stamped.to_json();
    assert!(
        body.contains(r#""occurredAt":"2026-11-26T20:00:00Z","localDay":"2026-11-27","taskId""#),
        "{body}"
    );
    assert_eq!(EventEnvelope::from_json(&body).unwrap(), stamped);
    // The reference reading (data before eventType) gives the same day.
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    let data = value["data"].to_string();
    let data_first = body.replace(&format!(",\"data\":{data}"), "").replacen(
        '{',
        &format!("{{\"data\":{data},"),
        1,
    );
    assert_eq!(EventEnvelope::from_json(&data_first).unwrap(), stamped);
    // Unstamped events keep the documented shape: no `localDay` at all.
    assert!(!envelope.to_json().contains("localDay"));
    assert_eq!(
        EventEnvelope::from_json(&with(|j| j["localDay"] = json!(null))).unwrap(),
        created_envelope()
    );
}

#[test]
fn a_local_day_more_than_a_day_from_occurred_at_or_not_a_date_is_refused() {
    let kind = |day: serde_json::Value| {
        EventEnvelope::from_json(&with(|j| j["localDay"] = day))
            .map(|e| e.local_day)
            .map_err(|e| e.kind())
    };
    // occurredAt is 2026-11-26T10:00:00Z.
    for ok in ["2026-11-25", "2026-11-26", "2026-11-27"] {
        assert_eq!(kind(json!(ok)), Ok(Some(ok.parse().unwrap())));
    }
    for far in ["2026-11-24", "2026-11-28", "2027-11-26"] {
        assert_eq!(kind(json!(far)), Err("invalid_envelope"), "{far}");
    }
    assert_eq!(kind(json!("26/11/2026")), Err("invalid_envelope"));
    assert_eq!(kind(json!(20261126)), Err("invalid_envelope"));
}

#[test]
fn planned_dates_carry_their_local_days_only_where_they_are_not_the_utc_date() {
    let new_york = crate::TimeZone::parse("America/New_York").unwrap();
    let tokyo = crate::TimeZone::parse("Asia/Tokyo").unwrap();
    // Planned 2026-11-30T17:00:00Z: 12:00 in New York, 02:00 on 2026-12-01 in Tokyo.
    let planned_day = |envelope: &EventEnvelope| match &envelope.event {
        TaskEvent::Created(created) => created.planned_local_day,
        _ => unreachable!(),
    };
    assert_eq!(planned_day(&created_envelope().in_zone(&new_york)), None);
    let in_tokyo = created_envelope().in_zone(&tokyo);
    assert_eq!(planned_day(&in_tokyo), Some("2026-12-01".parse().unwrap()));
    let body = in_tokyo.to_json();
    assert!(body.contains(r#""plannedLocalDay":"2026-12-01""#), "{body}");
    assert_eq!(EventEnvelope::from_json(&body).unwrap(), in_tokyo);
    assert!(
        !created_envelope()
            .in_zone(&new_york)
            .to_json()
            .contains("plannedLocalDay")
    );
    assert_eq!(
        due_day(
            "2026-11-30T17:00:00Z".parse().unwrap(),
            planned_day(&in_tokyo)
        ),
        "2026-12-01".parse::<NaiveDate>().unwrap()
    );
    assert_eq!(
        due_day("2026-11-30T17:00:00Z".parse().unwrap(), None),
        "2026-11-30".parse::<NaiveDate>().unwrap()
    );
}

#[test]
fn a_planned_local_day_no_zone_gives_or_without_its_date_is_invalid_data() {
    let kind = |day: &str| {
        EventEnvelope::from_json(&with(|j| j["data"]["plannedLocalDay"] = json!(day)))
            .map(|_| ())
            .map_err(|e| e.kind())
    };
    // The planned date is 2026-11-30T17:00:00Z.
    for ok in ["2026-11-29", "2026-11-30", "2026-12-01"] {
        assert_eq!(kind(ok), Ok(()), "{ok}");
    }
    for far in ["2026-11-28", "2026-12-02"] {
        assert_eq!(kind(far), Err("invalid_data"), "{far}");
    }
    let status_change = |data: serde_json::Value| {
        let body = with(|j| {
            j["eventType"] = json!("TaskStatusChanged");
            j["data"] = data;
        });
        EventEnvelope::from_json(&body).map_err(|e| e.to_string())
    };
    let without_date = status_change(json!({"from": "new", "to": "cancelled",
        "at": "2026-11-26T10:00:00Z", "plannedLocalDay": "2026-11-30"}));
    assert!(
        without_date
            .unwrap_err()
            .contains("local day 2026-11-30 is given without a planned date")
    );
    let null_date = status_change(json!({"from": "new", "to": "cancelled",
        "at": "2026-11-26T10:00:00Z", "plannedAccomplishDate": null}));
    assert!(
        matches!(null_date, Ok(EventEnvelope { event: TaskEvent::StatusChanged(ref c), .. })
            if c.planned_accomplish_date.is_none()),
        "{null_date:?}"
    );
    let cancelled = status_change(json!({"from": "new", "to": "cancelled",
        "at": "2026-11-26T10:00:00Z", "plannedAccomplishDate": "2026-11-30T17:00:00Z",
        "plannedLocalDay": "2026-12-01"}))
    .unwrap();
    let TaskEvent::StatusChanged(change) = cancelled.event else {
        unreachable!()
    };
    assert_eq!(
        (change.planned_accomplish_date, change.planned_local_day),
        (
            Some("2026-11-30T17:00:00Z".parse().unwrap()),
            Some("2026-12-01".parse().unwrap())
        )
    );
}
