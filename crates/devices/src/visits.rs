//! Visit statistics without tracking people: a visit adds one to a counter
//! keyed by day, path, truncated IP (IPv4 /16, IPv6 /48) and browser family.
//! No person, cookie, query string or full address is ever stored.

use std::collections::BTreeMap;
use std::net::IpAddr;

use diesel::prelude::*;
use kluis_core::{DomainError, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError, is_unique_violation};
use kluis_store::personal::{Purge, PurgeAction};
use kluis_store::schema::visits as v;
use kluis_store::{Db, write_tx};
use time::Date;
use time::macros::format_description;

/// How counts are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// Per day (`2026-11-22`).
    Day,
    /// Per ISO week (`2026-W47`).
    Week,
    /// Per month (`2026-11`).
    Month,
}

/// One count of the statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Count {
    /// The period.
    pub period: String,
    /// The path.
    pub path: String,
    /// Visits.
    pub visits: i64,
}

/// The path as counted: no query string or fragment (they can carry
/// personal data), and every segment that looks personal replaced by a
/// placeholder: an e-mail address by `:email`, a UUID by `:id`, a run of six
/// or more digits (phone, customer, order or card number) by `:number`. A
/// card number split over several segments is refused.
fn clean_path(path: &str) -> Result<String> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let ok = path.starts_with('/') && path.len() <= 512 && !path.chars().any(char::is_control);
    if !ok {
        return Err(DomainError::invalid("path", "must be an absolute path such as /pricing, at most 512 characters"));
    }
    let cleaned: Vec<&str> = path.split('/').map(placeholder).collect();
    let cleaned = cleaned.join("/");
    if kluis_core::validate::contains_card_number(&cleaned) {
        return Err(DomainError::invalid(
            "path",
            "looks like it holds a payment card number, which kluis never stores",
        ));
    }
    Ok(cleaned)
}

/// A path segment as counted: itself, or the placeholder of what it holds.
fn placeholder(segment: &str) -> &str {
    let decoded = segment.replace("%40", "@").replace("%2540", "@");
    let longest_digits = segment.split(|c: char| !c.is_ascii_digit()).map(str::len).max().unwrap_or(0);
    if decoded.contains('@') {
        ":email"
    } else if is_uuid(segment) {
        ":id"
    } else if longest_digits >= 6 {
        ":number"
    } else {
        segment
    }
}

/// A UUID, with or without dashes, any version.
fn is_uuid(segment: &str) -> bool {
    let hex: String = segment.chars().filter(|c| *c != '-').collect();
    let dashed = segment.len() == 36 && [8, 13, 18, 23].iter().all(|&i| segment.as_bytes().get(i) == Some(&b'-'));
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) && (dashed || segment.len() == 32)
}

