//! Per-tenant setup in one place: every piece a tenant needs before its
//! first request (its audit chain head, its consent head with the ledger
//! sequence and unsubscribe key, its default purposes, the key of its
//! erasure ledger, its retention head and default policies, the head of its people feed). [`init_tenant`] runs
//! the registry in the transaction that creates a tenant; [`init_existing`]
//! runs it at migration for tenants made before a piece existed. Every piece
//! is idempotent, so nothing is made lazily on a request path.

use kluis_core::{Result, TenantId};
use kluis_store::Db;
use kluis_store::error::TxError;

/// One piece of per-tenant setup.
pub struct TenantSetup {
    /// What it makes, for logs.
    pub name: &'static str,
    /// Make it unless it exists.
    pub init: fn(&mut Db, &TenantId) -> Result<()>,
}

/// Every piece, in the order they run (the audit chain first: the others
/// record what they make in it).
pub const REGISTRY: &[TenantSetup] = &[
    TenantSetup { name: "audit chain", init: kluis_audit::ensure_chain },
    TenantSetup { name: "consent head and default purposes", init: kluis_consent::setup::init },
    TenantSetup { name: "erasure key", init: kluis_retention::ledger::ensure_key },
    TenantSetup { name: "retention head and default policies", init: crate::retention::init },
    TenantSetup { name: "backup schedule", init: kluis_backup::backups::ensure_schedule },
    TenantSetup { name: "people feed head", init: kluis_people::changes::ensure_head },
];

/// Run the registry for a new tenant, inside the caller's transaction.
pub fn init_tenant(conn: &mut Db, tenant: &TenantId) -> Result<()> {
    for piece in REGISTRY {
        (piece.init)(conn, tenant)?;
    }
    Ok(())
}

/// Run the registry for every existing tenant (each in its own transaction);
/// returns how many tenants were visited.
pub fn init_existing(conn: &mut Db) -> Result<usize> {
    let tenants = kluis_store::tenancy::tenants::all_ids(conn)?;
    for tenant in &tenants {
        kluis_store::write_tx(conn, |conn| init_tenant(conn, tenant).map_err(TxError))?;
    }
    Ok(tenants.len())
}
