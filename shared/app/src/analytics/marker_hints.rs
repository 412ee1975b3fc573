//! What a consumer has seen of the inline marker sets, so that its plans place markers right
//! the first time: a busy user's day, once full, stays full, and without this every batch
//! would first try inline markers there, be refused, and plan again.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDate;
use taskpulse_domain::UserId;
use taskpulse_domain::analytics::ProjectionVersion;

use super::plan::{MAX_INLINE_MARKERS, TransactionPlan};

/// Entries kept before the hints start over: a bound on the memory of a long-lived process.
const MAX_HINTS: usize = 50_000;

/// The inline marker set sizes last seen per (version, user, day). Only a hint: a size that
/// is out of date makes a transaction refused and planned again, never a wrong count.
#[derive(Debug, Default)]
pub struct MarkerHints {
    sizes: Mutex<HashMap<(ProjectionVersion, UserId, NaiveDate), usize>>,
}

/// An inline marker set as a refused transaction found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineMarkersFound {
    pub user: UserId,
    pub day: NaiveDate,
    /// Markers in the set (0 if the item or its set does not exist).
    pub markers: usize,
}

impl MarkerHints {
    fn sizes(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(ProjectionVersion, UserId, NaiveDate), usize>> {
        self.sizes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The size last seen of the inline set of `user`'s `day` in `version`.
    pub fn inline_markers(
        &self,
        version: ProjectionVersion,
        user: &UserId,
        day: NaiveDate,
    ) -> Option<usize> {
        self.sizes().get(&(version, user.clone(), day)).copied()
    }

    fn note(&self, version: ProjectionVersion, user: &UserId, day: NaiveDate, markers: usize) {
        let mut sizes = self.sizes();
        if sizes.len() >= MAX_HINTS {
            sizes.clear();
        }
        sizes.insert((version, user.clone(), day), markers);
    }

    /// Notes what sets a refused transaction found.
    pub fn found(&self, version: ProjectionVersion, found: &[InlineMarkersFound]) {
        for set in found {
            self.note(version, &set.user, set.day, set.markers);
        }
    }

    /// Notes the sets a committed plan leaves full, and the growth of sets whose size was
    /// known (other consumers may have added to them: a refusal then says by how much).
    pub fn committed(&self, plan: &TransactionPlan) {
        for write in &plan.users {
            if write.inline < write.events.len() {
                let before = self.inline_markers(plan.version, &write.user, write.day);
                let after = before.unwrap_or(0).max(MAX_INLINE_MARKERS);
                self.note(plan.version, &write.user, write.day, after);
            } else if let Some(before) = self.inline_markers(plan.version, &write.user, write.day) {
                self.note(plan.version, &write.user, write.day, before + write.inline);
            }
        }
    }
}
