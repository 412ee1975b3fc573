//! Archive days handed out in memory: each call as made, and the days not yet taken by a
//! worker. Tests read them; `erasure::run_inline` does each one at once. Clones share them.

use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use taskpulse_domain::UserId;

use super::lock;
use crate::ports::{HandOutArchiveDays, StoreError};

#[derive(Debug, Default, Clone)]
pub struct MemoryArchiveDays {
    waiting: Arc<Mutex<Vec<(UserId, NaiveDate)>>>,
    handed_out: Arc<Mutex<usize>>,
}

impl MemoryArchiveDays {
    /// Takes the days handed out and not yet taken, in the order they were handed out.
    pub fn take(&self) -> Vec<(UserId, NaiveDate)> {
        std::mem::take(&mut *lock(&self.waiting))
    }

    /// How many days were handed out in all, taken or not.
    pub fn handed_out(&self) -> usize {
        *lock(&self.handed_out)
    }
}

impl HandOutArchiveDays for MemoryArchiveDays {
    async fn hand_out_archive_days(
        &self,
        user: &UserId,
        days: &[NaiveDate],
    ) -> Result<(), StoreError> {
        lock(&self.waiting).extend(days.iter().map(|day| (user.clone(), *day)));
        *lock(&self.handed_out) += days.len();
        Ok(())
    }
}
