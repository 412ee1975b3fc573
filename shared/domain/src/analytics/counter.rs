//! The counters a projection can move: their names (attribute names on the counter items and
//! field names in the analytics API) and which one counts what.

use std::borrow::Cow;
use std::sync::LazyLock;

use super::histogram::{HISTOGRAM_BUCKETS, Histogram};
use crate::values::{Priority, TaskStatus};

/// The counters that are not histogram buckets, in [`Counter::ALL`]'s order.
const SCALARS: usize = 28;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counter {
    Created,
    Completed,
    CompletedOnTime,
    CompletedLate,
    LeadTimeSecondsSum,
    Delayed,
    DelaySecondsSum,
    Rescheduled,
    PriorityChanges,
    /// Gauge deltas: tasks entering (+1) and leaving (-1) an open status.
    OpenNew,
    OpenInProgress,
    OpenOnHold,
    /// Tasks created with each priority (the `tasks-by-priority` and `tasks-v2` projections).
    CreatedLow,
    CreatedMedium,
    CreatedHigh,
    CreatedCritical,
    /// Tasks completed with each priority (the priority at completion), and of them those on
    /// time and late (the `tasks-v2` projection).
    CompletedLow,
    CompletedMedium,
    CompletedHigh,
    CompletedCritical,
    CompletedOnTimeLow,
    CompletedOnTimeMedium,
    CompletedOnTimeHigh,
    CompletedOnTimeCritical,
    CompletedLateLow,
    CompletedLateMedium,
    CompletedLateHigh,
    CompletedLateCritical,
    /// One bucket of a histogram (`histogram.rs`): the durations counted in it (the `tasks-v2`
    /// projection). Kept out of the per-day rows and totals; read as percentiles.
    Bucket(Histogram, u8),
    /// Open tasks due `n` days after the day of the item that holds it (0: due that day or
    /// before): a gauge, moved +1 where a task starts to be due on a day (created, its date
    /// moved there) and -1 where it stops (completed, cancelled, its date moved away), on the
    /// item of the day that happens. The tasks overdue at the end of a day `R` are the sum of
    /// these over the items of the days up to `R` whose due day is `R` or before. The offset
    /// keeps names short and the same on every day.
    Due(u32),
}

/// The prefix of a [`Counter::Due`]'s name.
const DUE_PREFIX: &str = "du";

/// The names of the bucket counters, made once: `lt0` … and `dl0` ….
static BUCKET_NAMES: LazyLock<[Vec<String>; 2]> = LazyLock::new(|| {
    Histogram::ALL.map(|histogram| {
        (0..HISTOGRAM_BUCKETS)
            .map(|b| format!("{}{b}", histogram.prefix()))
            .collect()
    })
});

impl Counter {
    /// Every counter any projection writes, in the order projections grew: `tasks` defines the
    /// first 12, `tasks-by-priority` the first 16, `tasks-v2` all (the histogram buckets last).
    pub const ALL: [Counter; SCALARS + 2 * HISTOGRAM_BUCKETS] = {
        let mut all = [Self::Created; SCALARS + 2 * HISTOGRAM_BUCKETS];
        let mut i = 0;
        while i < SCALARS {
            all[i] = Self::SCALAR[i];
            i += 1;
        }
        let mut b = 0;
        while b < HISTOGRAM_BUCKETS {
            all[SCALARS + b] = Self::Bucket(Histogram::LeadTime, b as u8);
            all[SCALARS + HISTOGRAM_BUCKETS + b] = Self::Bucket(Histogram::Delay, b as u8);
            b += 1;
        }
        all
    };

    const SCALAR: [Counter; SCALARS] = [
        Self::Created,
        Self::Completed,
        Self::CompletedOnTime,
        Self::CompletedLate,
        Self::LeadTimeSecondsSum,
        Self::Delayed,
        Self::DelaySecondsSum,
        Self::Rescheduled,
        Self::PriorityChanges,
        Self::OpenNew,
        Self::OpenInProgress,
        Self::OpenOnHold,
        Self::CreatedLow,
        Self::CreatedMedium,
        Self::CreatedHigh,
        Self::CreatedCritical,
        Self::CompletedLow,
        Self::CompletedMedium,
        Self::CompletedHigh,
        Self::CompletedCritical,
        Self::CompletedOnTimeLow,
        Self::CompletedOnTimeMedium,
        Self::CompletedOnTimeHigh,
        Self::CompletedOnTimeCritical,
        Self::CompletedLateLow,
        Self::CompletedLateMedium,
        Self::CompletedLateHigh,
        Self::CompletedLateCritical,
    ];

