//! Messages a faulty producer could send.

use serde_json::json;

/// Bodies a faulty producer could send: each must fail alone and end in the dead-letter queue.
pub(crate) fn poison_bodies(count: usize) -> Vec<String> {
    let kinds = [
        "this is not JSON".to_owned(),
        json!({"eventType": "TaskCreated"}).to_string(),
        json!({"eventId": "0193a1c2-0000-7000-8000-000000000001", "eventType": "TaskExploded",
               "schemaVersion": 1, "occurredAt": "2026-11-26T10:00:00Z",
               "taskId": "0193a1c2-0000-7000-8000-000000000002", "userId": "poison",
               "sequence": 1, "data": {}})
        .to_string(),
        json!({"eventId": "0193a1c2-0000-7000-8000-000000000003", "eventType": "TaskCreated",
               "schemaVersion": 99, "occurredAt": "2026-11-26T10:00:00Z",
               "taskId": "0193a1c2-0000-7000-8000-000000000004", "userId": "poison",
               "sequence": 1, "data": {}})
        .to_string(),
        json!({"eventId": "not-a-uuid", "eventType": "TaskCreated", "schemaVersion": 1,
               "occurredAt": "yesterday", "taskId": "x", "userId": "poison", "sequence": 0,
               "data": {"title": ""}})
        .to_string(),
    ];
    (0..count).map(|i| kinds[i % kinds.len()].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poison_bodies_are_all_refused_by_the_envelope_parser() {
        for body in poison_bodies(5) {
            assert!(
                taskpulse_domain::EventEnvelope::from_json(&body).is_err(),
                "{body}"
            );
        }
    }
}
