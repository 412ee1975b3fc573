//! The ports of a user's settings: what the user has chosen about how their analytics are
//! kept. One item per user, in the task table.

use std::future::Future;

use taskpulse_domain::{TimeZone, UserId};

use super::StoreError;

/// A user's settings. A user who never chose has the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSettings {
    /// The zone whose local days the user's events are stamped with (UTC unless chosen).
    pub time_zone: TimeZone,
}

pub trait LoadUserSettings: Send + Sync {
    /// A strongly consistent read: a command right after a change uses the new settings.
    fn load_user_settings(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Option<UserSettings>, StoreError>> + Send;
}

pub trait SaveUserSettings: Send + Sync {
    /// Replaces the user's settings (the last write wins: the settings are one value).
    fn save_user_settings(
        &self,
        user: &UserId,
        settings: &UserSettings,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Deletes the user's settings, if any: part of erasing the user.
pub trait DeleteUserSettings: Send + Sync {
    fn delete_user_settings(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
