//! The event archive in memory: objects by key, for tests and the local stack's embedded
//! backend where nothing should touch the disk.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use super::lock;
use crate::archive::ArchiveKey;
use crate::ports::{
    ReadArchive, ReplaceArchiveObject, StoreError, TaggedObject, WriteArchive, content_tag,
};

/// Clones share the same objects.
#[derive(Debug, Default, Clone)]
pub struct MemoryArchive {
    objects: Arc<Mutex<BTreeMap<ArchiveKey, Vec<u8>>>>,
}

impl MemoryArchive {
    /// Every object, in key order.
    pub fn objects(&self) -> Vec<(ArchiveKey, Vec<u8>)> {
        lock(&self.objects)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl WriteArchive for MemoryArchive {
    async fn put_archive_object(&self, key: &ArchiveKey, body: Vec<u8>) -> Result<(), StoreError> {
        lock(&self.objects).insert(key.clone(), body);
        Ok(())
    }
}

impl ReadArchive for MemoryArchive {
    async fn archive_days(&self) -> Result<Vec<NaiveDate>, StoreError> {
        let mut days: Vec<NaiveDate> = lock(&self.objects).keys().map(ArchiveKey::day).collect();
        days.dedup();
        Ok(days)
    }

    async fn archive_objects(&self, day: NaiveDate) -> Result<Vec<ArchiveKey>, StoreError> {
        Ok(lock(&self.objects)
            .keys()
            .filter(|k| k.day() == day)
            .cloned()
            .collect())
    }

    async fn read_archive_object(&self, key: &ArchiveKey) -> Result<Vec<u8>, StoreError> {
        lock(&self.objects)
            .get(key)
            .cloned()
            .ok_or_else(|| StoreError::Rejected(format!("no archive object {key}")))
    }
}

impl ReplaceArchiveObject for MemoryArchive {
    async fn read_tagged_archive_object(
        &self,
        key: &ArchiveKey,
    ) -> Result<TaggedObject, StoreError> {
        let bytes = self.read_archive_object(key).await?;
        let tag = content_tag(&bytes);
        Ok(TaggedObject { bytes, tag })
    }

    async fn replace_archive_object(
        &self,
        key: &ArchiveKey,
        body: Vec<u8>,
        tag: &str,
    ) -> Result<(), StoreError> {
        // Compared and written under one lock, as S3 checks `If-Match`.
        let mut objects = lock(&self.objects);
        match objects.get_mut(key) {
            Some(stored) if content_tag(stored) == tag => {
                *stored = body;
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}
