//! The names of the application's metrics. They are recorded through the `metrics` facade (a
//! no-op until a recorder is installed) and published by the functions in CloudWatch Embedded
//! Metric Format, namespace [`NAMESPACE`], with the dimension [`FUNCTION`]. The dashboard in
//! `template.yaml` shows every one of them (checked by a test).

pub const NAMESPACE: &str = "taskpulse";
/// Dimension on every metric: `api`, `consumer`, `relay`, `rebuild-coordinator` or
/// `rebuild-worker`.
pub const FUNCTION: &str = "Function";
/// Label of [`COMMANDS_ACCEPTED`]: `create`, `status`, `priority`, `planned-date`.
pub const COMMAND: &str = "Command";

/// Commands that changed or created a task (no-ops and replays excluded), per command.
pub const COMMANDS_ACCEPTED: &str = "CommandsAccepted";
/// Events confirmed on the queue (by the API right after its commit, or by the relay).
pub const EVENTS_PUBLISHED: &str = "EventsPublished";
/// Events committed but left pending because the queue refused them.
pub const OUTBOX_EVENTS_LEFT_PENDING: &str = "OutboxEventsLeftPending";
/// Commands whose outbox check could not be scheduled: their writes entered the outbox index.
pub const OUTBOX_CHECKS_NOT_SCHEDULED: &str = "OutboxChecksNotScheduled";
/// Outbox checks the relay handled, whatever they found: about one per command.
pub const OUTBOX_CHECKS: &str = "OutboxChecks";
/// Checks that published events their command had left pending (its publish failed, or the
/// function stopped before it).
pub const OUTBOX_CHECKS_PUBLISHED: &str = "OutboxChecksPublished";
/// Checks that handed their task to the sweep: the events queue refused their publish.
pub const OUTBOX_CHECKS_INDEXED: &str = "OutboxChecksIndexed";
/// Checks left for SQS to deliver again (a task unreadable or not indexed, a body that is not
/// a check); after the queue's receives they reach its dead-letter queue.
pub const OUTBOX_CHECKS_RETRIED: &str = "OutboxChecksRetried";
/// At each relay run: the age of the oldest pending event found (0 when none).
pub const OUTBOX_OLDEST_PENDING_AGE: &str = "OutboxOldestPendingAgeSeconds";
/// At each relay run: tasks with pending events whose item could not be read (skipped).
pub const OUTBOX_TASKS_UNREADABLE: &str = "OutboxTasksUnreadable";

pub const EVENTS_APPLIED: &str = "EventsApplied";
pub const DUPLICATES_SKIPPED: &str = "DuplicatesSkipped";
pub const POISON_MESSAGES: &str = "PoisonMessages";
pub const FAILED_WRITES: &str = "FailedWrites";
pub const TRANSACTIONS: &str = "CounterTransactions";
pub const TRANSACTION_RETRIES: &str = "CounterTransactionRetries";
pub const EVENT_AGE: &str = "EventAgeAtApplyMs";
pub const WRITE_UNITS: &str = "CounterWriteUnits";
/// Business view: tasks created, completed, and completed on time, as applied to the counters.
pub const TASKS_CREATED: &str = "TasksCreated";
pub const TASKS_COMPLETED: &str = "TasksCompleted";
pub const TASKS_COMPLETED_ON_TIME: &str = "TasksCompletedOnTime";
/// Tasks completed, by the priority they had when completed (label [`PRIORITY`]).
pub const TASKS_COMPLETED_BY_PRIORITY: &str = "TasksCompletedByPriority";
/// Label of [`TASKS_COMPLETED_BY_PRIORITY`]: `low`, `medium`, `high`, `critical`.
pub const PRIORITY: &str = "Priority";

/// Archive objects the consumer wrote, and their bytes.
pub const ARCHIVE_OBJECTS: &str = "ArchiveObjectsWritten";
pub const ARCHIVE_BYTES: &str = "ArchiveBytesWritten";
/// Events whose archive write failed (retried by SQS, never counted before archived).
pub const ARCHIVE_FAILURES: &str = "ArchiveWriteFailures";
/// A rebuild's backfill: partitions done, events applied, corrupt archive objects skipped.
pub const REBUILD_PARTITIONS: &str = "RebuildPartitionsDone";
pub const REBUILD_EVENTS_APPLIED: &str = "RebuildEventsApplied";
pub const REBUILD_CORRUPT_OBJECTS: &str = "RebuildCorruptObjects";
/// Events of a user whose erasure is under way, held back (retried later by SQS).
pub const EVENTS_HELD_FOR_ERASURE: &str = "EventsHeldForErasure";
/// Events of an erased user counted under the user's pseudonym.
pub const EVENTS_OF_ERASED_USERS: &str = "EventsOfErasedUsers";
/// Erasures whose every step is done.
pub const ERASURES_COMPLETED: &str = "ErasuresCompleted";

/// Every metric the code records.
pub const ALL: &[&str] = &[
    COMMANDS_ACCEPTED,
    EVENTS_PUBLISHED,
    OUTBOX_EVENTS_LEFT_PENDING,
    OUTBOX_CHECKS_NOT_SCHEDULED,
    OUTBOX_CHECKS,
    OUTBOX_CHECKS_PUBLISHED,
    OUTBOX_CHECKS_INDEXED,
    OUTBOX_CHECKS_RETRIED,
    OUTBOX_OLDEST_PENDING_AGE,
    OUTBOX_TASKS_UNREADABLE,
    EVENTS_APPLIED,
    DUPLICATES_SKIPPED,
    POISON_MESSAGES,
    FAILED_WRITES,
    TRANSACTIONS,
    TRANSACTION_RETRIES,
    EVENT_AGE,
    WRITE_UNITS,
    TASKS_CREATED,
    TASKS_COMPLETED,
    TASKS_COMPLETED_ON_TIME,
    TASKS_COMPLETED_BY_PRIORITY,
    ARCHIVE_OBJECTS,
    ARCHIVE_BYTES,
    ARCHIVE_FAILURES,
    REBUILD_PARTITIONS,
    REBUILD_EVENTS_APPLIED,
    REBUILD_CORRUPT_OBJECTS,
    EVENTS_HELD_FOR_ERASURE,
    EVENTS_OF_ERASED_USERS,
    ERASURES_COMPLETED,
];
