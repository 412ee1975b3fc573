//! The ports of projection versions: the configuration item naming the active and building
//! versions, and the progress of a rebuild.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::NaiveDate;
use taskpulse_domain::analytics::ProjectionVersion;

use super::StoreError;
use crate::projections::ProjectionConfig;
use crate::rebuild::PartitionDone;

pub trait LoadProjectionConfig: Send + Sync {
    /// The configuration; [`ProjectionConfig::initial`] where none was ever saved.
    fn load_projection_config(
        &self,
    ) -> impl Future<Output = Result<ProjectionConfig, StoreError>> + Send;
}

impl<T: LoadProjectionConfig> LoadProjectionConfig for &T {
    fn load_projection_config(
        &self,
    ) -> impl Future<Output = Result<ProjectionConfig, StoreError>> + Send {
        (**self).load_projection_config()
    }
}

pub trait SaveProjectionConfig: Send + Sync {
    /// Saves `config` if the stored revision is still `config.revision - 1` (0: none saved
    /// yet); [`StoreError::Conflict`] if another writer moved it first.
    fn save_projection_config(
        &self,
        config: &ProjectionConfig,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Which archive partitions a rebuild has applied to its version, so a rerun continues.
pub trait RebuildProgress: Send + Sync {
    fn done_partitions(
        &self,
        version: ProjectionVersion,
    ) -> impl Future<Output = Result<BTreeMap<NaiveDate, PartitionDone>, StoreError>> + Send;

    fn mark_partition_done(
        &self,
        version: ProjectionVersion,
        done: &PartitionDone,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
