//! kluis-hooks: webhooks as the Standard Webhooks specification
//! (<https://www.standardwebhooks.com/>) has them. A tenant registers
//! endpoints (a URL, the event types it wants, optionally purposes); a change
//! to a person, a consent or an erasure writes one delivery per subscribed
//! endpoint in the change's own transaction (this crate's outbox); a worker
//! of the server claims due deliveries under a lease, signs and sends them,
//! and records every attempt, retrying with exponential backoff and jitter
//! for up to three days, in order per person.
//!
//! - [`events`]: the event types (the one list) and the fan-out to endpoints.
//! - [`endpoints`]: the endpoints, their rules and their sealed secrets.
//! - [`signing`]: secrets (`whsec_...`) and the `webhook-signature` value.
//! - [`guard`]: which addresses a delivery may never reach (SSRF).
//! - [`deliveries`]: the outbox, its claims, attempts, log and replays.
//! - [`schedule`]: the retry schedule.
//! - [`personal`]: the deliveries about a person, as a `PersonalData` holder.
//!
//! The HTTP client is the server's; this crate knows nothing of HTTP.

pub mod deliveries;
pub mod endpoints;
pub mod events;
pub mod guard;
pub mod mail;
pub mod personal;
pub mod schedule;
pub mod signing;

#[cfg(test)]
mod tests;

pub use personal::HooksData;

use std::time::Duration;

/// The operator's webhook settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Endpoints may use `http://` (`KLUIS_WEBHOOKS_ALLOW_HTTP`); otherwise `https://` only.
    pub allow_http: bool,
    /// Endpoints may resolve to loopback, private, link-local and metadata
    /// addresses (`KLUIS_WEBHOOKS_ALLOW_PRIVATE`; development and tests only).
    pub allow_private: bool,
    /// The first retry interval (`KLUIS_WEBHOOK_RETRY_BASE_SECS`); each next one doubles.
    pub retry_base: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { allow_http: false, allow_private: false, retry_base: Duration::from_secs(5) }
    }
}
