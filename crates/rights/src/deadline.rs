//! Deadlines as the law counts them (Art. 12(3) GDPR, and Regulation
//! 1182/71 on periods): a request is answered within one month of receipt,
//! which ends at the end of the day in the next month with the same number
//! as the day of receipt, or, where that month has no such day, at the end
//! of its last day (received 31 January: due 28 or 29 February). The day of
//! receipt is the day in the tenant's time zone. An extension by up to two
//! further months counts the same way from the day of receipt (three months
//! in all at most), and may be taken only within the first month.

use jiff::civil::Date as CivilDate;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use kluis_core::{DomainError, FieldError, Result};
use time::{Date, PrimitiveDateTime};

/// The most months a request may be extended by (Art. 12(3)).
pub const MAX_EXTENSION_MONTHS: i64 = 2;

/// When a request is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The last day of the period, in the tenant's time zone.
    pub due_on: Date,
    /// The end of that day (the start of the next) as a UTC moment:
    /// overdue from then on.
    pub due_at: PrimitiveDateTime,
}

/// The time zone named `name` (IANA, e.g. `Europe/Amsterdam`), from the
/// zone data kluis carries (the host's is not needed).
pub fn zone(name: &str) -> Result<TimeZone> {
    let plausible = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    if !plausible {
        return Err(unknown_zone());
    }
    TimeZone::get(name).map_err(|_| unknown_zone())
}

fn unknown_zone() -> DomainError {
    DomainError::Validation(vec![FieldError::new("time_zone", "must be an IANA time zone such as Europe/Amsterdam")])
}

fn internal(e: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(format!("deadline: {e}"))
}

fn to_timestamp(at: PrimitiveDateTime) -> Result<Timestamp> {
    let utc = at.assume_utc();
    Timestamp::new(utc.unix_timestamp(), i32::try_from(utc.nanosecond()).map_err(internal)?).map_err(internal)
}

fn from_timestamp(at: Timestamp) -> Result<PrimitiveDateTime> {
    let utc = time::OffsetDateTime::from_unix_timestamp(at.as_second()).map_err(internal)?;
    Ok(PrimitiveDateTime::new(utc.date(), utc.time()))
}

fn to_date(d: CivilDate) -> Result<Date> {
    let month = time::Month::try_from(u8::try_from(d.month()).map_err(internal)?).map_err(internal)?;
    Date::from_calendar_date(i32::from(d.year()), month, u8::try_from(d.day()).map_err(internal)?).map_err(internal)
}

/// The day of `at` in `zone`.
pub fn local_day(at: PrimitiveDateTime, zone: &TimeZone) -> Result<Date> {
    to_date(to_timestamp(at)?.to_zoned(zone.clone()).date())
}

/// The deadline `months` calendar months after `received`, counted in
/// `zone` (1 for the answer, up to 3 with an extension).
pub fn due(received: PrimitiveDateTime, zone: &TimeZone, months: i64) -> Result<Deadline> {
    let day = to_timestamp(received)?.to_zoned(zone.clone()).date();
    // jiff constrains the day to the month's last (31 January + 1 month = 28/29 February).
    let last = day.checked_add(Span::new().months(months)).map_err(internal)?;
    let next = last.tomorrow().map_err(internal)?;
    // The start of the next day, where the zone has it (a DST gap moves it on).
    let end = next.to_zoned(zone.clone()).map_err(internal)?.timestamp();
    Ok(Deadline { due_on: to_date(last)?, due_at: from_timestamp(end)? })
}

