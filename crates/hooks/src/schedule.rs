//! The retry schedule: after the n-th failed attempt the next waits
//! `base * 2^(n-1)`, at most [`MAX_INTERVAL`], spread by a jitter of
//! ±20 % so that many endpoints failing together do not retry together.
//! With the jitter at most ±20 % each interval is still longer than the one
//! before it (until the cap). Retries stop [`GIVE_UP_AFTER`] after the event.

use std::time::Duration as StdDuration;

use time::{Duration, PrimitiveDateTime};

/// How long a delivery is retried, counted from the event.
pub const GIVE_UP_AFTER: Duration = Duration::days(3);

/// The longest wait between two attempts.
pub const MAX_INTERVAL: Duration = Duration::hours(12);

/// The wait after `failures` failed attempts (1 for the first failure),
/// before jitter.
pub fn interval(base: StdDuration, failures: i64) -> Duration {
    let base = Duration::try_from(base).unwrap_or(Duration::seconds(5)).max(Duration::milliseconds(100));
    let doubled = base.checked_mul(1i32 << (failures - 1).clamp(0, 20)).unwrap_or(MAX_INTERVAL);
    doubled.min(MAX_INTERVAL)
}

/// `interval` spread by a factor in [0.8, 1.2) taken from `random`.
pub fn jittered(interval: Duration, random: u32) -> Duration {
    let factor = 0.8 + 0.4 * (f64::from(random) / (f64::from(u32::MAX) + 1.0));
    Duration::seconds_f64(interval.as_seconds_f64() * factor)
}

/// When the attempt after `failures` failed ones is due, or `None` once the
/// event is older than [`GIVE_UP_AFTER`] by then.
pub fn next_attempt(
    base: StdDuration,
    failures: i64,
    created_at: PrimitiveDateTime,
    now: PrimitiveDateTime,
) -> Option<PrimitiveDateTime> {
    let mut random = [0u8; 4];
    // Without randomness the schedule is merely unspread.
    let _ = kluis_store::crypto::fill_random(&mut random);
    let next = now + jittered(interval(base, failures), u32::from_le_bytes(random));
    (next <= created_at + GIVE_UP_AFTER).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn intervals_double_up_to_the_cap() {
        let base = StdDuration::from_secs(5);
        let seconds: Vec<i64> = (1..=6).map(|n| interval(base, n).whole_seconds()).collect();
        assert_eq!(seconds, [5, 10, 20, 40, 80, 160]);
        assert_eq!(interval(base, 40), MAX_INTERVAL);
    }

    #[test]
    fn jitter_keeps_each_interval_longer_than_the_one_before() {
        let base = StdDuration::from_secs(1);
        for n in 1..10 {
            let longest_now = jittered(interval(base, n), u32::MAX);
            let shortest_next = jittered(interval(base, n + 1), 0);
            assert!(shortest_next > longest_now, "attempt {n}: {shortest_next} > {longest_now}");
        }
        assert_eq!(jittered(Duration::seconds(10), 0), Duration::seconds(8));
    }

    #[test]
    fn retries_stop_three_days_after_the_event() {
        let created = datetime!(2026-12-01 10:00);
        let base = StdDuration::from_secs(5);
        assert!(next_attempt(base, 1, created, created).is_some());
        assert!(next_attempt(base, 30, created, created + Duration::hours(71)).is_none());
        assert!(next_attempt(base, 3, created, created + Duration::days(3)).is_none());
    }
}
