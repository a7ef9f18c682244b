//! The tenant's audit log (`audit:read`): its entries, newest first, and
//! the verification of its chain. The `kluis audit` CLI, which has a
//! connection but no caller, verifies with [`verify_chain`] and exports with
//! [`export`].

use kluis_audit::{EventFilter, EventRecord, Verification};
use kluis_core::page::Page;
use kluis_core::{Result, TenantId};
use kluis_store::Db;

use crate::{App, AppResult, Scoped};

/// The tenant's entries matching `filter`, newest first, `limit` at a time
/// before the entry `before` (a seq).
pub async fn list(
    app: &App,
    caller: &Scoped<'_>,
    filter: EventFilter,
    limit: i64,
    before: Option<i64>,
) -> AppResult<Page<EventRecord>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| kluis_audit::list(conn, &tenant, &filter, limit, before)).await
}

/// Walk the caller's tenant's chain and report the first broken entry, if any.
pub async fn verify(app: &App, caller: &Scoped<'_>) -> AppResult<Verification> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| verify_chain(conn, &tenant)).await
}

/// Walk `tenant`'s chain on `conn` (what [`verify`] does, for the CLI).
pub fn verify_chain(conn: &mut Db, tenant: &TenantId) -> Result<Verification> {
    kluis_audit::verify(conn, tenant)
}

/// Hand every entry of `tenant` to `each`, in chain order, a page at a time
/// (exports of any size); returns how many there were.
pub fn export(conn: &mut Db, tenant: &TenantId, each: impl FnMut(EventRecord)) -> Result<u64> {
    kluis_audit::for_each(conn, tenant, each)
}
