//! The erasure routes over the in-memory adapters: asking, asking again, the status, the
//! operator's route and its scope, and the identity refused everywhere else once asked.

use http::{StatusCode, header};

use crate::api::test_support::{VALID, api, create, get, request, send};
use crate::gateway_request::GatewayRequest;

fn delete(path: &str, user: &str) -> GatewayRequest {
    GatewayRequest::new("DELETE", path).caller(user)
}

fn operator(method: &str, path: &str) -> GatewayRequest {
    let mut event = GatewayRequest::new(method, path).caller("op");
    event.scopes = vec![super::USERS_ERASE_SCOPE.into()];
    event
}

#[tokio::test]
async fn a_caller_erases_themself_once_and_is_then_refused_everywhere_else() {
    let api = api();
    let task = create(&api, "ana").await;
    let asked = send(&api, delete("/me", "ana")).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    assert_eq!(asked.headers[header::LOCATION], "/me/erasure");
    assert_eq!(asked.body["state"], "inProgress");
    assert_eq!(asked.body["step"], "settling");
    assert_eq!(asked.body["erased"]["tasks"], 0);
    assert!(
        !asked.body.to_string().contains("erased-"),
        "the status never shows the pseudonym: {}",
        asked.body
    );
    let again = send(&api, delete("/me", "ana")).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.body, asked.body, "asking again changes nothing");
    let sent = api.erasure_work().calls();
    assert_eq!(sent.len(), 2, "each ask hands the erasure to the eraser");
    assert_eq!(sent[0].0, [r#"{"eraseUser":"ana"}"#]);

    let status = send(&api, get("/me/erasure", "ana", "")).await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(status.body, asked.body);

    // Reads run beside the erasure check and commands after it: both are refused, and a read
    // of what is still stored (the task, not erased yet) answers nothing of it.
    for refused in [
        request("POST", "/tasks", Some("ana"), "application/json", VALID),
        get("/tasks", "ana", ""),
        get(&format!("/tasks/{task}"), "ana", ""),
        get("/analytics/me", "ana", ""),
        get("/me/settings", "ana", ""),
    ] {
        let r = send(&api, refused).await;
        assert_eq!(r.status, StatusCode::GONE);
        assert!(r.body["detail"].as_str().unwrap().contains("being erased"));
    }
    create(&api, "bo").await;
    assert_eq!(
        send(&api, get("/me/erasure", "bo", "")).await.status,
        StatusCode::NOT_FOUND
    );
    let wrong_method = send(&api, GatewayRequest::new("PUT", "/me").caller("ana")).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.headers[header::ALLOW], "DELETE");
}

#[tokio::test]
async fn an_operator_erases_another_user_with_the_scope_only() {
    let api = api();
    let without_scope = send(&api, delete("/users/ana", "op")).await;
    assert_eq!(without_scope.status, StatusCode::FORBIDDEN);
    assert!(api.erasure_work().calls().is_empty());

    let asked = send(&api, operator("DELETE", "/users/auth0%7C42")).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    assert_eq!(asked.headers[header::LOCATION], "/users/auth0%7C42/erasure");
    assert_eq!(
        api.erasure_work().calls()[0].0,
        [r#"{"eraseUser":"auth0|42"}"#]
    );
    let status = send(&api, operator("GET", "/users/auth0%7C42/erasure")).await;
    assert_eq!((status.status, &status.body), (StatusCode::OK, &asked.body));
    let refused = send(&api, get("/tasks", "auth0|42", "")).await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert_eq!(
        send(&api, operator("GET", "/users/bo/erasure"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for bad in ["/users/%FF", "/users/a%23b", "/users/a%2Fb"] {
        let r = send(&api, operator("DELETE", bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(r.body["errors"][0]["field"], "userId");
    }
    // The operator's own data is theirs to keep.
    assert_eq!(
        send(&api, get("/tasks", "op", "")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_request_the_eraser_did_not_get_is_recorded_and_handed_over_when_asked_again() {
    use taskpulse_app::TaskCommands;
    use taskpulse_app::memory::{
        MemoryAnalyticsStore, MemoryEventQueue, MemoryTaskStore, MemoryWorkQueue,
    };
    let store = MemoryTaskStore::default();
    let refusing = crate::api::Api::new(
        TaskCommands::new(store.clone(), MemoryEventQueue::default()),
        MemoryAnalyticsStore::default(),
        MemoryWorkQueue::accepting(0),
    );
    let r = reply(refusing.handle(delete("/me", "ana").to_request()).await);
    assert_eq!(r, StatusCode::SERVICE_UNAVAILABLE);
    let working = crate::api::Api::new(
        TaskCommands::new(store, MemoryEventQueue::default()),
        MemoryAnalyticsStore::default(),
        MemoryWorkQueue::default(),
    );
    let r = send(&working, delete("/me", "ana")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(working.erasure_work().calls().len(), 1);
}

fn reply(response: lambda_http::Response<lambda_http::Body>) -> StatusCode {
    response.status()
}
