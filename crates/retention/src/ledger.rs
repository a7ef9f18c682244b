//! The erasure ledger: per tenant, a keyed hash of each erased person id and
//! when, nothing else, so that a restored backup can be erased again. The
//! hash is `HMAC-SHA256(tenant erasure key, person_id)`; the key is random,
//! made with the tenant (the setup registry) and kept in `erasure_keys`.
//! Receipts name the person by the same hash: nothing that outlives a person
//! holds their id.

use diesel::prelude::*;
use hmac::{Hmac, Mac};
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::{StoreResultExt, UniqueRow};
use kluis_store::schema::{erasure_keys as k, erasure_ledger as l};
use sha2::Sha256;
use time::PrimitiveDateTime;

/// Make the tenant's erasure key unless it has one (tenant setup).
pub fn ensure_key(conn: &mut Db, tenant: &TenantId) -> Result<()> {
    let exists: Option<String> = k::table.find(tenant.as_str()).select(k::tenant_id).unique_row(conn).domain()?;
    if exists.is_some() {
        return Ok(());
    }
    let mut key = [0u8; 32];
    kluis_store::crypto::fill_random(&mut key).map_err(|e| DomainError::Internal(e.to_string()))?;
    diesel::insert_into(k::table)
        .values((k::tenant_id.eq(tenant.as_str()), k::key.eq(key.to_vec()), k::created_at.eq(kluis_core::time::now())))
        .execute(conn)
        .domain()?;
    Ok(())
}

/// The keyed hash that names `person` in the ledger and in receipts.
pub fn subject_hash(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<String> {
    let key: Option<Vec<u8>> = k::table.find(tenant.as_str()).select(k::key).unique_row(conn).domain()?;
    let key = key.ok_or_else(|| DomainError::Internal(format!("tenant {tenant} has no erasure key")))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| DomainError::Internal(e.to_string()))?;
    mac.update(person.as_str().as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// Enter an erased person (by hash) in the ledger; a person erased again
/// after a restore keeps their first entry.
pub fn record(conn: &mut Db, tenant: &TenantId, hash: &str, at: PrimitiveDateTime) -> Result<()> {
    let known: Option<String> =
        l::table.find((tenant.as_str(), hash)).select(l::subject_hash).unique_row(conn).domain()?;
    if known.is_none() {
        diesel::insert_into(l::table)
            .values((l::tenant_id.eq(tenant.as_str()), l::subject_hash.eq(hash), l::erased_at.eq(at)))
            .execute(conn)
            .domain()?;
    }
    Ok(())
}

/// Whether `person` was erased in `tenant` (a restore asks this of every
/// person it brings back).
pub fn was_erased(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<bool> {
    let hash = subject_hash(conn, tenant, person)?;
    let found: Option<String> =
        l::table.find((tenant.as_str(), hash)).select(l::subject_hash).unique_row(conn).domain()?;
    Ok(found.is_some())
}

/// The ledger of a tenant: hash and when, oldest first.
pub fn entries(conn: &mut Db, tenant: &TenantId) -> Result<Vec<(String, PrimitiveDateTime)>> {
    l::table
        .filter(l::tenant_id.eq(tenant.as_str()))
        .order((l::erased_at.asc(), l::subject_hash.asc()))
        .select((l::subject_hash, l::erased_at))
        .load(conn)
        .domain()
}