/// Whether an extension by `months` may be taken at `now`: 1 or 2 months,
/// once, and only before the first month is over. Each broken rule is
/// named by its field.
pub fn check_extension(
    months: i64,
    already: bool,
    first_due_at: PrimitiveDateTime,
    now: PrimitiveDateTime,
) -> Result<()> {
    let mut errors = Vec::new();
    if !(1..=MAX_EXTENSION_MONTHS).contains(&months) {
        errors.push(FieldError::new("months", "must be 1 or 2"));
    }
    if already {
        errors.push(FieldError::new("months", "the request was extended before; it can be extended only once"));
    }
    if now >= first_due_at {
        errors.push(FieldError::new(
            "months",
            "the first month is over: a request can be extended only within a month of receipt (Art. 12(3))",
        ));
    }
    if errors.is_empty() { Ok(()) } else { Err(DomainError::Validation(errors)) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn one_month_after_receipt_as_the_law_counts() {
        let amsterdam = zone("Europe/Amsterdam").unwrap();
        let utc = zone("UTC").unwrap();
        let new_york = zone("America/New_York").unwrap();
        // (received, zone, months, due day, end of it in UTC)
        let table = [
            // An ordinary day: the same number next month; CET is UTC+1.
            (datetime!(2026-01-15 10:00), &amsterdam, 1, date!(2026 - 02 - 15), datetime!(2026-02-15 23:00)),
            // Month ends: the 31st of January is due the last day of February.
            (datetime!(2026-01-31 12:00), &amsterdam, 1, date!(2026 - 02 - 28), datetime!(2026-02-28 23:00)),
            // ... the 29th in a leap year.
            (datetime!(2024-01-31 12:00), &amsterdam, 1, date!(2024 - 02 - 29), datetime!(2024-02-29 23:00)),
            (datetime!(2024-01-29 12:00), &utc, 1, date!(2024 - 02 - 29), datetime!(2024-03-01 00:00)),
            (datetime!(2026-01-29 12:00), &utc, 1, date!(2026 - 02 - 28), datetime!(2026-03-01 00:00)),
            // 31 March: 30 April, in summer time (UTC+2).
            (datetime!(2026-03-31 09:00), &amsterdam, 1, date!(2026 - 04 - 30), datetime!(2026-04-30 22:00)),
            // 30 November: 30 December; over the year end.
            (datetime!(2026-11-30 09:00), &amsterdam, 1, date!(2026 - 12 - 30), datetime!(2026-12-30 23:00)),
            (datetime!(2026-12-15 09:00), &utc, 1, date!(2027 - 01 - 15), datetime!(2027-01-16 00:00)),
            // The tenant's zone decides the day: 23:30 UTC on 31 December is
            // already 1 January in Amsterdam, still 31 December in UTC ...
            (datetime!(2026-12-31 23:30), &amsterdam, 1, date!(2027 - 02 - 01), datetime!(2027-02-01 23:00)),
            (datetime!(2026-12-31 23:30), &utc, 1, date!(2027 - 01 - 31), datetime!(2027-02-01 00:00)),
            // ... and 03:00 UTC on 1 January is still 31 December in New York.
            (datetime!(2026-01-01 03:00), &new_york, 1, date!(2026 - 01 - 31), datetime!(2026-02-01 05:00)),
            // A due day on which summer time starts: the day ends at 00:00 CEST.
            (datetime!(2026-02-28 10:00), &amsterdam, 1, date!(2026 - 03 - 28), datetime!(2026-03-28 23:00)),
            (datetime!(2026-02-27 10:00), &amsterdam, 1, date!(2026 - 03 - 27), datetime!(2026-03-27 23:00)),
            (datetime!(2026-03-01 10:00), &amsterdam, 1, date!(2026 - 04 - 01), datetime!(2026-04-01 22:00)),
            // Extended by two more months: three from receipt, clamped once.
            (datetime!(2026-01-31 12:00), &amsterdam, 3, date!(2026 - 04 - 30), datetime!(2026-04-30 22:00)),
            (datetime!(2025-11-30 12:00), &utc, 3, date!(2026 - 02 - 28), datetime!(2026-03-01 00:00)),
            (datetime!(2026-01-15 10:00), &amsterdam, 2, date!(2026 - 03 - 15), datetime!(2026-03-15 23:00)),
        ];
        for (received, zone, months, due_on, due_at) in table {
            let got = due(received, zone, months).unwrap();
            assert_eq!(got, Deadline { due_on, due_at }, "received {received} + {months} month(s)");
        }
    }

    #[test]
    fn summer_time_changes_move_the_end_of_the_day() {
        let amsterdam = zone("Europe/Amsterdam").unwrap();
        // Received 29 February 2020 (a leap day), due 29 March 2020, the
        // day clocks went forward at 02:00: it ends at midnight CEST, 22:00 UTC.
        let got = due(datetime!(2020-02-29 10:00), &amsterdam, 1).unwrap();
        assert_eq!(got.due_on, date!(2020 - 03 - 29));
        assert_eq!(got.due_at, datetime!(2020-03-29 22:00));
        // 23:30 UTC on 28 February 2026 is 1 March in Amsterdam: due 1 April.
        let got = due(datetime!(2026-02-28 23:30), &amsterdam, 1).unwrap();
        assert_eq!(got.due_on, date!(2026 - 04 - 01));
        // Due 25 October 2026 (clocks go back): ends at midnight CET, 23:00 UTC.
        let got = due(datetime!(2026-09-25 08:00), &amsterdam, 1).unwrap();
        assert_eq!(got.due_on, date!(2026 - 10 - 25));
        assert_eq!(got.due_at, datetime!(2026-10-25 23:00));
    }

    #[test]
    fn extension_only_once_by_one_or_two_months_within_the_first() {
        let first_due = datetime!(2026-02-28 23:00);
        let table = [
            (1, false, datetime!(2026-02-01 00:00), true),
            (2, false, datetime!(2026-02-28 22:59), true),
            (2, false, datetime!(2026-02-28 23:00), false),
            (1, false, datetime!(2026-03-10 00:00), false),
            (3, false, datetime!(2026-02-01 00:00), false),
            (0, false, datetime!(2026-02-01 00:00), false),
            (1, true, datetime!(2026-02-01 00:00), false),
        ];
        for (months, already, now, ok) in table {
            let got = check_extension(months, already, first_due, now);
            assert_eq!(got.is_ok(), ok, "{months} month(s), extended before {already}, at {now}");
            if let Err(DomainError::Validation(fields)) = got {
                assert!(fields.iter().all(|f| f.field == "months"));
            }
        }
    }

    #[test]
    fn zones_are_iana_names() {
        for good in ["Europe/Amsterdam", "UTC", "America/Argentina/Buenos_Aires", "Etc/GMT+1"] {
            assert!(zone(good).is_ok(), "{good}");
        }
        for bad in ["", "Europe/Atlantis", "../../etc/passwd", "Mars/Olympus_Mons", "europe amsterdam"] {
            assert!(matches!(zone(bad), Err(DomainError::Validation(_))), "{bad}");
        }
    }
}
