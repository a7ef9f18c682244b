//! Throttles for what a caller can drive without a token, in memory and
//! bounded: [`FailureLimiter`] counts failures (a client id's wrong secrets,
//! an identifier's wrong passwords) and refuses every attempt once there were
//! too many in a window, whatever the secret; [`RateLimiter`] counts requests
//! per flow and key (password reset requests per address and per IP, answers
//! to sign-in challenges, mailed links, public policy reads, unsubscribes).
//! Both keep keys only as salted SHA-256 hashes: an e-mail address used as
//! a key is never held in clear longer than the request that names it.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::{AppError, AppResult};

/// Most keys a limiter tracks at once; beyond it, expired windows are
/// dropped, then the oldest tenth.
const MAX_TRACKED: usize = 100_000;

/// A key as the limiters keep it: 128 bits of a salted SHA-256.
type HashedKey = [u8; 16];

/// A per-limiter random salt, so a hashed key cannot be looked up in a
/// table of hashed addresses.
fn new_salt() -> [u8; 16] {
    let mut salt = [0u8; 16];
    // Without randomness the keys are still hashed, only unsalted.
    let _ = kluis_store::crypto::fill_random(&mut salt);
    salt
}

fn hash_key(salt: &[u8; 16], key: &str) -> HashedKey {
    let digest = Sha256::new().chain_update(salt).chain_update(key.as_bytes()).finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// Seconds until `started + window`, rounded up (at least 1): after that
/// many seconds the window is surely over.
fn seconds_left(started: Instant, window: Duration) -> u64 {
    let left = window.saturating_sub(started.elapsed());
    (left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1)
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// Make room for one more key: forget expired windows, then, if still
/// full, the oldest tenth (so a flood of new keys costs one pass per
/// tenth of the table, not one per key).
fn make_room(windows: &mut HashMap<HashedKey, Window>, window: Duration) {
    if windows.len() < MAX_TRACKED {
        return;
    }
    windows.retain(|_, w| w.started.elapsed() < window);
    if windows.len() < MAX_TRACKED {
        return;
    }
    let mut by_age: Vec<(Instant, HashedKey)> = windows.iter().map(|(k, w)| (w.started, *k)).collect();
    let cut = by_age.len() / 10;
    by_age.select_nth_unstable_by_key(cut, |(started, _)| *started);
    for (_, key) in &by_age[..=cut] {
        windows.remove(key);
    }
}

/// A fixed-window failure counter keyed by client id or sign-in identifier.
#[derive(Debug)]
pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    salt: [u8; 16],
    windows: Mutex<HashMap<HashedKey, Window>>,
}

impl FailureLimiter {
    /// Allow `max_failures` failures per `window`.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        FailureLimiter { max_failures, window, salt: new_salt(), windows: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds)` while `key` is throttled.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let key = hash_key(&self.salt, key);
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match windows.get(&key) {
            Some(w) if w.count >= self.max_failures && w.started.elapsed() < self.window => {
                Err(seconds_left(w.started, self.window))
            }
            _ => Ok(()),
        }
    }

    /// Count a failure for `key`.
    pub fn fail(&self, key: &str) {
        let key = hash_key(&self.salt, key);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if !windows.contains_key(&key) {
            make_room(&mut windows, self.window);
        }
        let now = Instant::now();
        let entry = windows.entry(key).or_insert(Window { started: now, count: 0 });
        if entry.started.elapsed() >= self.window {
            *entry = Window { started: now, count: 0 };
        }
        entry.count = entry.count.saturating_add(1);
    }

    /// Forget `key`'s failures after a success.
    pub fn succeed(&self, key: &str) {
        let key = hash_key(&self.salt, key);
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
    }
}

/// A rate: at most `max` requests per `window`. Written `N/DURATION`, the
/// duration a whole number of `s`, `m`, `h` or `d` (`5/1h`, `300/1m`,
/// `2/1s`; `5/h` is `5/1h`), from one second to one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed per window (at least 1).
    pub max: u32,
    /// The window.
    pub window: Duration,
}

impl Rate {
    /// `max` per `window`.
    pub const fn new(max: u32, window: Duration) -> Rate {
        Rate { max, window }
    }
}

