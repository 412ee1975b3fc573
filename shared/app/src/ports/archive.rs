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

/// An archive object as read, with a tag of that version of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedObject {
    pub bytes: Vec<u8>,
    /// S3: the object's ETag; elsewhere a digest of its bytes.
    pub tag: String,
}

/// Replaces existing archive objects, each only if it is still the version read: how an
/// erasure rewrites an object without undoing what another erasure wrote to it meanwhile
/// (objects mix every user's events, and erasures run side by side).
pub trait ReplaceArchiveObject: Send + Sync {
    fn read_tagged_archive_object(
        &self,
        key: &ArchiveKey,
    ) -> impl Future<Output = Result<TaggedObject, StoreError>> + Send;

    /// Writes `body` under `key` if the object is still at `tag`; [`StoreError::Conflict`]
    /// if it is not.
    fn replace_archive_object(
        &self,
        key: &ArchiveKey,
        body: Vec<u8>,
        tag: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The tag of an object's bytes where the store keeps none of its own: a digest of them.
/// Two versions with the same bytes share a tag, and replacing one with the other changes
/// nothing.
pub fn content_tag(bytes: &[u8]) -> String {
    use std::hash::{DefaultHasher, Hasher};
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    format!("{:016x}-{}", hasher.finish(), bytes.len())
}
