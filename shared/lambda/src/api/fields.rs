//! The fields of a JSON request body, read one by one: every problem collected rather than the
//! first, unknown fields refused, `null` never taken for a value, timestamps as RFC 3339 has
//! them.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::problem::{FieldErrors, Problem};

/// Reads the fields of a JSON object one by one, collecting every problem rather than the
/// first, and refusing fields it was not asked about.
pub(super) struct Fields<'a> {
    body: &'a Map<String, Value>,
    errors: FieldErrors,
}

impl<'a> Fields<'a> {
    pub(super) fn new(body: &'a Map<String, Value>, known: &[&str]) -> Self {
        let errors = FieldErrors::unknown(body.keys().map(String::as_str), known, "unknown field");
        Self { body, errors }
    }

    /// A string field, parsed; `None` (with an error recorded) if it is missing or invalid.
    /// `default` is used when the field is absent; without one, the field is required. `null`
    /// is no string: an optional field is left out, not set to null.
    pub(super) fn parse<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        default: Option<T>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match self.body.get(field) {
            None => {
                if default.is_none() {
                    self.errors.push(field, "is required");
                }
                default
            }
            Some(Value::String(raw)) => match parse(raw) {
                Ok(value) => Some(value),
                Err(e) => {
                    self.errors.push(field, e.to_string());
                    None
                }
            },
            Some(_) => {
                self.errors.push(field, "must be a string");
                None
            }
        }
    }

    /// An optional string field: absent is `Some(None)`.
    pub(super) fn optional<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        self.parse(field, Some(None), |raw| parse(raw).map(Some))
    }

    pub(super) fn finish<T>(self, value: Option<T>) -> Result<T, Problem> {
        self.errors.finish(value)
    }
}

/// An RFC 3339 date-time with `T` between date and time, as JSON Schema's `date-time` format
/// has it (the parser alone would also take a space there).
pub(super) fn timestamp(raw: &str) -> Result<DateTime<Utc>, String> {
    let separated_by_t = matches!(raw.as_bytes().get(10), Some(b'T' | b't'));
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .filter(|_| separated_by_t)
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| {
            format!("must be an RFC 3339 timestamp such as 2026-12-01T17:00:00Z (got '{raw}')")
        })
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use serde_json::json;

    use super::*;
    use crate::api::test_support::{api, create, fields, post, send};

    #[tokio::test]
    async fn missing_and_mistyped_fields_are_named() {
        let api = api();
        let r = send(&api, post("/tasks", "u", json!({"title": 5}))).await;
        let errors = r.body["errors"].as_array().unwrap();
        assert_eq!(
            errors[0],
            json!({"field": "title", "detail": "must be a string"})
        );
        assert_eq!(
            errors[1],
            json!({"field": "plannedAccomplishDate", "detail": "is required"})
        );
    }

    #[tokio::test]
    async fn null_is_no_value_for_an_optional_field() {
        let api = api();
        let id = create(&api, "u").await;
        let planned = "2030-01-01T00:00:00Z";
        for (field, body) in [
            (
                "description",
                json!({"title": "t", "description": null, "plannedAccomplishDate": planned}),
            ),
            (
                "priority",
                json!({"title": "t", "priority": null, "plannedAccomplishDate": planned}),
            ),
        ] {
            let r = send(&api, post("/tasks", "u", body)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}");
            assert_eq!(fields(&r.body), [field]);
        }
        let r = send(
            &api,
            post(
                &format!("/tasks/{id}/status"),
                "u",
                json!({"status": "on_hold", "at": null}),
            ),
        )
        .await;
        assert_eq!(fields(&r.body), ["at"]);
    }

    #[test]
    fn timestamps_are_rfc3339_date_times_with_t() {
        assert!(timestamp("2026-12-01T17:00:00Z").is_ok());
        assert!(timestamp("2026-12-01t17:00:00.5+02:00").is_ok());
        for raw in [
            "2026-12-01 17:00:00Z",
            "2026-12-01",
            "2026-12-01T17:00:00",
            "",
        ] {
            assert!(timestamp(raw).is_err(), "{raw}");
        }
    }
}
