//! The days a user has a day item for in a version: a keys-only `Query` of the user's
//! partition over the `DAY#` sort keys after a cursor (overflow markers sort before them and
//! are never read). An erasure rewrites the archive partitions of these days.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use taskpulse_app::{ListUserDays, StoreError};
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::ProjectionVersion;

use super::DynamoAnalyticsStore;
use crate::error::store_error;
use crate::keys::{self, PK, SK};

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
        let from = match after {
            Some(day) => format!("{}\u{0}", keys::day_sort_key(day)),
            None => keys::DAY_PREFIX.to_owned(),
        };
        let mut days = vec![];
        let mut start = None;
        while days.len() < limit {
            let output = self
                .reader
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
                .expression_attribute_values(":from", AttributeValue::S(from.clone()))
                .expression_attribute_values(":to", AttributeValue::S(PAST_THE_DAYS.to_owned()))
                .projection_expression("#sk")
                .limit(i32::try_from(limit - days.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(store_error)?;
            days.extend(
                output
                    .items()
                    .iter()
                    .filter_map(|item| keys::parse_day_sort_key(item.get(SK)?.as_s().ok()?)),
            );
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        days.truncate(limit);
        Ok(days)
    }
}
