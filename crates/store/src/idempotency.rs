//! Stored answers to POSTs sent with an `Idempotency-Key`, per caller, for
//! 24 hours. A key is claimed with a pending row before the request runs, so
//! a concurrent duplicate is told the first is still in flight rather than
//! running twice.

use diesel::prelude::*;
use kluis_core::{DomainError, Result};
use time::Duration;

use crate::error::{StoreResultExt, TxError, is_unique_violation};
use crate::schema::idempotency_keys as k;
use crate::{Db, write_tx};

/// How long a key is remembered.
pub const RETENTION: Duration = Duration::hours(24);

/// Who sent the request: the tenant (empty for the operator) and the client.
#[derive(Debug, Clone)]
pub struct Owner {
    /// Tenant id, or empty for the operator.
    pub tenant: String,
    /// Client id.
    pub caller: String,
}

/// A stored answer.
#[derive(Debug, Clone)]
pub struct Stored {
    /// HTTP status.
    pub status: u16,
    /// Headers worth replaying (JSON object of name to value).
    pub headers: String,
    /// The body.
    pub body: Vec<u8>,
}

/// What claiming a key found.
#[derive(Debug)]
pub enum Claim {
    /// First use: run the request, then [`complete`] or [`release`].
    New,
    /// The same request was answered before: replay this.
    Replay(Stored),
    /// The key was used with another request.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
}

type Row = (String, Option<i32>, Option<String>, Option<Vec<u8>>);

/// Claim `key` for a request whose method, path and body hash to `request_hash`.
pub fn claim(conn: &mut Db, owner: &Owner, key: &str, request_hash: &str) -> Result<Claim> {
    let now = kluis_core::time::now();
    write_tx(conn, |conn| -> Result<Claim, TxError> {
        diesel::delete(
            k::table
                .filter(k::tenant_id.eq(&owner.tenant))
                .filter(k::caller_id.eq(&owner.caller))
                .filter(k::key.eq(key))
                .filter(k::created_at.lt(now - RETENTION)),
        )
        .execute(conn)?;
        let found: Option<Row> = k::table
            .filter(k::tenant_id.eq(&owner.tenant))
            .filter(k::caller_id.eq(&owner.caller))
            .filter(k::key.eq(key))
            .select((k::request_hash, k::status, k::headers, k::body))
            .first(conn)
            .optional()?;
        Ok(match found {
            Some((hash, _, _, _)) if hash != request_hash => Claim::Mismatch,
            Some((_, Some(status), headers, body)) => Claim::Replay(Stored {
                status: u16::try_from(status).unwrap_or(500),
                headers: headers.unwrap_or_else(|| "{}".into()),
                body: body.unwrap_or_default(),
            }),
            Some((_, None, _, _)) => Claim::InFlight,
            None => {
                let inserted = diesel::insert_into(k::table)
                    .values((
                        k::tenant_id.eq(&owner.tenant),
                        k::caller_id.eq(&owner.caller),
                        k::key.eq(key),
                        k::request_hash.eq(request_hash),
                        k::created_at.eq(now),
                    ))
                    .execute(conn);
                match inserted {
                    Ok(_) => Claim::New,
                    // Another request claimed it between our read and insert.
                    Err(e) if is_unique_violation(&e) => Claim::InFlight,
                    Err(e) => return Err(e.into()),
                }
            }
        })
    })
    .map_err(DomainError::from)
}

/// Store the answer of a claimed key.
pub fn complete(conn: &mut Db, owner: &Owner, key: &str, stored: &Stored) -> Result<()> {
    diesel::update(
        k::table.filter(k::tenant_id.eq(&owner.tenant)).filter(k::caller_id.eq(&owner.caller)).filter(k::key.eq(key)),
    )
    .set((
        k::status.eq(Some(i32::from(stored.status))),
        k::headers.eq(Some(&stored.headers)),
        k::body.eq(Some(&stored.body)),
    ))
    .execute(conn)
    .domain()?;
    Ok(())
}

/// Give a claimed key back (the request failed in a way a retry may fix).
pub fn release(conn: &mut Db, owner: &Owner, key: &str) -> Result<()> {
    diesel::delete(
        k::table
            .filter(k::tenant_id.eq(&owner.tenant))
            .filter(k::caller_id.eq(&owner.caller))
            .filter(k::key.eq(key))
            .filter(k::status.is_null()),
    )
    .execute(conn)
    .domain()?;
    Ok(())
}

/// Forget the stored answers of one caller of a tenant (erasure of a
/// person, whose own requests are stored under their id); rows removed.
pub fn forget_caller(conn: &mut Db, tenant: &kluis_core::TenantId, caller: &str) -> Result<u64> {
    let n = diesel::delete(k::table.filter(k::tenant_id.eq(tenant.as_str())).filter(k::caller_id.eq(caller)))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}
