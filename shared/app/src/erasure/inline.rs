//! An erasure run to its end in one process, each archive day done as soon as it is handed
//! out: how the tests and the cost benchmark run one without a work queue.

use chrono::Utc;
use taskpulse_domain::UserId;

use super::{Advance, Eraser, ErasureAnalytics, ErasureTasks};
use crate::memory::MemoryArchiveDays;
use crate::ports::{PublishEvents, ReadArchive, ReplaceArchiveObject, StoreError};

/// Advances `user`'s erasure until it is complete or must wait for time to pass (settling),
/// doing the archive days it hands out in between. Answers the last state seen.
pub async fn run_inline<T, P, A, R>(
    eraser: &Eraser<'_, T, P, A, R, MemoryArchiveDays>,
    user: &UserId,
) -> Result<Advance, StoreError>
where
    T: ErasureTasks,
    P: PublishEvents,
    A: ErasureAnalytics,
    R: ReadArchive + ReplaceArchiveObject,
{
    loop {
        let advance = match eraser.advance(user, Utc::now()).await {
            // Another run recorded first: read its record and go on from there.
            Err(StoreError::Conflict) => continue,
            other => other?,
        };
        let handed_out = eraser.days.take();
        for (owner, day) in &handed_out {
            eraser.rewrite_archive_day(owner, *day).await?;
        }
        match advance {
            Advance::Progressed(_) => {}
            // Waiting for the days just done: look again.
            Advance::WaitUntil(_) if !handed_out.is_empty() => {}
            done_or_waiting => return Ok(done_or_waiting),
        }
    }
}
