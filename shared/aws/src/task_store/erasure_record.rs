//! A user's erasure record in the tasks table: keyed by a digest of the user id
//! (`keys::erasure_key`), holding no user id. Created once; every later save is conditional on
//! the step and save time the saver read, so of two runs advancing one erasure one records.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use taskpulse_app::{LoadErasures, SaveErasure, StoreError};
use taskpulse_domain::UserId;
use taskpulse_domain::erasure::{Erasure, ErasureProgress, ErasureStep};

use super::{DynamoTaskStore, unreadable};
use crate::batch::{self, Item};
use crate::error::store_error;
use crate::keys::{
    self, ERASURE_ARCHIVE_CURSOR, ERASURE_ARCHIVE_DAYS, ERASURE_ARCHIVE_DAYS_REWRITTEN,
    ERASURE_ARCHIVE_NEIGHBOURS, ERASURE_ARCHIVE_OBJECTS_REWRITTEN, ERASURE_COUNTER_ITEMS_MOVED,
    ERASURE_IDEMPOTENCY_RECORDS_DELETED, ERASURE_PENDING_EVENTS_PUBLISHED, ERASURE_PSEUDONYM,
    ERASURE_REQUESTED_AT, ERASURE_STEP, ERASURE_TASKS_DELETED, ERASURE_UPDATED_AT, EXPIRES_AT, PK,
    SK, key_attributes,
};

/// A time as stored: RFC 3339 to the nanosecond where it has them, so that a record reads back
/// equal to the one saved, and the condition of the next save names the stored text exactly.
fn stored_time(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::S(at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn count(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// The item of `user`'s erasure record.
pub(super) fn erasure_item(user: &UserId, erasure: &Erasure) -> Item {
    let (pk, sk) = keys::erasure_key(user);
    let progress = &erasure.progress;
    let mut item = HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk)),
        (
            ERASURE_PSEUDONYM.to_owned(),
            AttributeValue::S(erasure.pseudonym.as_str().to_owned()),
        ),
        (
            ERASURE_REQUESTED_AT.to_owned(),
            stored_time(erasure.requested_at),
        ),
        (
            ERASURE_UPDATED_AT.to_owned(),
            stored_time(erasure.updated_at),
        ),
        (
            ERASURE_STEP.to_owned(),
            AttributeValue::S(erasure.step.as_str().to_owned()),
        ),
        (
            ERASURE_TASKS_DELETED.to_owned(),
            count(progress.tasks_deleted),
        ),
        (
            ERASURE_PENDING_EVENTS_PUBLISHED.to_owned(),
            count(progress.pending_events_published),
        ),
        (
            ERASURE_IDEMPOTENCY_RECORDS_DELETED.to_owned(),
            count(progress.idempotency_records_deleted),
        ),
        (
            ERASURE_COUNTER_ITEMS_MOVED.to_owned(),
            count(progress.counter_items_moved),
        ),
        (
            ERASURE_ARCHIVE_OBJECTS_REWRITTEN.to_owned(),
            count(progress.archive_objects_rewritten),
        ),
        (
            ERASURE_ARCHIVE_DAYS_REWRITTEN.to_owned(),
            count(progress.archive_days_rewritten),
        ),
        (ERASURE_ARCHIVE_DAYS.to_owned(), count(erasure.archive_days)),
    ]);
    if erasure.archive_neighbours {
        item.insert(
            ERASURE_ARCHIVE_NEIGHBOURS.to_owned(),
            AttributeValue::Bool(true),
        );
    }
    if let Some(day) = erasure.archive_cursor {
        item.insert(
            ERASURE_ARCHIVE_CURSOR.to_owned(),
            AttributeValue::S(day.format("%Y-%m-%d").to_string()),
        );
    }
    // The table's TTL deletes a complete erasure's record once no late event can arrive.
    if let Some(expires_at) = erasure.expires_at() {
        item.insert(
            EXPIRES_AT.to_owned(),
            AttributeValue::N(expires_at.timestamp().to_string()),
        );
    }
    item
}

