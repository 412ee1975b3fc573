//! The event archive in a local directory, in the S3 layout (`<root>/events/date=…/….jsonl`),
//! so DuckDB reads it as it reads the bucket. Objects are written to a temporary file and
//! renamed into place: a reader never sees half an object.

use std::io;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use taskpulse_app::archive::{ARCHIVE_ROOT, ArchiveKey};
use taskpulse_app::ports::{ReplaceArchiveObject, TaggedObject, content_tag};
use taskpulse_app::{ReadArchive, StoreError, WriteArchive};

#[derive(Debug, Clone)]
pub struct DirectoryArchive {
    root: PathBuf,
}

fn io_error(what: &str, path: &Path, error: io::Error) -> StoreError {
    StoreError::Unavailable(format!("{what} {}: {error}", path.display()))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Unavailable(format!("archive task failed: {e}")))?
}

/// The entry names of a folder; none if it does not exist (yet).
fn names(folder: &Path) -> Result<Vec<String>, StoreError> {
    match std::fs::read_dir(folder) {
        Ok(entries) => Ok(entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .collect()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(vec![]),
        Err(error) => Err(io_error("listing", folder, error)),
    }
}

impl DirectoryArchive {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl WriteArchive for DirectoryArchive {
    async fn put_archive_object(&self, key: &ArchiveKey, body: Vec<u8>) -> Result<(), StoreError> {
        let path = self.root.join(key.as_str());
        blocking(move || {
            let folder = path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(folder).map_err(|e| io_error("creating", folder, e))?;
            // A dot-file: listings skip it until the rename makes it an object.
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("object");
            let temporary = folder.join(format!(".{name}.partial"));
            std::fs::write(&temporary, &body).map_err(|e| io_error("writing", &temporary, e))?;
            std::fs::rename(&temporary, &path).map_err(|e| io_error("renaming", &path, e))
        })
        .await
    }
}

impl ReadArchive for DirectoryArchive {
    async fn archive_days(&self) -> Result<Vec<NaiveDate>, StoreError> {
        let folder = self.root.join(ARCHIVE_ROOT);
        blocking(move || {
            let mut days: Vec<NaiveDate> = names(&folder)?
                .iter()
                .filter_map(|name| ArchiveKey::parse_partition(name))
                .collect();
            days.sort();
            Ok(days)
        })
        .await
    }

    async fn archive_objects(&self, day: NaiveDate) -> Result<Vec<ArchiveKey>, StoreError> {
        let prefix = ArchiveKey::partition_prefix(day);
        let folder = self.root.join(&prefix);
        blocking(move || {
            let mut keys: Vec<ArchiveKey> = names(&folder)?
                .iter()
                .filter_map(|name| ArchiveKey::parse(&format!("{prefix}{name}")))
                .collect();
            keys.sort();
            Ok(keys)
        })
        .await
    }

    async fn read_archive_object(&self, key: &ArchiveKey) -> Result<Vec<u8>, StoreError> {
        let path = self.root.join(key.as_str());
        blocking(move || std::fs::read(&path).map_err(|e| io_error("reading", &path, e))).await
    }
}

impl ReplaceArchiveObject for DirectoryArchive {
    async fn read_tagged_archive_object(
        &self,
        key: &ArchiveKey,
    ) -> Result<TaggedObject, StoreError> {
        let bytes = self.read_archive_object(key).await?;
        let tag = content_tag(&bytes);
        Ok(TaggedObject { bytes, tag })
    }

    /// Compared, then written: not one step as on S3, which the local stack does not need,
    /// since its eraser takes one work item at a time and the objects of a day's rewrite are
    /// distinct.
    async fn replace_archive_object(
        &self,
        key: &ArchiveKey,
        body: Vec<u8>,
        tag: &str,
    ) -> Result<(), StoreError> {
        let current = self.read_archive_object(key).await?;
        if content_tag(&current) != tag {
            return Err(StoreError::Conflict);
        }
        self.put_archive_object(key, body).await
    }
}

#[cfg(test)]
mod tests {
    use taskpulse_app::archive::archive_events;
    use taskpulse_app::memory::MemoryArchive;

    use super::*;

    #[tokio::test]
    async fn objects_written_read_back_in_the_s3_layout_and_strays_are_ignored() {
        let root =
            std::env::temp_dir().join(format!("taskpulse-archive-dir-{}", uuid::Uuid::now_v7()));
        let archive = DirectoryArchive::new(&root);
        assert!(
            archive.archive_days().await.unwrap().is_empty(),
            "no folder yet: empty"
        );
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let key = ArchiveKey::fresh(day);
        archive
            .put_archive_object(&key, b"{}\n".to_vec())
            .await
            .unwrap();
        std::fs::write(
            root.join(ArchiveKey::partition_prefix(day))
                .join("notes.txt"),
            "x",
        )
        .unwrap();
        std::fs::write(root.join(ARCHIVE_ROOT).join("README"), "x").unwrap();
        assert_eq!(archive.archive_days().await.unwrap(), [day]);
        assert_eq!(
            archive.archive_objects(day).await.unwrap(),
            std::slice::from_ref(&key)
        );
        assert_eq!(archive.read_archive_object(&key).await.unwrap(), b"{}\n");
        assert!(root.join("events/date=2026-12-02").is_dir());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn it_holds_what_the_memory_archive_holds_for_the_same_writes() {
        let root =
            std::env::temp_dir().join(format!("taskpulse-archive-dir-{}", uuid::Uuid::now_v7()));
        let directory = DirectoryArchive::new(&root);
        let memory = MemoryArchive::default();
        let events = two_days_of_creations();
        archive_events(&directory, &events).await;
        archive_events(&memory, &events).await;
        assert_eq!(
            directory.archive_days().await.unwrap(),
            memory.archive_days().await.unwrap()
        );
        for day in memory.archive_days().await.unwrap() {
            let a = taskpulse_app::archive::read_partition(&directory, day)
                .await
                .unwrap();
            let b = taskpulse_app::archive::read_partition(&memory, day)
                .await
                .unwrap();
            assert_eq!(a.events, b.events);
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    /// Two tasks' creation events on two days.
    fn two_days_of_creations() -> Vec<taskpulse_domain::EventEnvelope> {
        use taskpulse_domain::task::CreateTask;
        use taskpulse_domain::{EventId, Priority, Task, TaskCommand, TaskId, Title, UserId};
        ["2026-12-01T23:59:00Z", "2026-12-02T00:01:00Z"]
            .iter()
            .enumerate()
            .flat_map(|(n, at)| {
                let at = at.parse().unwrap();
                let command = TaskCommand::Create(CreateTask {
                    task_id: TaskId::from_uuid(uuid::Uuid::from_u128(n as u128 + 1)),
                    owner: UserId::parse("u1").unwrap(),
                    title: Title::parse("t").unwrap(),
                    description: None,
                    priority: Priority::High,
                    planned_accomplish_date: at,
                });
                Task::execute(None, &command, at, || {
                    EventId::from_uuid(uuid::Uuid::now_v7())
                })
                .unwrap()
                .1
            })
            .collect()
    }
}
