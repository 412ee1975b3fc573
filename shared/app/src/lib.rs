//! Application layer of taskpulse: the use cases, and the ports they need from the outside.
//!
//! Each port is a small trait per operation, implemented by the AWS adapters
//! (`taskpulse-aws`) and by the in-memory adapters in [`memory`]. Use cases are generic over the
//! ports, so the Lambda handlers, the local runner and the tests share one code path.

pub mod analytics;
pub mod archive;
pub mod backoff;
pub mod consume;
pub mod erasure;
pub mod memory;
pub mod metric;
pub mod ports;
pub mod projections;
pub mod rebuild;
pub mod relay;
pub mod tasks;
#[cfg(test)]
mod test_events;

pub use analytics::{
    AnalyticsReport, BatchOutcome, InlineMarkersFound, MarkerHints, Period, PlanLimits,
    analytics_report, apply_events, periods,
};
pub use ports::{
    ApplyTransaction, ArchiveDayMarkers, DeleteCounters, DeleteIdempotencyRecords, DeleteTask,
    DeleteUserSettings, HandOutArchiveDays, IdempotencyRecord, IndexPendingOutbox, ListCursor,
    ListPendingOutbox, ListQuery, ListTasks, ListUserDays, LoadErasures, LoadIdempotency,
    LoadProjectionConfig, LoadTask, LoadUserSettings, MAX_WORK_DELAY, MarkEventsPublished,
    MoveUserCounters, PendingEvent, PublishError, PublishEvents, ReadArchive, ReadCounters,
    RebuildProgress, RollUpMonths, SaveErasure, SaveError, SaveProjectionConfig, SaveTask,
    SaveUserSettings, ScanCounters, ScheduleOutboxCheck, SendWork, StoreError, StoredMonth,
    StoredMonths, StoredTask, TaskPage, TaskWrite, TransactionResult, UserSettings,
    VersionCounters, WriteArchive,
};
pub use relay::{CheckOutcome, OutboxCheck, RelaySummary, check_outbox, relay_pending};
pub use tasks::{
    CommandContext, CommandError, CommandOutcome, CommandQueues, IdempotencyKey, IfMatch, NewTask,
    TaskCommands,
};
