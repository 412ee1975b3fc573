//! The function binaries under the real Lambda runtime loop: `cargo lambda watch` runs them
//! against moto, and every file in `events/` is invoked with `cargo lambda invoke`, giving the
//! result `events/README.md` documents.

use serde_json::Value;
use taskpulse_devstack::{LambdaEmulator, workspace_root};
use taskpulse_testkit::{
    API_EVENT_STATUSES, FIXTURE_TASK_ID, moto_environment, pipeline_on_moto, seed_fixture_task,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_event_gives_its_documented_result_through_the_runtime() {
    let (stack, _pipeline) = pipeline_on_moto().await;
    seed_fixture_task(&stack).await;
    let mut env = moto_environment(&stack);
    env.push((taskpulse_aws::env::OUTBOX_GRACE_SECONDS, "0".to_owned()));
    let emulator = tokio::task::spawn_blocking(move || LambdaEmulator::start(&env))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the Lambda runtime emulator could not start: {e}"));
    let emulator = std::sync::Arc::new(emulator);
    let invoke = |function: &'static str, file: &'static str| {
        let emulator = emulator.clone();
        async move {
            let path = workspace_root().join("events").join(file);
            tokio::task::spawn_blocking(move || emulator.invoke(function, &path))
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };

    for (file, status) in API_EVENT_STATUSES {
        let response = invoke("taskpulse-api", file).await;
        assert_eq!(response["statusCode"], *status, "{file}: {response}");
        if *file == "api-get-task.json" {
            let task: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
            assert_eq!(task["id"], FIXTURE_TASK_ID);
        }
    }

    let response = invoke("taskpulse-consumer", "consumer-task-created.json").await;
    assert_eq!(response["batchItemFailures"], serde_json::json!([]));
    let response = invoke("taskpulse-consumer", "consumer-batch-with-poison.json").await;
    let failed: Vec<&str> = response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "5f1c3f4e-2222-4c1a-9d5e-000000000002",
            "5f1c3f4e-2222-4c1a-9d5e-000000000004"
        ]
    );

    // The API published its events, so the relay finds nothing pending.
    let response = invoke("taskpulse-relay", "relay-scheduled.json").await;
    assert_eq!(response["eventsPublished"], 0, "{response}");
    assert_eq!(response["tasksFailed"], 0, "{response}");
}
