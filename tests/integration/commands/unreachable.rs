//! The API while DynamoDB and SQS are unreachable: a request that its own content refuses is
//! answered as always, since it is read before any table is; one that needs a table is 503.

use http::StatusCode;
use serde_json::json;
use taskpulse_testkit::{ApiClient, ClosedPort, offline_api};

const TASK: &str = "0b5f4a52-5b8e-4d2a-9d59-0c2f6b1d9a11";

#[tokio::test]
async fn a_request_refused_for_what_it_carries_is_answered_without_the_tables() {
    let closed = ClosedPort::new();
    let api = offline_api(&closed).await;
    let client = ApiClient::new(&api);
    let refused = [
        (
            "an empty title",
            client
                .create_task(
                    "ada",
                    &json!({"title": "", "plannedAccomplishDate": "2030-01-01T00:00:00Z"}),
                )
                .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "a task id in another spelling",
            client.get_task("ada", &TASK.to_uppercase()).await,
            StatusCode::NOT_FOUND,
        ),
        (
            "an unknown status",
            client.change_status("ada", TASK, "done").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "a page of none",
            client.list_tasks("ada", "limit=0").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "a fortnight",
            client.analytics_me("ada", "granularity=fortnight").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "everyone's analytics without the scope",
            client.analytics_global("ada", "").await,
            StatusCode::FORBIDDEN,
        ),
        (
            "an unknown time zone",
            client
                .change_my_settings("ada", &json!({"timeZone": "Mars/Olympus_Mons"}))
                .await,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, reply, status) in refused {
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
    }

    // The same routes, asked well: each needs the tables, and says they are unavailable.
    let needs_the_tables = [
        client
            .create_task(
                "ada",
                &json!({"title": "Write", "plannedAccomplishDate": "2030-01-01T00:00:00Z"}),
            )
            .await,
        client.get_task("ada", TASK).await,
        client.list_tasks("ada", "limit=1").await,
        client.analytics_me("ada", "granularity=week").await,
        client.my_settings("ada").await,
    ];
    for reply in needs_the_tables {
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.body
        );
    }
}
