//! Time: kluis stores UTC `PrimitiveDateTime` (both backends map it the same)
//! and speaks RFC 3339 UTC on the wire.

use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Now, in UTC, truncated to microseconds (what PostgreSQL keeps), so a value
/// read back equals the value written on both backends.
pub fn now() -> PrimitiveDateTime {
    let now = OffsetDateTime::now_utc();
    let micros = now.microsecond();
    let now = now.replace_microsecond(micros).unwrap_or(now);
    PrimitiveDateTime::new(now.date(), now.time())
}

/// `at` truncated to microseconds, what PostgreSQL keeps: a time a caller
/// sent reads back the same on both backends.
pub fn micros(at: PrimitiveDateTime) -> PrimitiveDateTime {
    at.replace_microsecond(at.microsecond()).unwrap_or(at)
}

/// A stored UTC timestamp as an `OffsetDateTime`.
pub fn utc(at: PrimitiveDateTime) -> OffsetDateTime {
    at.assume_utc()
}

/// Seconds since the Unix epoch of a stored UTC timestamp.
pub fn unix(at: PrimitiveDateTime) -> i64 {
    at.assume_utc().unix_timestamp()
}

/// Milliseconds since the Unix epoch of a stored UTC timestamp.
pub fn unix_millis(at: PrimitiveDateTime) -> i64 {
    i64::try_from(at.assume_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A stored timestamp from Unix seconds.
pub fn from_unix(secs: i64) -> Option<PrimitiveDateTime> {
    let at = OffsetDateTime::from_unix_timestamp(secs).ok()?.to_offset(UtcOffset::UTC);
    Some(PrimitiveDateTime::new(at.date(), at.time()))
}

/// Serde helpers: a stored UTC `PrimitiveDateTime` as RFC 3339 text with `Z`.
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::PrimitiveDateTime;
    use time::format_description::well_known::Rfc3339;

    /// Serialize as RFC 3339 UTC.
    pub fn serialize<S: Serializer>(at: &PrimitiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = at.assume_utc().format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    /// Parse RFC 3339 (any offset) into UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PrimitiveDateTime, D::Error> {
        let text = String::deserialize(d)?;
        let at = time::OffsetDateTime::parse(&text, &Rfc3339)
            .map_err(serde::de::Error::custom)?
            .to_offset(time::UtcOffset::UTC);
        Ok(PrimitiveDateTime::new(at.date(), at.time()))
    }

    /// The same for `Option<PrimitiveDateTime>`.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::PrimitiveDateTime;

        /// Serialize as RFC 3339 UTC or null.
        pub fn serialize<S: Serializer>(at: &Option<PrimitiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, s),
                None => s.serialize_none(),
            }
        }

        /// Parse RFC 3339 or null.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PrimitiveDateTime>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] PrimitiveDateTime);
            Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(at)| at))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_drops_nanoseconds_only() {
        let at = time::macros::datetime!(2026-01-02 03:04:05.123_456_789);
        assert_eq!(micros(at), time::macros::datetime!(2026-01-02 03:04:05.123_456));
        assert_eq!(micros(micros(at)), micros(at));
    }

    #[test]
    fn unix_round_trip() {
        let at = now();
        let back = from_unix(unix(at)).unwrap();
        assert_eq!(unix(back), unix(at));
    }
}
