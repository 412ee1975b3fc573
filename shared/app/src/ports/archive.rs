//! The ports of the event archive: objects of JSON Lines under date partitions.

use std::future::Future;

use chrono::NaiveDate;

use super::StoreError;
use crate::archive::ArchiveKey;

/// Writes one archive object. The key is new for every write, so no write replaces another.
pub trait WriteArchive: Send + Sync {
    fn put_archive_object(
        &self,
        key: &ArchiveKey,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<T: WriteArchive> WriteArchive for &T {
    fn put_archive_object(
        &self,
        key: &ArchiveKey,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).put_archive_object(key, body)
    }
}

/// Reads the archive: its date partitions, their objects, an object's bytes.
pub trait ReadArchive: Send + Sync {
    /// Every date partition that holds at least one object, in date order.
    fn archive_days(&self) -> impl Future<Output = Result<Vec<NaiveDate>, StoreError>> + Send;

    /// The objects of one date partition, in key order.
    fn archive_objects(
        &self,
        day: NaiveDate,
    ) -> impl Future<Output = Result<Vec<ArchiveKey>, StoreError>> + Send;

    fn read_archive_object(
        &self,
        key: &ArchiveKey,
    ) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;
}