    /// The attribute name on the counter items and the field name in the analytics API.
    pub fn name(self) -> Cow<'static, str> {
        match self {
            Self::Due(days) => Cow::Owned(format!("{DUE_PREFIX}{days}")),
            other => Cow::Borrowed(other.static_name()),
        }
    }

    fn static_name(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Completed => "completed",
            Self::CompletedOnTime => "completedOnTime",
            Self::CompletedLate => "completedLate",
            Self::LeadTimeSecondsSum => "leadTimeSecondsSum",
            Self::Delayed => "delayed",
            Self::DelaySecondsSum => "delaySecondsSum",
            Self::Rescheduled => "rescheduled",
            Self::PriorityChanges => "priorityChanges",
            Self::OpenNew => "openNew",
            Self::OpenInProgress => "openInProgress",
            Self::OpenOnHold => "openOnHold",
            Self::CreatedLow => "createdLow",
            Self::CreatedMedium => "createdMedium",
            Self::CreatedHigh => "createdHigh",
            Self::CreatedCritical => "createdCritical",
            Self::CompletedLow => "completedLow",
            Self::CompletedMedium => "completedMedium",
            Self::CompletedHigh => "completedHigh",
            Self::CompletedCritical => "completedCritical",
            Self::CompletedOnTimeLow => "completedOnTimeLow",
            Self::CompletedOnTimeMedium => "completedOnTimeMedium",
            Self::CompletedOnTimeHigh => "completedOnTimeHigh",
            Self::CompletedOnTimeCritical => "completedOnTimeCritical",
            Self::CompletedLateLow => "completedLateLow",
            Self::CompletedLateMedium => "completedLateMedium",
            Self::CompletedLateHigh => "completedLateHigh",
            Self::CompletedLateCritical => "completedLateCritical",
            Self::Bucket(histogram, bucket) => BUCKET_NAMES[histogram as usize]
                .get(usize::from(bucket))
                .map_or("", String::as_str),
            Self::Due(_) => DUE_PREFIX,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        if let Some(digits) = name.strip_prefix(DUE_PREFIX) {
            let days: u32 = digits.parse().ok()?;
            return (digits == days.to_string()).then_some(Self::Due(days));
        }
        for histogram in Histogram::ALL {
            if let Some(digits) = name.strip_prefix(histogram.prefix()) {
                let bucket: u8 = digits.parse().ok()?;
                let canonical = digits == bucket.to_string();
                return (canonical && usize::from(bucket) < HISTOGRAM_BUCKETS)
                    .then_some(Self::Bucket(histogram, bucket));
            }
        }
        Self::SCALAR.into_iter().find(|c| c.static_name() == name)
    }

    /// The histogram and bucket this counter is, if it is a bucket.
    pub fn bucket(self) -> Option<(Histogram, u8)> {
        match self {
            Self::Bucket(histogram, bucket) => Some((histogram, bucket)),
            _ => None,
        }
    }

    /// The [`Counter::Due`] of a task due on `due`, kept on the item of `day`.
    pub fn due(due: chrono::NaiveDate, day: chrono::NaiveDate) -> Self {
        // Any two dates are less than `u32::MAX` days apart.
        let days = (due - day).num_days().clamp(0, i64::from(u32::MAX));
        Self::Due(days as u32)
    }

    /// The day a [`Counter::Due`] on the item of `day` is due on (`None` for other counters).
    pub fn due_day(self, day: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
        match self {
            Self::Due(days) => day.checked_add_days(chrono::Days::new(u64::from(days))),
            _ => None,
        }
    }

    /// The gauge that counts open tasks in `status`; terminal statuses have none.
    pub fn open_gauge(status: TaskStatus) -> Option<Self> {
        match status {
            TaskStatus::New => Some(Self::OpenNew),
            TaskStatus::InProgress => Some(Self::OpenInProgress),
            TaskStatus::OnHold => Some(Self::OpenOnHold),
            TaskStatus::Completed | TaskStatus::Cancelled => None,
        }
    }

    /// Whether this counter is an open-task gauge, whose deltas are negative as often as
    /// positive (every other counter only grows).
    pub fn is_open_gauge(self) -> bool {
        matches!(
            self,
            Self::OpenNew | Self::OpenInProgress | Self::OpenOnHold
        )
    }

    /// The counter of tasks created with `priority`.
    pub fn created_with(priority: Priority) -> Self {
        match priority {
            Priority::Low => Self::CreatedLow,
            Priority::Medium => Self::CreatedMedium,
            Priority::High => Self::CreatedHigh,
            Priority::Critical => Self::CreatedCritical,
        }
    }

    /// The counters of a task completed with `priority`: completed, and on time or late.
    pub fn completed_with(priority: Priority, on_time: bool) -> [Self; 2] {
        let (completed, on_time_counter, late) = match priority {
            Priority::Low => (
                Self::CompletedLow,
                Self::CompletedOnTimeLow,
                Self::CompletedLateLow,
            ),
            Priority::Medium => (
                Self::CompletedMedium,
                Self::CompletedOnTimeMedium,
                Self::CompletedLateMedium,
            ),
            Priority::High => (
                Self::CompletedHigh,
                Self::CompletedOnTimeHigh,
                Self::CompletedLateHigh,
            ),
            Priority::Critical => (
                Self::CompletedCritical,
                Self::CompletedOnTimeCritical,
                Self::CompletedLateCritical,
            ),
        };
        [completed, if on_time { on_time_counter } else { late }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_are_short_and_only_canonical_ones_parse() {
        let lead = Counter::Bucket(Histogram::LeadTime, 57);
        assert_eq!(lead.name(), "lt57");
        assert_eq!(Counter::Bucket(Histogram::Delay, 0).name(), "dl0");
        for bad in ["lt188", "lt057", "lt", "lt-1", "dlx", "ltime"] {
            assert_eq!(Counter::from_name(bad), None, "{bad}");
        }
        assert_eq!(Counter::ALL.len(), 28 + 2 * HISTOGRAM_BUCKETS);
        assert_eq!(lead.bucket(), Some((Histogram::LeadTime, 57)));
        assert_eq!(Counter::Created.bucket(), None);
    }

    #[test]
    fn counter_names_round_trip_and_are_distinct() {
        for c in Counter::ALL {
            assert_eq!(Counter::from_name(&c.name()), Some(c));
        }
        let mut names: Vec<Cow<'static, str>> = Counter::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Counter::ALL.len());
    }

    #[test]
    fn due_gauges_are_named_by_their_offset_from_the_item_day() {
        let day: chrono::NaiveDate = "2026-12-07".parse().unwrap();
        let due = |s: &str| Counter::due(s.parse().unwrap(), day);
        assert_eq!(due("2026-12-10"), Counter::Due(3));
        assert_eq!(due("2026-12-07"), Counter::Due(0));
        assert_eq!(
            due("2026-11-01"),
            Counter::Due(0),
            "due before: counts as due that day"
        );
        assert_eq!(due("9999-12-31"), Counter::Due(2_912_102));
        assert_eq!(Counter::Due(3).name(), "du3");
        assert_eq!(
            Counter::Due(3).due_day(day),
            Some("2026-12-10".parse().unwrap())
        );
        assert_eq!(Counter::Created.due_day(day), None);
        for (name, counter) in [
            ("du0", Some(Counter::Due(0))),
            ("du2912102", Some(Counter::Due(2_912_102))),
        ] {
            assert_eq!(Counter::from_name(name), counter);
        }
        for bad in ["du", "du01", "du-1", "du4294967296", "dux", "due"] {
            assert_eq!(Counter::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_priority_has_its_own_completion_counters() {
        let mut seen = vec![];
        for priority in Priority::ALL {
            for on_time in [true, false] {
                seen.extend(Counter::completed_with(priority, on_time));
            }
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 12, "4 completed + 4 on time + 4 late");
    }
}