/// The erasure an item holds.
pub(super) fn erasure_from(item: &Item) -> Result<Erasure, String> {
    let text = |name: &str| -> Result<&str, String> {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            .ok_or_else(|| format!("{name} is missing or no string"))
    };
    let time = |name: &str| -> Result<DateTime<Utc>, String> {
        DateTime::parse_from_rfc3339(text(name)?)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|e| format!("{name}: {e}"))
    };
    let number = |name: &str| -> Result<u64, String> {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("{name} is missing or no count"))
    };
    let step = text(ERASURE_STEP)?;
    Ok(Erasure {
        pseudonym: UserId::parse(text(ERASURE_PSEUDONYM)?).map_err(|e| e.to_string())?,
        requested_at: time(ERASURE_REQUESTED_AT)?,
        updated_at: time(ERASURE_UPDATED_AT)?,
        step: ErasureStep::parse(step).ok_or_else(|| format!("unknown step {step:?}"))?,
        progress: ErasureProgress {
            tasks_deleted: number(ERASURE_TASKS_DELETED)?,
            pending_events_published: number(ERASURE_PENDING_EVENTS_PUBLISHED)?,
            idempotency_records_deleted: number(ERASURE_IDEMPOTENCY_RECORDS_DELETED)?,
            counter_items_moved: number(ERASURE_COUNTER_ITEMS_MOVED)?,
            // Records written before the archive step have none.
            archive_objects_rewritten: number(ERASURE_ARCHIVE_OBJECTS_REWRITTEN).unwrap_or(0),
            // Records written before the archive fan-out have none.
            archive_days_rewritten: number(ERASURE_ARCHIVE_DAYS_REWRITTEN).unwrap_or(0),
        },
        archive_days: number(ERASURE_ARCHIVE_DAYS).unwrap_or(0),
        // Records written before local days have none: their pages named UTC days.
        archive_neighbours: item
            .get(ERASURE_ARCHIVE_NEIGHBOURS)
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        archive_cursor: match item.get(ERASURE_ARCHIVE_CURSOR) {
            None => None,
            Some(_) => Some(
                text(ERASURE_ARCHIVE_CURSOR)?
                    .parse()
                    .map_err(|e| format!("{ERASURE_ARCHIVE_CURSOR}: {e}"))?,
            ),
        },
    })
}