/// Count a visit.
pub fn record(
    conn: &mut Db,
    tenant: &TenantId,
    path: &str,
    user_agent: Option<&str>,
    ip: IpAddr,
    day: Date,
) -> Result<()> {
    let path = clean_path(path)?;
    let family = user_agent
        .and_then(|ua| woothee::parser::Parser::new().parse(ua))
        .map(|p| p.name)
        .filter(|n| *n != "UNKNOWN")
        .unwrap_or("Other")
        .to_owned();
    let prefix = kluis_core::net::ip_prefix(ip).to_string();
    let day =
        day.format(format_description!("[year]-[month]-[day]")).map_err(|e| DomainError::Internal(e.to_string()))?;
    write_tx(conn, |conn| -> Result<(), TxError> {
        let key = v::table
            .filter(v::tenant_id.eq(tenant.as_str()))
            .filter(v::day.eq(&day))
            .filter(v::path.eq(&path))
            .filter(v::ip_prefix.eq(&prefix))
            .filter(v::ua_family.eq(&family));
        if diesel::update(key).set(v::count.eq(v::count + 1)).execute(conn)? == 1 {
            return Ok(());
        }
        // First visit of its kind today; a concurrent first one may win the
        // insert, and then this one counts by update (the savepoint keeps
        // the transaction usable on PostgreSQL).
        let inserted = write_tx(conn, |conn| {
            diesel::insert_into(v::table)
                .values((
                    v::tenant_id.eq(tenant.as_str()),
                    v::day.eq(&day),
                    v::path.eq(&path),
                    v::ip_prefix.eq(&prefix),
                    v::ua_family.eq(&family),
                    v::count.eq(1i64),
                ))
                .execute(conn)
        });
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => {
                diesel::update(key).set(v::count.eq(v::count + 1)).execute(conn)?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    })
    .map_err(DomainError::from)
}

fn period(day: &str, granularity: Granularity) -> String {
    let Ok(date) = Date::parse(day, format_description!("[year]-[month]-[day]")) else { return day.to_owned() };
    match granularity {
        Granularity::Day => day.to_owned(),
        Granularity::Week => {
            let (year, week, _) = date.to_iso_week_date();
            format!("{year}-W{week:02}")
        }
        Granularity::Month => day[..7].to_owned(),
    }
}

/// Visits per period and path between two days (inclusive), by period then path.
pub fn stats(conn: &mut Db, tenant: &TenantId, from: Date, to: Date, granularity: Granularity) -> Result<Vec<Count>> {
    let format = format_description!("[year]-[month]-[day]");
    let (from, to) = (from.format(format).unwrap_or_default(), to.format(format).unwrap_or_default());
    let rows: Vec<(String, String, i64)> = v::table
        .filter(v::tenant_id.eq(tenant.as_str()))
        .filter(v::day.ge(&from))
        .filter(v::day.le(&to))
        .select((v::day, v::path, v::count))
        .load(conn)
        .domain()?;
    let mut sums: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (day, path, count) in rows {
        *sums.entry((period(&day, granularity), path)).or_default() += count;
    }
    Ok(sums.into_iter().map(|((period, path), visits)| Count { period, path, visits }).collect())
}

/// Delete the statistics of the days a retention purge reaches: those
/// before `created_before`, oldest day first, whole days, until `limit`
/// rows; dry, count them all. They hold no person, so a purge of persons or
/// of idle rows does not reach them, and there is nothing more in them to
/// anonymise.
pub fn purge(conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<u64> {
    let (Some(before), None, None, PurgeAction::Delete) =
        (purge.due.created_before, purge.due.idle, purge.due.persons, purge.action)
    else {
        return Ok(0);
    };
    let day = before
        .date()
        .format(format_description!("[year]-[month]-[day]"))
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    let due = || v::table.filter(v::tenant_id.eq(tenant.as_str())).filter(v::day.lt(day.clone()));
    if purge.dry_run {
        let n: i64 = due().count().get_result(conn).domain()?;
        return Ok(n.unsigned_abs());
    }
    let mut removed = 0u64;
    while removed < purge.limit {
        let oldest: Option<String> = due().select(v::day).order(v::day.asc()).first(conn).optional().domain()?;
        let Some(oldest) = oldest else { break };
        let n = diesel::delete(v::table.filter(v::tenant_id.eq(tenant.as_str())).filter(v::day.eq(oldest)))
            .execute(conn)
            .domain()?;
        removed += n as u64;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_segments_become_placeholders() {
        for (path, counted) in [
            ("/klant/anna@devries.example/status", "/klant/:email/status"),
            ("/klant/anna%40devries.example/status", "/klant/:email/status"),
            ("/orders/0196f3a2-7c1e-7abc-9def-0123456789ab", "/orders/:id"),
            ("/orders/0196f3a27c1e7abc9def0123456789ab/items", "/orders/:id/items"),
            ("/bel/0612345678", "/bel/:number"),
            ("/klant/nr-123456/facturen", "/klant/:number/facturen"),
            ("/blog/2026/12/02/post-17", "/blog/2026/12/02/post-17"),
            ("/pricing", "/pricing"),
            ("/", "/"),
        ] {
            assert_eq!(clean_path(path).unwrap(), counted, "{path}");
        }
    }

    #[test]
    fn paths_lose_their_query_and_must_be_absolute() {
        assert_eq!(clean_path("/pricing?email=a@b.nl#x").unwrap(), "/pricing");
        assert!(clean_path("pricing").is_err());
        assert_eq!(clean_path("/card/4111111111111111").unwrap(), "/card/:number");
        assert!(clean_path("/card/4111/1111/1111/1111").is_err(), "a card split over segments is refused");
        assert_eq!(period("2026-11-22", Granularity::Week), "2026-W47");
        assert_eq!(period("2026-11-22", Granularity::Month), "2026-11");
    }
}
