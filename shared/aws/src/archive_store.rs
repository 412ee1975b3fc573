//! The event archive in S3: one object per key of `taskpulse_app::archive::ArchiveKey`, listed
//! by date partition with `ListObjectsV2` (delimiter `/` for the partitions).

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use chrono::NaiveDate;
use taskpulse_app::archive::{ARCHIVE_ROOT, ArchiveKey};
use taskpulse_app::ports::{ReplaceArchiveObject, TaggedObject};
use taskpulse_app::{ReadArchive, StoreError, WriteArchive};

use crate::error::store_error;

/// The content type of archive objects (JSON Lines).
const CONTENT_TYPE: &str = "application/x-ndjson";

#[derive(Debug, Clone)]
pub struct S3Archive {
    client: Client,
    bucket: String,
}

impl S3Archive {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

impl WriteArchive for S3Archive {
    async fn put_archive_object(&self, key: &ArchiveKey, body: Vec<u8>) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(CONTENT_TYPE)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

impl S3Archive {
    /// An object's bytes, and its ETag.
    async fn get(&self, key: &ArchiveKey) -> Result<(Vec<u8>, Option<String>), StoreError> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(store_error)?;
        let tag = object.e_tag().map(str::to_owned);
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Unavailable(format!("reading {key}: {e}")))?;
        Ok((bytes.into_bytes().to_vec(), tag))
    }

    /// Every page of `ListObjectsV2` under `prefix`: the common prefixes (with a delimiter)
    /// and the object keys.
    async fn list(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let (mut prefixes, mut keys) = (vec![], vec![]);
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_delimiter(delimiter.map(str::to_owned))
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(store_error)?;
            prefixes.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix())
                    .map(str::to_owned),
            );
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .map(str::to_owned),
            );
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                return Ok((prefixes, keys));
            }
        }
    }
}

impl ReadArchive for S3Archive {
    async fn archive_days(&self) -> Result<Vec<NaiveDate>, StoreError> {
        let (partitions, _) = self.list(ARCHIVE_ROOT, Some("/")).await?;
        let mut days: Vec<NaiveDate> = partitions
            .iter()
            .filter_map(|p| ArchiveKey::parse_partition(p))
            .collect();
        days.sort();
        days.dedup();
        Ok(days)
    }

    async fn archive_objects(&self, day: NaiveDate) -> Result<Vec<ArchiveKey>, StoreError> {
        let (_, keys) = self.list(&ArchiveKey::partition_prefix(day), None).await?;
        let mut keys: Vec<ArchiveKey> = keys.iter().filter_map(|k| ArchiveKey::parse(k)).collect();
        keys.sort();
        Ok(keys)
    }

    async fn read_archive_object(&self, key: &ArchiveKey) -> Result<Vec<u8>, StoreError> {
        Ok(self.get(key).await?.0)
    }
}

impl ReplaceArchiveObject for S3Archive {
    async fn read_tagged_archive_object(
        &self,
        key: &ArchiveKey,
    ) -> Result<TaggedObject, StoreError> {
        let (bytes, tag) = self.get(key).await?;
        let tag = tag.ok_or_else(|| StoreError::Rejected(format!("{key} came without an ETag")))?;
        Ok(TaggedObject { bytes, tag })
    }

    async fn replace_archive_object(
        &self,
        key: &ArchiveKey,
        body: Vec<u8>,
        tag: &str,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(CONTENT_TYPE)
            .if_match(tag)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
