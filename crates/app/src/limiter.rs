//! Counting failed client authentications per client id: after too many in
//! a window, every attempt for that id is refused with 429 until the window
//! ends, whatever the secret, so a secret cannot be guessed by brute force.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most ids tracked at once; beyond it the oldest windows are forgotten first.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// A fixed-window failure counter keyed by client id.
#[derive(Debug)]
pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    windows: Mutex<HashMap<String, Window>>,
}

impl FailureLimiter {
    /// Allow `max_failures` failures per `window`.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        FailureLimiter { max_failures, window, windows: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds)` while `key` is throttled.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match windows.get(key) {
            Some(w) if w.failures >= self.max_failures => {
                let elapsed = w.started.elapsed();
                if elapsed < self.window { Err((self.window - elapsed).as_secs().max(1)) } else { Ok(()) }
            }
            _ => Ok(()),
        }
    }

    /// Count a failure for `key`.
    pub fn fail(&self, key: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_TRACKED && !windows.contains_key(key) {
            let window = self.window;
            windows.retain(|_, w| w.started.elapsed() < window);
            if windows.len() >= MAX_TRACKED {
                let oldest = windows.iter().min_by_key(|(_, w)| w.started).map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    windows.remove(&oldest);
                }
            }
        }
        let now = Instant::now();
        let entry = windows.entry(key.to_owned()).or_insert(Window { started: now, failures: 0 });
        if entry.started.elapsed() >= self.window {
            *entry = Window { started: now, failures: 0 };
        }
        entry.failures += 1;
    }

    /// Forget `key`'s failures after a success.
    pub fn succeed(&self, key: &str) {
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
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
}
