//! The caller's settings through the DynamoDB adapter: stored, read back strongly consistent by
//! the next command, and stamped on its events as the local day in the caller's zone.

use http::StatusCode;
use serde_json::json;
use taskpulse_app::{DeleteUserSettings, LoadUserSettings};
use taskpulse_domain::{TimeZone, UserId};
use taskpulse_testkit::pipeline_on_moto;

use super::{create, drain_queue};

#[tokio::test]
async fn settings_are_stored_and_the_next_command_stamps_the_new_local_day() {
    let (_stack, pipeline) = pipeline_on_moto().await;
    let client = pipeline.client();
    let reply = client.my_settings("ada").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"timeZone": "UTC"}));
    let first = create(&client, "ada", "Before").await;

    // UTC+14: the local day is never the UTC day's predecessor, and from 10:00 UTC on it is
    // the next one.
    let reply = client
        .change_my_settings("ada", &json!({"timeZone": "pacific/kiritimati"}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["timeZone"], "Pacific/Kiritimati");
    assert_eq!(
        client.my_settings("ada").await.body["timeZone"],
        "Pacific/Kiritimati"
    );
    let second = create(&client, "ada", "After").await;

    let events = drain_queue(&pipeline).await;
    let day_of = |task: &str| {
        let event = events
            .iter()
            .find(|e| e.task_id.to_string() == task)
            .expect("the task's event was published");
        (event.local_day.expect("stamped"), event.occurred_at)
    };
    let (day, at) = day_of(&first);
    assert_eq!(day, at.date_naive());
    let (day, at) = day_of(&second);
    let kiritimati = TimeZone::parse("Pacific/Kiritimati").unwrap();
    assert_eq!(day, kiritimati.local_day(at));

    let bad = client
        .change_my_settings("ada", &json!({"timeZone": "Mars/Olympus_Mons"}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["errors"][0]["field"], "timeZone");

    // The eraser's delete leaves the user with the defaults.
    let store = pipeline.api.commands().store();
    let ada = UserId::parse("ada").unwrap();
    assert!(store.load_user_settings(&ada).await.unwrap().is_some());
    store.delete_user_settings(&ada).await.unwrap();
    assert_eq!(store.load_user_settings(&ada).await.unwrap(), None);
    assert_eq!(client.my_settings("ada").await.body["timeZone"], "UTC");
}
