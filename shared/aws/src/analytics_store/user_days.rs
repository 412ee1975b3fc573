//! The days a user has a day item for in a version: a keys-only `Query` of the user's
//! partition over the `DAY#` sort keys after a cursor (overflow markers sort before them and
//! are never read). An erasure rewrites the archive partitions of these days.

use chrono::NaiveDate;
use taskpulse_app::{ListUserDays, StoreError};
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::ProjectionVersion;

use super::DynamoAnalyticsStore;
use crate::keys::{self, SK};
use crate::partition_query::{PartitionQuery, query_partition};

/// The sort key just past every `DAY#` key (`#` + 1 is `$`).
const PAST_THE_DAYS: &str = "DAY$";

impl<W: Send + Sync> ListUserDays for DynamoAnalyticsStore<W> {
    async fn list_user_days(
        &self,
        version: ProjectionVersion,
        user: &UserId,
        after: Option<NaiveDate>,
        limit: usize,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        let partition = keys::counter_user_partition(version, user);
        // From just after the cursor's day (or the first day), to the end of the day keys.
        let from = first_sort_key_after(after);
        let query = PartitionQuery {
            partition: &partition,
            sort_keys: Some((&from, PAST_THE_DAYS)),
            keys_only: true,
            limit,
        };
        let days: Vec<NaiveDate> = query_partition(&self.reader, &self.table, query)
            .await?
            .iter()
            .filter_map(|item| keys::parse_day_sort_key(item.get(SK)?.as_s().ok()?))
            .collect();
        Ok(days)
    }
}

/// The first sort key to read after `after`'s day item (from the first day item when `None`):
/// past the cursor's own key and before the next day's, since `~` sorts after every digit.
fn first_sort_key_after(after: Option<NaiveDate>) -> String {
    match after {
        Some(day) => format!("{}~", keys::day_sort_key(day)),
        None => keys::DAY_PREFIX.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_from_the_next_day_and_never_past_the_day_keys() {
        let day: NaiveDate = "2026-12-31".parse().unwrap();
        let from = first_sort_key_after(Some(day));
        assert!(keys::day_sort_key(day) < from);
        assert!(from < keys::day_sort_key(day.succ_opt().unwrap()));
        assert!(from.as_str() < PAST_THE_DAYS);
        let first = first_sort_key_after(None);
        assert!(first <= keys::day_sort_key(NaiveDate::MIN));
        assert!(keys::day_sort_key(NaiveDate::MAX).as_str() < PAST_THE_DAYS);
        let marker = keys::applied_marker_key(
            ProjectionVersion::FIRST,
            &UserId::parse("u").unwrap(),
            day,
            taskpulse_domain::EventId::from_uuid(uuid::Uuid::from_u128(1)),
        );
        assert!(marker.1 < first, "overflow markers are never read as days");
    }
}
