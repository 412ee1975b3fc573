//! A rebuild and an erasure: after the erasure, the rebuild from the archive counts the same
//! and nothing under the user id; a rebuild meeting a user being erased waits for it.

use std::time::Duration;

use chrono::Utc;
use taskpulse_domain::analytics::{Projection, Scope};

use super::{World, run_to_completion, scope_items, user};
use crate::erasure::request_erasure;
use crate::ports::{SaveProjectionConfig, ScanCounters};
use crate::projections::ProjectionConfig;

impl World {
    /// Abandons the version being built and retires it, so that a rebuild builds the next.
    async fn drop_the_building_version(&self) {
        use crate::ports::LoadProjectionConfig;
        for step in [
            |c: ProjectionConfig| c.abandoned().unwrap(),
            |c: ProjectionConfig| c.retired(),
        ] {
            let config = self.analytics.load_projection_config().await.unwrap();
            self.analytics
                .save_projection_config(&step(config))
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_rebuild_after_the_erasure_counts_the_same_and_nothing_under_the_user_id() {
    use crate::ports::LoadProjectionConfig;
    use crate::rebuild::run_rebuild;

    let world = World::new().await;
    let ana = user("ana");
    request_erasure(world.commands.store(), &ana, Utc::now())
        .await
        .unwrap();
    let erasure = run_to_completion(&world, &ana).await;
    // The version that was building is dropped; the rebuild builds the next one from the
    // archive, where the user's events now carry the pseudonym.
    world.drop_the_building_version().await;
    let plan = crate::rebuild::tests::plan(Projection::Tasks);
    let report = run_rebuild(
        &world.archive,
        world.commands.store(),
        &world.analytics,
        &plan,
        |_| {},
    )
    .await
    .unwrap();
    let active = world
        .analytics
        .load_projection_config()
        .await
        .unwrap()
        .active;
    assert_eq!(
        active.version, report.version,
        "verified without differences and activated"
    );
    let first = world
        .analytics
        .scan_counters(taskpulse_domain::analytics::ProjectionVersion::FIRST)
        .await
        .unwrap();
    let rebuilt = world.analytics.scan_counters(active.version).await.unwrap();
    assert!(scope_items(&rebuilt, &Scope::User(ana.clone())).is_empty());
    assert_eq!(
        scope_items(&rebuilt, &Scope::Global),
        scope_items(&first, &Scope::Global)
    );
    assert_eq!(
        scope_items(&rebuilt, &Scope::User(erasure.pseudonym.clone())),
        scope_items(&first, &Scope::User(erasure.pseudonym.clone()))
    );
}

#[tokio::test]
async fn a_rebuild_reaching_a_partition_of_a_user_being_erased_waits_for_the_erasure() {
    use crate::rebuild::run_rebuild;

    let world = World::new().await;
    let ana = user("ana");
    world.drop_the_building_version().await;
    request_erasure(world.commands.store(), &ana, Utc::now())
        .await
        .unwrap();
    let plan = crate::rebuild::tests::plan(Projection::Tasks);
    let rebuild = run_rebuild(
        &world.archive,
        world.commands.store(),
        &world.analytics,
        &plan,
        |_| {},
    );
    let erase = async {
        // The rebuild has met the user's events and is waiting by now.
        tokio::time::sleep(Duration::from_millis(300)).await;
        run_to_completion(&world, &ana).await
    };
    let (report, erasure) = tokio::join!(rebuild, erase);
    let report = report.unwrap();
    assert!(report.activated, "{report:?}");
    let rebuilt = world.analytics.scan_counters(report.version).await.unwrap();
    assert!(scope_items(&rebuilt, &Scope::User(ana.clone())).is_empty());
    assert!(!scope_items(&rebuilt, &Scope::User(erasure.pseudonym.clone())).is_empty());
}
