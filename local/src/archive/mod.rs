//! The local stack's event archive, chosen at start-up: in memory (the embedded default:
//! nothing touches the disk), a directory the user can open (`--archive-dir`), or the S3 bucket
//! of the `moto` and `aws` backends. One type, so the rest of the stack is written once.

mod directory;

use chrono::NaiveDate;
use taskpulse_app::archive::ArchiveKey;
use taskpulse_app::memory::MemoryArchive;
use taskpulse_app::ports::{ReplaceArchiveObject, TaggedObject};
use taskpulse_app::{ReadArchive, StoreError, WriteArchive};
use taskpulse_aws::S3Archive;

pub use directory::DirectoryArchive;

#[derive(Debug, Clone)]
pub enum LocalArchive {
    Memory(MemoryArchive),
    Directory(DirectoryArchive),
    S3(S3Archive),
}

impl LocalArchive {
    /// One line saying where the archive is.
    pub fn describe(&self) -> String {
        match self {
            Self::Memory(_) => "in memory (gone on exit; --archive-dir keeps it)".into(),
            Self::Directory(directory) => format!("{}", directory.root().display()),
            Self::S3(s3) => format!("s3://{}", s3.bucket()),
        }
    }
}

impl WriteArchive for LocalArchive {
    async fn put_archive_object(&self, key: &ArchiveKey, body: Vec<u8>) -> Result<(), StoreError> {
        match self {
            Self::Memory(archive) => archive.put_archive_object(key, body).await,
            Self::Directory(archive) => archive.put_archive_object(key, body).await,
            Self::S3(archive) => archive.put_archive_object(key, body).await,
        }
    }
}

impl ReadArchive for LocalArchive {
    async fn archive_days(&self) -> Result<Vec<NaiveDate>, StoreError> {
        match self {
            Self::Memory(archive) => archive.archive_days().await,
            Self::Directory(archive) => archive.archive_days().await,
            Self::S3(archive) => archive.archive_days().await,
        }
    }

    async fn archive_objects(&self, day: NaiveDate) -> Result<Vec<ArchiveKey>, StoreError> {
        match self {
            Self::Memory(archive) => archive.archive_objects(day).await,
            Self::Directory(archive) => archive.archive_objects(day).await,
            Self::S3(archive) => archive.archive_objects(day).await,
        }
    }

    async fn read_archive_object(&self, key: &ArchiveKey) -> Result<Vec<u8>, StoreError> {
        match self {
            Self::Memory(archive) => archive.read_archive_object(key).await,
            Self::Directory(archive) => archive.read_archive_object(key).await,
            Self::S3(archive) => archive.read_archive_object(key).await,
        }
    }
}

impl ReplaceArchiveObject for LocalArchive {
    async fn read_tagged_archive_object(
        &self,
        key: &ArchiveKey,
    ) -> Result<TaggedObject, StoreError> {
        match self {
            Self::Memory(archive) => archive.read_tagged_archive_object(key).await,
            Self::Directory(archive) => archive.read_tagged_archive_object(key).await,
            Self::S3(archive) => archive.read_tagged_archive_object(key).await,
        }
    }

    async fn replace_archive_object(
        &self,
        key: &ArchiveKey,
        body: Vec<u8>,
        tag: &str,
    ) -> Result<(), StoreError> {
        match self {
            Self::Memory(archive) => archive.replace_archive_object(key, body, tag).await,
            Self::Directory(archive) => archive.replace_archive_object(key, body, tag).await,
            Self::S3(archive) => archive.replace_archive_object(key, body, tag).await,
        }
    }
}
