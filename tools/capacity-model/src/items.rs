//! The sizes and write units of the items the consumer writes, from the billing rules.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use taskpulse_aws::capacity::{item_size, transactional_write_units};
use taskpulse_aws::keys;
use taskpulse_domain::analytics::{Counter, Histogram, Projection, ProjectionVersion, bucket_of};
use taskpulse_domain::{EventId, UserId};
use uuid::Uuid;

use crate::USER_ID_CHARS;

/// The durations a busy global day's completions and delays span, in seconds: a minute to a
/// year. Every bucket in between holds a count on such a day.
const BUSY_DAY_DURATIONS: (u64, u64) = (60, 365 * 86_400);
/// How far ahead tasks are planned: a busy global day moves a due gauge for every day up to
/// a year ahead (`du0` … `du365`).
const DUE_HORIZON_DAYS: u32 = 365;
/// What one user's day of ten events moves besides the scalar counters: lead-time and delay
/// buckets, and due gauges.
const USER_DAY_BUCKETS: (u8, u8) = (4, 2);
const USER_DAY_DUE_GAUGES: u32 = 4;

/// Item sizes as DynamoDB bills them, computed with `taskpulse_aws::capacity` from items laid
/// out as the analytics store writes them, with the counters a projection keeps on them (see
/// [`ItemSizes::counting`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemSizes {
    /// A user's day item without its applied-event ids.
    pub user_item_base_bytes: usize,
    /// Each applied event's id in `appliedEvents` (the first 32 of a day, or every one on an
    /// item of the layout before the cap).
    pub bytes_per_applied_event: usize,
    pub global_item_bytes: usize,
    /// An overflow marker item (keys only).
    pub marker_item_bytes: usize,
}

/// The counters on a user's day item and on a global shard's: for `tasks` and
/// `tasks-by-priority`, every counter of the projection on both. For `tasks-v2` and
/// `tasks-v3`, a user's day of ten events holds every scalar counter (an upper bound), four
/// lead-time and two delay buckets and (`tasks-v3`) four due gauges; a global shard's day at
/// scale holds every scalar counter, every bucket from a minute to a year in both histograms
/// and (`tasks-v3`) a due gauge for every day up to a year ahead.
fn counters_of(projection: Projection) -> (Vec<Counter>, Vec<Counter>) {
    if !projection.counts_local_days() {
        let all = projection.counters().to_vec();
        return (all.clone(), all);
    }
    let scalars = || {
        projection
            .counters()
            .iter()
            .copied()
            .filter(|c| c.bucket().is_none())
    };
    let (lead, delay) = USER_DAY_BUCKETS;
    let mut user: Vec<Counter> = scalars()
        .chain((0..lead).map(|b| Counter::Bucket(Histogram::LeadTime, 60 + b)))
        .chain((0..delay).map(|b| Counter::Bucket(Histogram::Delay, 60 + b)))
        .collect();
    let (shortest, longest) = BUSY_DAY_DURATIONS;
    let busy_buckets = bucket_of(shortest)..=bucket_of(longest);
    let mut global: Vec<Counter> = scalars()
        .chain(Histogram::ALL.into_iter().flat_map(|histogram| {
            busy_buckets
                .clone()
                .map(move |b| Counter::Bucket(histogram, b))
        }))
        .collect();
    if projection.keeps_due_gauges() {
        user.extend((0..USER_DAY_DUE_GAUGES).map(Counter::Due));
        global.extend((0..=DUE_HORIZON_DAYS).map(Counter::Due));
    }
    (user, global)
}

fn with_values(counters: &[Counter], value: &str) -> Vec<(String, AttributeValue)> {
    counters
        .iter()
        .map(|c| (c.name().into_owned(), AttributeValue::N(value.to_owned())))
        .collect()
}

pub(crate) fn model_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).expect("a valid date")
}

impl ItemSizes {
    /// The items of the projection the analytics serve today (`tasks`).
    pub fn from_billing_rules() -> Self {
        Self::counting(Projection::Tasks)
    }

    /// The items of `projection`, holding the counters [`counters_of`] names.
    pub fn counting(projection: Projection) -> Self {
        let (user_counters, global_counters) = counters_of(projection);
        let day = model_day();
        let user = UserId::parse(&"u".repeat(USER_ID_CHARS)).expect("a valid user id");
        let user_item = |applied: u128| -> HashMap<String, AttributeValue> {
            let ids = (0..applied)
                .map(|n| Blob::new(Uuid::from_u128(n).as_bytes().to_vec()))
                .collect();
            keys::key_attributes(keys::user_day_key(ProjectionVersion::FIRST, &user, day))
                .into_iter()
                // Seven-digit counters: a busy user's sums of seconds.
                .chain(with_values(&user_counters, "1234567"))
                .chain([(keys::APPLIED_EVENTS.to_owned(), AttributeValue::Bs(ids))])
                .collect()
        };
        let one = item_size(&user_item(1));
        let two = item_size(&user_item(2));
        // Twelve-digit counters: everyone's sums of seconds over a day.
        let global_item: HashMap<String, AttributeValue> =
            keys::key_attributes(keys::global_day_key(ProjectionVersion::FIRST, day, 31))
                .into_iter()
                .chain(with_values(&global_counters, "123456789012"))
                .collect();
        let marker = keys::key_attributes(keys::applied_marker_key(
            ProjectionVersion::FIRST,
            &user,
            day,
            EventId::from_uuid(Uuid::from_u128(u128::MAX)),
        ));
        Self {
            user_item_base_bytes: one - (two - one),
            bytes_per_applied_event: two - one,
            global_item_bytes: item_size(&global_item),
            marker_item_bytes: item_size(&marker),
        }
    }

    /// A user's day item with `inline_markers` ids in its inline set.
    pub fn user_item_bytes(&self, inline_markers: u32) -> usize {
        self.user_item_base_bytes + self.bytes_per_applied_event * inline_markers as usize
    }

    /// Units of a transactional update that leaves the user's item with `inline_markers`.
    pub fn user_write_units(&self, inline_markers: u32) -> usize {
        transactional_write_units(self.user_item_bytes(inline_markers))
    }

    /// Units of one overflow marker put in a transaction.
    pub fn marker_write_units(&self) -> usize {
        transactional_write_units(self.marker_item_bytes)
    }

    pub fn global_write_units(&self) -> usize {
        transactional_write_units(self.global_item_bytes)
    }
}