/// Why a rate could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a rate is N/DURATION with N >= 1 and DURATION 1s..1d in s, m, h or d (e.g. 5/1h, 300/1m): {0}")]
pub struct RateError(String);

impl FromStr for Rate {
    type Err = RateError;

    fn from_str(text: &str) -> Result<Rate, RateError> {
        let bad = || RateError(text.to_owned());
        let (max, window) = text.trim().split_once('/').ok_or_else(bad)?;
        let max: u32 = max.trim().parse().map_err(|_| bad())?;
        let window = window.trim();
        let unit = window.chars().last().ok_or_else(bad)?;
        let count = &window[..window.len() - unit.len_utf8()];
        let count: u64 = if count.is_empty() { 1 } else { count.parse().map_err(|_| bad())? };
        let seconds = match unit {
            's' => Some(count),
            'm' => count.checked_mul(60),
            'h' => count.checked_mul(3600),
            'd' => count.checked_mul(86_400),
            _ => None,
        }
        .ok_or_else(bad)?;
        if max == 0 || seconds == 0 || seconds > 86_400 {
            return Err(bad());
        }
        Ok(Rate { max, window: Duration::from_secs(seconds) })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.window.as_secs();
        let (count, unit) = match secs {
            s if s % 86_400 == 0 => (s / 86_400, 'd'),
            s if s % 3600 == 0 => (s / 3600, 'h'),
            s if s % 60 == 0 => (s / 60, 'm'),
            s => (s, 's'),
        };
        write!(f, "{}/{count}{unit}", self.max)
    }
}

impl serde::Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A fixed-window request counter per key: a key's window opens with its
/// first request and lets `max` requests through; the rest are refused
/// until it ends.
#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    salt: [u8; 16],
    windows: Mutex<HashMap<HashedKey, Window>>,
}

impl RateLimiter {
    /// Allow `rate.max` requests per `rate.window` and key.
    pub fn new(rate: Rate) -> Self {
        RateLimiter { rate, salt: new_salt(), windows: Mutex::new(HashMap::new()) }
    }

    /// Count a request for `key`: `Err(seconds until its window ends)` once
    /// the window has had `max` requests.
    pub fn hit(&self, key: &str) -> Result<(), u64> {
        let key = hash_key(&self.salt, key);
        let Rate { max, window } = self.rate;
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if !windows.contains_key(&key) {
            make_room(&mut windows, window);
        }
        let now = Instant::now();
        let entry = windows.entry(key).or_insert(Window { started: now, count: 0 });
        if entry.started.elapsed() >= window {
            *entry = Window { started: now, count: 0 };
        }
        if entry.count >= max {
            return Err(seconds_left(entry.started, window));
        }
        entry.count += 1;
        Ok(())
    }
}

/// A flow kluis limits by rate, and what it is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Password reset requests, per tenant and e-mail address.
    ResetPerAddress,
    /// Password reset requests, per client IP.
    ResetPerIp,
    /// Answers to sign-in challenges (mailed and TOTP codes, new passwords),
    /// per client IP; each challenge also dies after its own 5 tries.
    ChallengePerIp,
    /// Mailed links and codes redeemed without a token (e-mail verification,
    /// password reset confirmation), per client IP.
    LinkPerIp,
    /// Public policy reads, per client IP.
    PublicReadPerIp,
    /// Unsubscribe links (the page and the one-click POST), per client IP.
    UnsubscribePerIp,
    /// Data-subject requests made from outside, per tenant and e-mail address.
    RequestsPerAddress,
    /// Data-subject requests made from outside, per client IP.
    RequestsPerIp,
    /// Reveals of sealed customer credentials, per caller (client or staff account).
    RevealPerCaller,
}

