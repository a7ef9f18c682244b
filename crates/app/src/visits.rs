//! Visit statistics that track nobody: a page view adds one to a counter
//! keyed by day, path, truncated IP and browser family.

use std::net::IpAddr;

use kluis_devices::visits::{self, Count, Granularity};
use time::Date;

use crate::{App, AppError, AppResult, Scoped};

/// A page view to count.
#[derive(Debug, Clone)]
pub struct Visit {
    /// The path viewed (a query string is dropped).
    pub path: String,
    /// Where the visitor came from: checked, never stored.
    pub referrer: Option<String>,
    /// The visitor's User-Agent (only its browser family is counted).
    pub user_agent: Option<String>,
    /// The visitor's IP as reported by a site's backend; without it, the
    /// caller's own.
    pub ip: Option<String>,
}

/// Count a page view of today; the IP is truncated before storage.
pub async fn record(app: &App, caller: &Scoped<'_>, visit: Visit) -> AppResult<()> {
    let ip: IpAddr = match visit.ip.as_deref() {
        Some(text) => text.trim().parse().map_err(|_| AppError::invalid("ip", "must be an IPv4 or IPv6 address"))?,
        None => caller.ctx.ip().ok_or_else(|| AppError::invalid("ip", "no client address known"))?,
    };
    if let Some(referrer) = &visit.referrer
        && !referrer.is_empty()
        && !kluis_core::validate::is_http_url(referrer)
    {
        return Err(AppError::invalid("referrer", "must be an http or https URL"));
    }
    let day = time::OffsetDateTime::now_utc().date();
    let tenant = caller.tenant.clone();
    app.in_transaction(move |conn| {
        Ok(visits::record(conn, &tenant, &visit.path, visit.user_agent.as_deref(), ip, day)?)
    })
    .await
}

/// Visits per period and path from `from` to `to` (inclusive).
pub async fn stats(
    app: &App,
    caller: &Scoped<'_>,
    from: Date,
    to: Date,
    granularity: Granularity,
) -> AppResult<Vec<Count>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| visits::stats(conn, &tenant, from, to, granularity)).await
}
