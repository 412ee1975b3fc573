//! The body of an erasure work message: whose erasure to advance, or which archive day of it
//! to rewrite. The message is the only place the user id travels while the erasure runs, and
//! it is deleted once handled.

use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use taskpulse_app::ports::WORK_BATCH_LIMIT;
use taskpulse_app::{HandOutArchiveDays, SendWork, StoreError};
use taskpulse_domain::UserId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Wire {
    erase_user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    archive_day: Option<NaiveDate>,
}

/// What a work message asks of the eraser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasureWork {
    /// Advance the user's erasure.
    Advance(UserId),
    /// Rewrite one archive day of the user's erasure.
    RewriteArchiveDay(UserId, NaiveDate),
}

impl ErasureWork {
    pub fn body(&self) -> String {
        let wire = match self {
            Self::Advance(user) => Wire {
                erase_user: user.as_str().to_owned(),
                archive_day: None,
            },
            Self::RewriteArchiveDay(user, day) => Wire {
                erase_user: user.as_str().to_owned(),
                archive_day: Some(*day),
            },
        };
        serde_json::to_string(&wire).expect("a string and a date always serialise")
    }

    /// The work a body asks for, or why it asks for none.
    pub fn parse(body: &str) -> Result<Self, String> {
        let wire: Wire = serde_json::from_str(body).map_err(|e| e.to_string())?;
        let user = UserId::parse(&wire.erase_user).map_err(|e| e.to_string())?;
        Ok(match wire.archive_day {
            None => Self::Advance(user),
            Some(day) => Self::RewriteArchiveDay(user, day),
        })
    }
}

/// Archive days handed out as erasure work messages, one per day, on the eraser's own queue.
pub struct ArchiveDayMessages<'a, W>(pub &'a W);

impl<W: SendWork> HandOutArchiveDays for ArchiveDayMessages<'_, W> {
    async fn hand_out_archive_days(
        &self,
        user: &UserId,
        days: &[NaiveDate],
    ) -> Result<(), StoreError> {
        for chunk in days.chunks(WORK_BATCH_LIMIT) {
            let bodies: Vec<String> = chunk
                .iter()
                .map(|day| ErasureWork::RewriteArchiveDay(user.clone(), *day).body())
                .collect();
            self.0.send_work(&bodies, Duration::ZERO).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskpulse_app::memory::MemoryWorkQueue;

    fn ana() -> UserId {
        UserId::parse("ana").unwrap()
    }

    #[test]
    fn a_body_names_its_user_and_perhaps_a_day_and_nothing_else_is_accepted() {
        let advance = ErasureWork::Advance(ana());
        assert_eq!(advance.body(), r#"{"eraseUser":"ana"}"#);
        assert_eq!(ErasureWork::parse(&advance.body()), Ok(advance));
        let day = ErasureWork::RewriteArchiveDay(ana(), "2026-11-28".parse().unwrap());
        assert_eq!(
            day.body(),
            r#"{"eraseUser":"ana","archiveDay":"2026-11-28"}"#
        );
        assert_eq!(ErasureWork::parse(&day.body()), Ok(day));
        for bad in [
            "",
            "{}",
            r#"{"eraseUser":""}"#,
            r#"{"eraseUser":"a","x":1}"#,
            r#"{"eraseUser":"a","archiveDay":"2026-13-01"}"#,
        ] {
            assert!(ErasureWork::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn days_are_handed_out_ten_to_a_batch_at_once() {
        let queue = MemoryWorkQueue::default();
        let first: NaiveDate = "2026-11-01".parse().unwrap();
        let days: Vec<NaiveDate> = first.iter_days().take(23).collect();
        ArchiveDayMessages(&queue)
            .hand_out_archive_days(&ana(), &days)
            .await
            .unwrap();
        let calls = queue.calls();
        let sizes: Vec<usize> = calls.iter().map(|(bodies, _)| bodies.len()).collect();
        assert_eq!(sizes, [10, 10, 3]);
        assert!(calls.iter().all(|(_, delay)| delay.is_zero()));
        let sent: Vec<ErasureWork> = calls
            .iter()
            .flat_map(|(bodies, _)| bodies.iter().map(|b| ErasureWork::parse(b).unwrap()))
            .collect();
        let expected: Vec<ErasureWork> = days
            .iter()
            .map(|day| ErasureWork::RewriteArchiveDay(ana(), *day))
            .collect();
        assert_eq!(sent, expected);
    }
}
