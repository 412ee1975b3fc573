//! The caller's settings: `GET /me/settings` and `PUT /me/settings`. Today one setting, the
//! IANA `timeZone` whose local days the caller's own analytics count on (see
//! `docs/openapi.yaml`); a user who never chose has `UTC`.
//!
//! `PUT` replaces the settings whole: a field left out takes its default, as a `PUT` of a
//! resource's full representation does. The new zone applies to the caller's next command;
//! events already stamped keep their day.

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use taskpulse_app::{CommandQueues, UserSettings};
use taskpulse_domain::{TimeZone, UserId};

use super::fields::Fields;
use super::problem::Problem;
use super::request::json_object_body;
use super::response::json_response;
use super::{Api, ApiTaskTable};

const TIME_ZONE: &str = "timeZone";

/// The settings resource.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SettingsView {
    time_zone: &'static str,
}

impl SettingsView {
    fn of(settings: &UserSettings) -> Self {
        Self {
            time_zone: settings.time_zone.name(),
        }
    }
}

/// `PUT /me/settings`: the settings in the body.
pub(super) fn read_settings(request: &Request) -> Result<UserSettings, Problem> {
    parse_settings(&json_object_body(request)?)
}

fn parse_settings(
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<UserSettings, Problem> {
    let mut fields = Fields::new(body, &[TIME_ZONE]);
    let time_zone = fields.parse(TIME_ZONE, Some(TimeZone::utc()), TimeZone::parse);
    let settings = time_zone.map(|time_zone| UserSettings { time_zone });
    fields.finish(settings)
}

impl<S, P, R, W> Api<S, P, R, W>
where
    S: ApiTaskTable,
    P: CommandQueues,
{
    pub(super) async fn get_settings(&self, user: &UserId) -> Result<Response<Body>, Problem> {
        let settings = self
            .commands
            .store()
            .load_user_settings(user)
            .await?
            .unwrap_or_default();
        Ok(json_response(StatusCode::OK, &SettingsView::of(&settings)))
    }

    pub(super) async fn put_settings(
        &self,
        user: &UserId,
        settings: UserSettings,
    ) -> Result<Response<Body>, Problem> {
        self.commands
            .store()
            .save_user_settings(user, &settings)
            .await?;
        tracing::info!(time_zone = settings.time_zone.name(), "settings changed");
        Ok(json_response(StatusCode::OK, &SettingsView::of(&settings)))
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::super::test_support::{api, create, get, request, send};

    fn put(user: &str, body: &str) -> crate::gateway_request::GatewayRequest {
        request("PUT", "/me/settings", Some(user), "application/json", body)
    }

    #[tokio::test]
    async fn a_user_without_settings_has_utc_and_a_put_replaces_them() {
        let api = api();
        let r = send(&api, get("/me/settings", "ana", "")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, serde_json::json!({"timeZone": "UTC"}));

        let r = send(&api, put("ana", r#"{"timeZone":"europe/berlin"}"#)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.body["timeZone"], "Europe/Berlin",
            "the database's spelling"
        );
        let r = send(&api, get("/me/settings", "ana", "")).await;
        assert_eq!(r.body["timeZone"], "Europe/Berlin");
        let other = send(&api, get("/me/settings", "bo", "")).await;
        assert_eq!(
            other.body["timeZone"], "UTC",
            "settings are the caller's own"
        );

        // A field left out takes its default.
        let r = send(&api, put("ana", "{}")).await;
        assert_eq!(r.body["timeZone"], "UTC");
    }

    #[tokio::test]
    async fn bad_settings_are_400_naming_the_field_and_change_nothing() {
        let api = api();
        send(&api, put("ana", r#"{"timeZone":"Asia/Tokyo"}"#)).await;
        for (body, field) in [
            (r#"{"timeZone":"Mars/Olympus_Mons"}"#, "timeZone"),
            (r#"{"timeZone":"+09:00"}"#, "timeZone"),
            (r#"{"timeZone":9}"#, "timeZone"),
            (r#"{"timeZone":null}"#, "timeZone"),
            (r#"{"timezone":"UTC"}"#, "timezone"),
        ] {
            let r = send(&api, put("ana", body)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
            let fields: Vec<&str> = r.body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert_eq!(fields, [field], "{body}");
        }
        let r = send(&api, put("ana", "[]")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let r = send(&api, get("/me/settings", "ana", "")).await;
        assert_eq!(r.body["timeZone"], "Asia/Tokyo");
        let r = send(
            &api,
            request(
                "POST",
                "/me/settings",
                Some("ana"),
                "application/json",
                "{}",
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test]
    async fn commands_after_a_change_of_zone_stamp_their_events_with_the_new_local_day() {
        let api = api();
        let before = create(&api, "ana").await;
        send(&api, put("ana", r#"{"timeZone":"Pacific/Kiritimati"}"#)).await;
        let after = create(&api, "ana").await;
        let published = api.commands().publisher().drain_envelopes();
        assert_eq!(published.len(), 2);
        let day_of = |task: &str| {
            let event = published
                .iter()
                .find(|e| e.task_id.to_string() == task)
                .unwrap();
            (event.local_day.unwrap(), event.occurred_at)
        };
        let (utc_day, at) = day_of(&before);
        assert_eq!(utc_day, at.date_naive(), "UTC before the change");
        let (kiritimati_day, at) = day_of(&after);
        let expected = taskpulse_domain::TimeZone::parse("Pacific/Kiritimati")
            .unwrap()
            .local_day(at);
        assert_eq!(kiritimati_day, expected, "UTC+14 after it");
        assert!(kiritimati_day >= at.date_naive(), "never behind UTC");
    }
}
