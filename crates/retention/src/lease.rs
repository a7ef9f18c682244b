//! A tenant's retention head: one row made with the tenant (its default
//! policies are seeded once, with it), and the lease on it that keeps
//! several instances on one PostgreSQL from sweeping the same tenant at
//! once. Taking the lease is one conditional `UPDATE` of that row: on
//! PostgreSQL a second taker waits for the first's row lock and then finds
//! the lease held; on SQLite writers are serialised anyway.

use diesel::prelude::*;
use kluis_core::{Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError, is_unique_violation};
use kluis_store::schema::retention_heads as h;
use kluis_store::{Db, write_tx};
use time::Duration;

/// Make the tenant's head row unless it exists; true when this call made it
/// (the caller then seeds the defaults). Safe under concurrency.
pub fn ensure_head(conn: &mut Db, tenant: &TenantId) -> Result<bool> {
    let exists: Option<String> = h::table.find(tenant.as_str()).select(h::tenant_id).first(conn).optional().domain()?;
    if exists.is_some() {
        return Ok(false);
    }
    let now = kluis_core::time::now();
    // A savepoint: losing the race must not abort the caller's transaction.
    let inserted = write_tx(conn, |conn| {
        diesel::insert_into(h::table).values((h::tenant_id.eq(tenant.as_str()), h::seeded_at.eq(now))).execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(TxError::from(e).into()),
    }
}

/// Take the tenant's sweep lease for `holder` until `ttl` from now: true
/// when it was free, expired or already `holder`'s; false while another
/// holds it.
pub fn acquire(conn: &mut Db, tenant: &TenantId, holder: &str, ttl: Duration) -> Result<bool> {
    let now = kluis_core::time::now();
    let taken = diesel::update(
        h::table
            .filter(h::tenant_id.eq(tenant.as_str()))
            .filter(h::lease_holder.is_null().or(h::lease_expires_at.lt(now)).or(h::lease_holder.eq(holder))),
    )
    .set((h::lease_holder.eq(holder), h::lease_expires_at.eq(now + ttl)))
    .execute(conn)
    .domain()?;
    Ok(taken == 1)
}

/// Extend `holder`'s lease by `ttl` from now; false when it is no longer theirs.
pub fn renew(conn: &mut Db, tenant: &TenantId, holder: &str, ttl: Duration) -> Result<bool> {
    let now = kluis_core::time::now();
    let renewed = diesel::update(h::table.filter(h::tenant_id.eq(tenant.as_str())).filter(h::lease_holder.eq(holder)))
        .set(h::lease_expires_at.eq(now + ttl))
        .execute(conn)
        .domain()?;
    Ok(renewed == 1)
}

/// Give the lease back (only `holder`'s own).
pub fn release(conn: &mut Db, tenant: &TenantId, holder: &str) -> Result<()> {
    diesel::update(h::table.filter(h::tenant_id.eq(tenant.as_str())).filter(h::lease_holder.eq(holder)))
        .set((h::lease_holder.eq(None::<String>), h::lease_expires_at.eq(None::<time::PrimitiveDateTime>)))
        .execute(conn)
        .domain()?;
    Ok(())
}
