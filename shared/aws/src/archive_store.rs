//! The event archive in S3: one object per key of `taskpulse_app::archive::ArchiveKey`, listed
//! by date partition with `ListObjectsV2` (delimiter `/` for the partitions).

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use chrono::NaiveDate;
use taskpulse_app::archive::{ARCHIVE_ROOT, ArchiveKey};
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

impl ReadArchive for S3Archive {
    async fn archive_days(&self) -> Result<Vec<NaiveDate>, StoreError> {
        let mut days = vec![];
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(ARCHIVE_ROOT)
                .delimiter("/")
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(store_error)?;
            days.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix())
                    .filter_map(ArchiveKey::parse_partition),
            );
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        days.sort();
        days.dedup();
        Ok(days)
    }

    async fn archive_objects(&self, day: NaiveDate) -> Result<Vec<ArchiveKey>, StoreError> {
        let mut keys = vec![];
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(ArchiveKey::partition_prefix(day))
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(store_error)?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter_map(ArchiveKey::parse),
            );
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        keys.sort();
        Ok(keys)
    }

    async fn read_archive_object(&self, key: &ArchiveKey) -> Result<Vec<u8>, StoreError> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(store_error)?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Unavailable(format!("reading {key}: {e}")))?;
        Ok(bytes.into_bytes().to_vec())
    }
}
