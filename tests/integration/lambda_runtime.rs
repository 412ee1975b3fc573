//! The function binaries under the real Lambda runtime loop: `cargo lambda watch` runs them
//! against moto, and every API, consumer and relay file in `events/` is invoked with `cargo
//! lambda invoke`, giving the result `events/README.md` documents.

use taskpulse_devstack::{LambdaEmulator, workspace_root};
use taskpulse_testkit::{
    check_api_consumer_and_relay_events, moto_environment, pipeline_on_moto, seed_fixture_task,
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
    check_api_consumer_and_relay_events(|function, file| {
        let emulator = emulator.clone();
        async move {
            let path = workspace_root().join("events").join(file);
            tokio::task::spawn_blocking(move || emulator.invoke(function.binary(), &path))
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{e}"))
        }
    })
    .await;
}
