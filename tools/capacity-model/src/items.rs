//! The sizes and write units of the items the consumer writes, from the billing rules.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use taskpulse_aws::capacity::{item_size, transactional_write_units};
use taskpulse_aws::keys;
use taskpulse_domain::analytics::{Projection, ProjectionVersion};
use taskpulse_domain::{EventId, UserId};
use uuid::Uuid;

use crate::USER_ID_CHARS;

/// Item sizes as DynamoDB bills them, computed with `taskpulse_aws::capacity` from items laid
/// out as the analytics store writes them, with every counter of the serving projection present.
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

/// Every counter the serving projection (`tasks`) writes.
pub(crate) fn counters(value: &str) -> impl Iterator<Item = (String, AttributeValue)> + '_ {
    Projection::Tasks
        .counters()
        .iter()
        .map(move |c| (c.name().into_owned(), AttributeValue::N(value.to_owned())))
}

pub(crate) fn model_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).expect("a valid date")
}

impl ItemSizes {
    pub fn from_billing_rules() -> Self {
        let day = model_day();
        let user = UserId::parse(&"u".repeat(USER_ID_CHARS)).expect("a valid user id");
        let user_item = |applied: u128| -> HashMap<String, AttributeValue> {
            let ids = (0..applied)
                .map(|n| Blob::new(Uuid::from_u128(n).as_bytes().to_vec()))
                .collect();
            keys::key_attributes(keys::user_day_key(ProjectionVersion::FIRST, &user, day))
                .into_iter()
                // Seven-digit counters: a busy user's sums of seconds.
                .chain(counters("1234567"))
                .chain([(keys::APPLIED_EVENTS.to_owned(), AttributeValue::Bs(ids))])
                .collect()
        };
        let one = item_size(&user_item(1));
        let two = item_size(&user_item(2));
        // Twelve-digit counters: everyone's sums of seconds over a day.
        let global_item: HashMap<String, AttributeValue> =
            keys::key_attributes(keys::global_day_key(ProjectionVersion::FIRST, day, 31))
                .into_iter()
                .chain(counters("123456789012"))
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
