//! Retiring a version: deleting its items a page at a time, at the rebuild's write pace, then
//! clearing it from the configuration. Only a version no reader serves can be retired: the one
//! an activation replaced, or an abandoned build.

use super::{RebuildError, WritePace};
use crate::ports::{DeleteCounters, LoadProjectionConfig, SaveProjectionConfig};

/// Items deleted per call (the DynamoDB adapter sends them 25 to a `BatchWriteItem`): each
/// call scans for its page, so pages are large.
pub const RETIRE_PAGE: usize = 500;

/// Deletes the retiring version's items; returns how many were deleted (0 when nothing is
/// retiring).
pub async fn retire(
    store: &(impl DeleteCounters + LoadProjectionConfig + SaveProjectionConfig),
    pace: &mut WritePace,
) -> Result<u64, RebuildError> {
    let config = store.load_projection_config().await?;
    let Some(version) = config.retiring else {
        return Ok(0);
    };
    let mut deleted = 0u64;
    loop {
        let page = store.delete_counter_items(version, RETIRE_PAGE).await?;
        if page == 0 {
            break;
        }
        deleted += page as u64;
        pace.spend(page).await;
    }
    store.save_projection_config(&config.retired()).await?;
    tracing::info!(%version, deleted, "projection version retired");
    Ok(deleted)
}
