//! A user's settings in the tasks table: one item per user (`keys::settings_key`), read with
//! every command (its events are stamped with the owner's local day) and deleted with the
//! user's idempotency records when the user is erased.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use taskpulse_app::{
    DeleteUserSettings, LoadUserSettings, SaveUserSettings, StoreError, UserSettings,
};
use taskpulse_domain::{TimeZone, UserId};

use super::DynamoTaskStore;
use crate::error::store_error;
use crate::keys::{self, PK, SETTINGS_TIME_ZONE, SK, key_attributes};

fn settings_item(user: &UserId, settings: &UserSettings) -> HashMap<String, AttributeValue> {
    let (pk, sk) = keys::settings_key(user);
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk)),
        (
            SETTINGS_TIME_ZONE.to_owned(),
            AttributeValue::S(settings.time_zone.name().to_owned()),
        ),
    ])
}

/// The settings an item holds. A zone the compiled-in tz database no longer knows (names are
/// checked when saved, and the database keeps old names as links, so only a build with an older
/// database could meet one) is read as UTC rather than refusing the user's every command.
fn settings_of(item: &HashMap<String, AttributeValue>) -> UserSettings {
    let time_zone = match item.get(SETTINGS_TIME_ZONE).and_then(|v| v.as_s().ok()) {
        None => TimeZone::utc(),
        Some(name) => TimeZone::parse(name).unwrap_or_else(|unknown| {
            tracing::warn!(%unknown, "stored time zone unknown to this build; using UTC");
            TimeZone::utc()
        }),
    };
    UserSettings { time_zone }
}

impl LoadUserSettings for DynamoTaskStore {
    async fn load_user_settings(&self, user: &UserId) -> Result<Option<UserSettings>, StoreError> {
        let item = self.get_attributes(keys::settings_key(user)).await?;
        Ok(item.as_ref().map(settings_of))
    }
}

impl SaveUserSettings for DynamoTaskStore {
    async fn save_user_settings(
        &self,
        user: &UserId,
        settings: &UserSettings,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(settings_item(user, settings)))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

impl DeleteUserSettings for DynamoTaskStore {
    async fn delete_user_settings(&self, user: &UserId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(keys::settings_key(user))))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_item_holds_the_zone_by_name_and_reads_back() {
        let user = UserId::parse("ana").unwrap();
        let settings = UserSettings {
            time_zone: TimeZone::parse("America/Los_Angeles").unwrap(),
        };
        let item = settings_item(&user, &settings);
        assert_eq!(item[PK], AttributeValue::S("USER#ana".into()));
        assert_eq!(item[SK], AttributeValue::S("SETTINGS".into()));
        assert_eq!(
            item[SETTINGS_TIME_ZONE],
            AttributeValue::S("America/Los_Angeles".into())
        );
        assert!(
            !item.contains_key(keys::TASKS_BY_USER_PK),
            "not in the byUser index"
        );
        assert_eq!(settings_of(&item), settings);
        let mut unknown = item.clone();
        unknown.insert(
            SETTINGS_TIME_ZONE.into(),
            AttributeValue::S("Atlantis/Capital".into()),
        );
        assert_eq!(settings_of(&unknown), UserSettings::default());
    }
}
