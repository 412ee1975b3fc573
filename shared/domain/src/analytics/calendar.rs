//! The periods an analytics answer can be cut into: days, ISO weeks (Monday first, numbered in
//! the ISO week-numbering year) and calendar months. Periods are made of the days the counters
//! are kept on, so a user's weeks and months are in the user's zone wherever the days are.

use chrono::{Datelike, Days, NaiveDate, Weekday};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    Day,
    Week,
    Month,
}

impl Granularity {
    pub const ALL: [Granularity; 3] = [Self::Day, Self::Week, Self::Month];

    /// The name the analytics routes take and answer (`granularity=week`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.name() == name)
    }

    /// The most periods one answer may hold: a year of days, the weeks any three years of
    /// days touch (up to 158), five years of months.
    pub fn max_periods(self) -> usize {
        match self {
            Self::Day => 366,
            Self::Week => 158,
            Self::Month => 60,
        }
    }

    /// How many periods answered by default when a range names no start: 30 days, 12 weeks,
    /// 12 months.
    pub fn default_periods(self) -> usize {
        match self {
            Self::Day => 30,
            Self::Week | Self::Month => 12,
        }
    }

    /// The first day of the period holding `day`.
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => day,
            Self::Week => day.week(Weekday::Mon).first_day(),
            Self::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The first day of the period after the one holding `day`, if the calendar has one.
    pub fn next_start(self, day: NaiveDate) -> Option<NaiveDate> {
        match self {
            Self::Day => day.succ_opt(),
            Self::Week => self.start_of(day).checked_add_days(Days::new(7)),
            Self::Month => self
                .start_of(day)
                .checked_add_months(chrono::Months::new(1)),
        }
    }

    /// The first day of the period `periods` before the one holding `day`.
    pub fn start_before(self, day: NaiveDate, periods: u32) -> Option<NaiveDate> {
        let start = self.start_of(day);
        match self {
            Self::Day => start.checked_sub_days(Days::new(u64::from(periods))),
            Self::Week => start.checked_sub_days(Days::new(7 * u64::from(periods))),
            Self::Month => start.checked_sub_months(chrono::Months::new(periods)),
        }
    }

    /// The period's name: `2026-12-07`, `2026-W50` (the ISO week-numbering year, which
    /// differs from the calendar year around New Year), `2026-12`.
    pub fn label(self, day: NaiveDate) -> String {
        match self {
            Self::Day => day.to_string(),
            Self::Week => {
                let week = day.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            }
            Self::Month => format!("{}-{:02}", day.year(), day.month()),
        }
    }

    /// How many periods the days `from` through `to` touch (0 if `from` is after `to`).
    pub fn periods_between(self, from: NaiveDate, to: NaiveDate) -> usize {
        let (first, last) = (self.start_of(from), self.start_of(to));
        if first > last {
            return 0;
        }
        match self {
            Self::Day => (last - first).num_days() as usize + 1,
            Self::Week => (last - first).num_days() as usize / 7 + 1,
            Self::Month => {
                let months = |d: NaiveDate| d.year() as i64 * 12 + i64::from(d.month0());
                (months(last) - months(first)) as usize + 1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn weeks_start_on_monday_and_take_the_iso_year() {
        let week = Granularity::Week;
        // 2026-12-07 is a Monday; 2026-12-13 the Sunday of the same week.
        assert_eq!(week.start_of(day("2026-12-13")), day("2026-12-07"));
        assert_eq!(week.start_of(day("2026-12-07")), day("2026-12-07"));
        assert_eq!(week.label(day("2026-12-13")), "2026-W50");
        // 2027-01-01 is a Friday in the last ISO week of 2026; 2024-12-30 a Monday in 2025's first.
        assert_eq!(week.label(day("2027-01-01")), "2026-W53");
        assert_eq!(week.label(day("2024-12-30")), "2025-W01");
        assert_eq!(week.next_start(day("2026-12-09")), Some(day("2026-12-14")));
        assert_eq!(
            week.start_before(day("2026-12-09"), 2),
            Some(day("2026-11-23"))
        );
    }

    #[test]
    fn months_and_days_and_how_many_periods_a_range_touches() {
        let month = Granularity::Month;
        assert_eq!(month.start_of(day("2026-02-28")), day("2026-02-01"));
        assert_eq!(month.label(day("2026-02-28")), "2026-02");
        assert_eq!(month.next_start(day("2026-12-31")), Some(day("2027-01-01")));
        assert_eq!(
            month.start_before(day("2026-03-31"), 13),
            Some(day("2025-02-01"))
        );
        assert_eq!(
            month.periods_between(day("2022-01-31"), day("2026-12-01")),
            60
        );
        assert_eq!(
            month.periods_between(day("2026-12-01"), day("2026-11-30")),
            0
        );
        assert_eq!(
            Granularity::Week.periods_between(day("2026-12-06"), day("2026-12-07")),
            2
        );
        assert_eq!(
            Granularity::Day.periods_between(day("2026-01-01"), day("2026-12-31")),
            365
        );
        assert_eq!(Granularity::Day.label(day("2026-01-01")), "2026-01-01");
        for g in Granularity::ALL {
            assert_eq!(Granularity::from_name(g.name()), Some(g));
        }
        assert_eq!(Granularity::from_name("fortnight"), None);
    }
}