/// The rate of each flow: the settings `kluis --help` lists as `KLUIS_LIMIT_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// [`Flow::ResetPerAddress`]: 5 per hour.
    pub password_reset_per_address: Rate,
    /// [`Flow::ResetPerIp`]: 20 per hour.
    pub password_reset_per_ip: Rate,
    /// [`Flow::ChallengePerIp`]: 60 per 15 minutes.
    pub challenge_answers_per_ip: Rate,
    /// [`Flow::LinkPerIp`]: 60 per hour.
    pub email_links_per_ip: Rate,
    /// [`Flow::PublicReadPerIp`]: 300 per minute.
    pub public_reads_per_ip: Rate,
    /// [`Flow::UnsubscribePerIp`]: 120 per minute (mail providers send
    /// RFC 8058 one-click unsubscribes for many people from few addresses).
    pub unsubscribe_per_ip: Rate,
    /// [`Flow::RequestsPerAddress`]: 3 per day.
    pub public_requests_per_address: Rate,
    /// [`Flow::RequestsPerIp`]: 10 per hour.
    pub public_requests_per_ip: Rate,
    /// [`Flow::RevealPerCaller`]: 10 per 15 minutes.
    pub credential_reveals_per_caller: Rate,
}

impl Limits {
    /// The defaults (README, `kluis --help`).
    pub const DEFAULT: Limits = {
        const MINUTE: Duration = Duration::from_secs(60);
        const HOUR: Duration = Duration::from_secs(3600);
        Limits {
            password_reset_per_address: Rate::new(5, HOUR),
            password_reset_per_ip: Rate::new(20, HOUR),
            challenge_answers_per_ip: Rate::new(60, Duration::from_secs(15 * 60)),
            email_links_per_ip: Rate::new(60, HOUR),
            public_reads_per_ip: Rate::new(300, MINUTE),
            unsubscribe_per_ip: Rate::new(120, MINUTE),
            public_requests_per_address: Rate::new(3, Duration::from_secs(24 * 3600)),
            public_requests_per_ip: Rate::new(10, HOUR),
            credential_reveals_per_caller: Rate::new(10, Duration::from_secs(15 * 60)),
        }
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// One [`RateLimiter`] per [`Flow`] (a flood of one flow's keys never
/// pushes out another's).
#[derive(Debug)]
pub struct RateLimits {
    reset_per_address: RateLimiter,
    reset_per_ip: RateLimiter,
    challenge_per_ip: RateLimiter,
    link_per_ip: RateLimiter,
    public_read_per_ip: RateLimiter,
    unsubscribe_per_ip: RateLimiter,
    requests_per_address: RateLimiter,
    requests_per_ip: RateLimiter,
    reveal_per_caller: RateLimiter,
}

impl RateLimits {
    /// The limiters of `limits`.
    pub fn new(limits: &Limits) -> Self {
        RateLimits {
            reset_per_address: RateLimiter::new(limits.password_reset_per_address),
            reset_per_ip: RateLimiter::new(limits.password_reset_per_ip),
            challenge_per_ip: RateLimiter::new(limits.challenge_answers_per_ip),
            link_per_ip: RateLimiter::new(limits.email_links_per_ip),
            public_read_per_ip: RateLimiter::new(limits.public_reads_per_ip),
            unsubscribe_per_ip: RateLimiter::new(limits.unsubscribe_per_ip),
            requests_per_address: RateLimiter::new(limits.public_requests_per_address),
            requests_per_ip: RateLimiter::new(limits.public_requests_per_ip),
            reveal_per_caller: RateLimiter::new(limits.credential_reveals_per_caller),
        }
    }

    fn limiter(&self, flow: Flow) -> &RateLimiter {
        match flow {
            Flow::ResetPerAddress => &self.reset_per_address,
            Flow::ResetPerIp => &self.reset_per_ip,
            Flow::ChallengePerIp => &self.challenge_per_ip,
            Flow::LinkPerIp => &self.link_per_ip,
            Flow::PublicReadPerIp => &self.public_read_per_ip,
            Flow::UnsubscribePerIp => &self.unsubscribe_per_ip,
            Flow::RequestsPerAddress => &self.requests_per_address,
            Flow::RequestsPerIp => &self.requests_per_ip,
            Flow::RevealPerCaller => &self.reveal_per_caller,
        }
    }

    /// Count a request of `flow` by `key`; over the rate, `RateLimited`
    /// with the seconds until its window ends.
    pub fn hit(&self, flow: Flow, key: &str) -> AppResult<()> {
        self.limiter(flow).hit(key).map_err(AppError::RateLimited)
    }

    /// Count a request of `flow` from `ip`: an IPv4 address by itself, an
    /// IPv6 one by its /64 (what one host is given). Without an IP (a call
    /// that did not come over the network) nothing is counted.
    pub fn hit_ip(&self, flow: Flow, ip: Option<IpAddr>) -> AppResult<()> {
        match ip {
            Some(ip) => self.hit(flow, &ip_key(ip)),
            None => Ok(()),
        }
    }
}

/// The key of a client IP: IPv4 whole (IPv4-mapped IPv6 too), IPv6 by /64.
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_after_max_failures_and_success_resets() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
            limiter.fail("a");
        }
        let retry = limiter.check("a").unwrap_err();
        assert!(retry > 0 && retry <= 60);
        assert!(limiter.check("b").is_ok());
        limiter.succeed("a");
        assert!(limiter.check("a").is_ok());
    }

    #[test]
    fn window_expiry_lifts_the_throttle() {
        let limiter = FailureLimiter::new(1, Duration::ZERO);
        limiter.fail("a");
        assert!(limiter.check("a").is_ok());
    }

    #[test]
    fn a_rate_allows_max_per_window_per_key() {
        let limiter = RateLimiter::new(Rate::new(2, Duration::from_secs(60)));
        assert!(limiter.hit("a").is_ok());
        assert!(limiter.hit("a").is_ok());
        let retry = limiter.hit("a").unwrap_err();
        assert!((1..=60).contains(&retry), "{retry}");
        assert!(limiter.hit("a").is_err(), "still refused");
        assert!(limiter.hit("b").is_ok(), "another key has its own window");
    }

    #[test]
    fn an_ended_window_opens_a_new_one() {
        let limiter = RateLimiter::new(Rate::new(1, Duration::ZERO));
        assert!(limiter.hit("a").is_ok());
        assert!(limiter.hit("a").is_ok());
    }

    #[test]
    fn keys_are_kept_hashed() {
        let limiter = RateLimiter::new(Rate::new(5, Duration::from_secs(60)));
        limiter.hit("t-shop\nanna@example.nl").unwrap();
        let windows = limiter.windows.lock().unwrap();
        let key = windows.keys().next().unwrap();
        assert_ne!(&key[..], &b"t-shop\nanna@example.nl"[..16]);
        assert_eq!(*key, hash_key(&limiter.salt, "t-shop\nanna@example.nl"));
    }

    #[test]
    fn memory_stays_bounded() {
        let limiter = RateLimiter::new(Rate::new(1, Duration::from_secs(3600)));
        for i in 0..MAX_TRACKED + 10 {
            limiter.hit(&i.to_string()).unwrap();
        }
        let tracked = limiter.windows.lock().unwrap().len();
        assert!(tracked <= MAX_TRACKED, "{tracked}");
        assert!(limiter.hit(&(MAX_TRACKED + 9).to_string()).is_err(), "the newest keys are kept");
    }

    #[test]
    fn rates_read_and_print() {
        assert_eq!("5/1h".parse(), Ok(Rate::new(5, Duration::from_secs(3600))));
        assert_eq!("5/h".parse(), Ok(Rate::new(5, Duration::from_secs(3600))));
        assert_eq!(" 300 / 1m ".parse(), Ok(Rate::new(300, Duration::from_secs(60))));
        assert_eq!("2/1s".parse(), Ok(Rate::new(2, Duration::from_secs(1))));
        assert_eq!("60/15m".parse::<Rate>().unwrap().to_string(), "60/15m");
        assert_eq!("1/90s".parse::<Rate>().unwrap().to_string(), "1/90s");
        assert_eq!("3/1d".parse::<Rate>().unwrap().to_string(), "3/1d");
        for bad in ["", "5", "0/1h", "5/0s", "5/2d", "5/1w", "-1/1h", "x/1h", "5/1.5h", "5/"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ipv6_is_keyed_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ip_key(a), ip_key(b));
        assert_ne!(ip_key(a), ip_key(c));
        assert_eq!(ip_key("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_eq!(ip_key("192.0.2.7".parse().unwrap()), "192.0.2.7");
    }
}