fn pk_of(item: &Item) -> Option<&str> {
    item.get(PK).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// The keys of `users`' records, each once (DynamoDB refuses a batch read that names a key
/// twice), and the user each partition key stands for.
fn record_keys(users: &[UserId]) -> (Vec<Item>, HashMap<String, &UserId>) {
    let mut by_key: HashMap<String, &UserId> = HashMap::with_capacity(users.len());
    let mut keys = Vec::with_capacity(users.len());
    for user in users {
        let (pk, sk) = keys::erasure_key(user);
        if by_key.insert(pk.clone(), user).is_none() {
            keys.push(key_attributes((pk, sk)));
        }
    }
    (keys, by_key)
}

impl LoadErasures for DynamoTaskStore {
    async fn load_erasures(
        &self,
        users: &[UserId],
    ) -> Result<HashMap<UserId, Erasure>, StoreError> {
        let (keys, by_key) = record_keys(users);
        let items = batch::get_all(&self.client, &self.table, keys).await?;
        let mut found = HashMap::with_capacity(items.len());
        for item in &items {
            let Some(user) = pk_of(item).and_then(|pk| by_key.get(pk)) else {
                continue;
            };
            let erasure = erasure_from(item).map_err(|e| unreadable("erasure record", e))?;
            if !erasure.is_expired(Utc::now()) {
                found.insert((*user).clone(), erasure);
            }
        }
        Ok(found)
    }
}

impl SaveErasure for DynamoTaskStore {
    async fn create_erasure(
        &self,
        user: &UserId,
        erasure: &Erasure,
    ) -> Result<Erasure, StoreError> {
        let created = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(erasure_item(user, erasure)))
            // A record past its retention, not yet deleted by the TTL, counts as absent.
            .condition_expression(format!(
                "attribute_not_exists({PK}) OR {EXPIRES_AT} <= :now"
            ))
            .expression_attribute_values(
                ":now",
                AttributeValue::N(Utc::now().timestamp().to_string()),
            )
            .send()
            .await
            .map_err(store_error);
        match created {
            Ok(_) => Ok(erasure.clone()),
            // The user has a record already: it stands.
            Err(StoreError::Conflict) => {
                let stored = self
                    .get_attributes(keys::erasure_key(user))
                    .await?
                    // Only the TTL deletes a record, long after it expired; a record that
                    // vanished meanwhile is worth failing on rather than guessing.
                    .ok_or_else(|| {
                        StoreError::Unavailable("the existing erasure record is gone".into())
                    })?;
                erasure_from(&stored).map_err(|e| unreadable("erasure record", e))
            }
            Err(error) => Err(error),
        }
    }

    async fn save_erasure(
        &self,
        user: &UserId,
        previous: &Erasure,
        next: &Erasure,
    ) -> Result<(), StoreError> {
        // Every save moves `updatedAt`: a record still at the step and time read is unchanged.
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(erasure_item(user, next)))
            .condition_expression("#step = :step AND #updated = :updated")
            .expression_attribute_names("#step", ERASURE_STEP)
            .expression_attribute_names("#updated", ERASURE_UPDATED_AT)
            .expression_attribute_values(
                ":step",
                AttributeValue::S(previous.step.as_str().to_owned()),
            )
            .expression_attribute_values(":updated", stored_time(previous.updated_at))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erasure() -> Erasure {
        let mut erasure = Erasure::requested(
            UserId::parse("erased-7").unwrap(),
            "2026-12-06T10:00:00.123456789Z".parse().unwrap(),
        );
        erasure.step = ErasureStep::IdempotencyRecords;
        erasure.updated_at = "2026-12-06T10:01:30Z".parse().unwrap();
        erasure.progress = ErasureProgress {
            tasks_deleted: 3,
            pending_events_published: 1,
            idempotency_records_deleted: 25,
            counter_items_moved: 0,
            archive_objects_rewritten: 4,
            archive_days_rewritten: 2,
        };
        erasure.archive_cursor = Some("2026-11-30".parse().unwrap());
        erasure.archive_days = 2;
        erasure
    }

    fn user() -> UserId {
        UserId::parse("ada@example.com").unwrap()
    }

    #[test]
    fn a_record_reads_back_as_saved_to_the_nanosecond() {
        for step in ErasureStep::ALL {
            let mut erasure = erasure();
            erasure.step = step;
            let item = erasure_item(&user(), &erasure);
            assert_eq!(erasure_from(&item), Ok(erasure.clone()));
            // Only a complete erasure's record carries the table's TTL.
            let expires = item.get(EXPIRES_AT).and_then(|v| v.as_n().ok()).cloned();
            let expected = erasure.expires_at().map(|at| at.timestamp().to_string());
            assert_eq!(expires, expected, "{step:?}");
            assert_eq!(expires.is_some(), step == ErasureStep::Erased);
        }
    }

    #[test]
    fn a_record_holds_its_key_and_attributes_and_no_user_id() {
        let item = erasure_item(&user(), &erasure());
        assert_eq!(
            (&item[PK], &item[SK]),
            (
                &AttributeValue::S(keys::erasure_key(&user()).0),
                &AttributeValue::S("ERASURE".into())
            )
        );
        assert_eq!(
            item[ERASURE_STEP],
            AttributeValue::S("idempotencyRecords".into())
        );
        assert_eq!(
            item[ERASURE_PSEUDONYM],
            AttributeValue::S("erased-7".into())
        );
        assert_eq!(
            item[ERASURE_REQUESTED_AT],
            AttributeValue::S("2026-12-06T10:00:00.123456789Z".into())
        );
        assert_eq!(
            item[ERASURE_UPDATED_AT],
            AttributeValue::S("2026-12-06T10:01:30Z".into())
        );
        assert_eq!(
            item[ERASURE_IDEMPOTENCY_RECORDS_DELETED],
            AttributeValue::N("25".into())
        );
        assert_eq!(
            item[ERASURE_ARCHIVE_CURSOR],
            AttributeValue::S("2026-11-30".into())
        );
        assert_eq!(item[ERASURE_ARCHIVE_DAYS], AttributeValue::N("2".into()));
        // Keys, pseudonym, two times, step, six counts, the days handed out and the cursor;
        // no TTL while running.
        assert_eq!(item.len(), 14);
        let everything = format!("{item:?}");
        assert!(!everything.contains("ada"), "{everything}");
    }

    #[test]
    fn a_batch_read_names_each_users_key_once_and_finds_the_user_back() {
        let (ada, bo) = (user(), UserId::parse("bo").unwrap());
        let asked = [ada.clone(), bo.clone(), ada.clone()];
        let (keys, by_key) = record_keys(&asked);
        assert_eq!(
            keys,
            [
                key_attributes(keys::erasure_key(&ada)),
                key_attributes(keys::erasure_key(&bo))
            ]
        );
        assert_eq!(by_key.len(), 2);
        assert_eq!(by_key[&keys::erasure_key(&bo).0], &bo);
    }

    #[test]
    fn a_record_missing_a_part_or_with_an_unknown_step_is_unreadable() {
        let item = erasure_item(&user(), &erasure());
        for name in [
            ERASURE_PSEUDONYM,
            ERASURE_REQUESTED_AT,
            ERASURE_UPDATED_AT,
            ERASURE_STEP,
            ERASURE_COUNTER_ITEMS_MOVED,
        ] {
            let mut broken = item.clone();
            broken.remove(name);
            let error = erasure_from(&broken).unwrap_err();
            assert!(error.contains(name), "{error}");
        }
        let mut broken = item.clone();
        broken.insert(ERASURE_STEP.into(), AttributeValue::S("done".into()));
        assert_eq!(erasure_from(&broken).unwrap_err(), "unknown step \"done\"");
        let mut broken = item.clone();
        broken.insert(ERASURE_TASKS_DELETED.into(), AttributeValue::N("-1".into()));
        assert!(erasure_from(&broken).is_err());
        // A record of the earlier, sequential archive step resumes in the fan-out.
        let mut earlier = item;
        for name in [ERASURE_ARCHIVE_DAYS, ERASURE_ARCHIVE_DAYS_REWRITTEN] {
            earlier.remove(name);
        }
        earlier.insert(ERASURE_STEP.into(), AttributeValue::S("archive".into()));
        let read = erasure_from(&earlier).unwrap();
        assert_eq!(read.step, ErasureStep::ArchiveFanOut);
        assert_eq!(
            (read.archive_days, read.progress.archive_days_rewritten),
            (0, 0)
        );
        assert_eq!(read.archive_cursor, erasure().archive_cursor);
    }
}
