//! Erasure (Art. 17), one orchestration for every reason (a request, the end
//! of a retention period, the person's own request): in one transaction,
//! refuse a held person, note who must be told, run every holder's `erase`
//! stage by stage (the data that hangs off the person, then the person's row,
//! then, after the erasure's audit entry, what links audit entries to them),
//! enter the person in the erasure ledger and keep a receipt. Stages keep any
//! row from vanishing by a cascade uncounted: the receipt reports every row
//! that existed.
//!
//! Self-service erasure with a grace period lives here too: a pending
//! request per person ([`request`], [`cancel`]) that a worker carries out
//! once [`due`].

use std::collections::BTreeMap;
use std::sync::Arc;

use diesel::prelude::*;
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError, UniqueRow};
use kluis_store::personal::{ErasureStage, Notice, PersonalData};
use kluis_store::schema::self_erasures as p;
use kluis_store::{Db, write_tx};
use time::PrimitiveDateTime;

use crate::receipts::{ErasedBy, Reason, Receipt};
use crate::{holds, ledger, receipts};

/// Why and by whom an erasure runs.
#[derive(Debug, Clone)]
pub struct Erasure {
    /// Why.
    pub reason: Reason,
    /// By whom (never the person's own id).
    pub by: ErasedBy,
}

/// Erase `person` of `tenant` from every holder, inside the caller's
/// transaction (a savepoint when nested), and return the receipt.
/// `on_data_erased` runs once the data is gone and before the audit links
/// are: the use case writes the erasure's own audit entry there, linked
/// like every other entry and made unlinkable with them.
///
/// Refuses a person under an active legal hold (409 `legal_hold`) and one
/// the holders know nothing of (404).
pub fn erase(
    conn: &mut Db,
    holders: &[Arc<dyn PersonalData>],
    tenant: &TenantId,
    person: &PersonId,
    erasure: &Erasure,
    on_data_erased: impl FnOnce(&mut Db) -> Result<()>,
) -> Result<Receipt> {
    write_tx(conn, |conn| -> Result<Receipt, TxError> {
        if let Some(hold) = holds::active(conn, tenant, person)? {
            return Err(holds::refusal(&hold).into());
        }
        let mut notify: Vec<Notice> = Vec::new();
        for holder in holders {
            notify.extend(holder.notify(conn, tenant, person)?);
        }
        notify.sort();
        notify.dedup();
        let mut ordered: Vec<&Arc<dyn PersonalData>> = holders.iter().collect();
        ordered.sort_by_key(|h| h.erasure_stage());
        let mut removed: BTreeMap<String, u64> = BTreeMap::new();
        let mut data_rows = 0u64;
        let mut on_data_erased = Some(on_data_erased);
        for holder in ordered {
            let stage = holder.erasure_stage();
            if stage == ErasureStage::Unlink
                && let Some(entry) = on_data_erased.take()
            {
                if data_rows == 0 {
                    return Err(DomainError::NotFound.into());
                }
                entry(conn)?;
            }
            for (table, n) in holder.erase(conn, tenant, person)?.rows {
                if stage != ErasureStage::Unlink {
                    data_rows += n;
                }
                *removed.entry(table.to_owned()).or_default() += n;
            }
        }
        if on_data_erased.is_some() {
            return Err(DomainError::Internal("no holder unlinks the audit log".into()).into());
        }
        let erased_at = kluis_core::time::now();
        let subject_ref = ledger::subject_hash(conn, tenant, person)?;
        ledger::record(conn, tenant, &subject_ref, erased_at)?;
        let receipt = Receipt {
            id: kluis_core::new_id(),
            subject_ref,
            reason: erasure.reason,
            by: erasure.by.clone(),
            removed,
            notify,
            erased_at,
        };
        receipts::insert(conn, tenant, &receipt)?;
        Ok(receipt)
    })
    .map_err(DomainError::from)
}

/// A person's own erasure request, waiting out the tenant's grace period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Asked.
    pub requested_at: PrimitiveDateTime,
    /// Carried out at or soon after.
    pub due_at: PrimitiveDateTime,
}

/// Record `person`'s request to be erased after `grace`; a request already
/// pending stands as it is (asking twice does not postpone it).
pub fn request(conn: &mut Db, tenant: &TenantId, person: &PersonId, grace: time::Duration) -> Result<Pending> {
    if let Some(pending) = pending(conn, tenant, person)? {
        return Ok(pending);
    }
    let now = kluis_core::time::now();
    let pending = Pending { requested_at: now, due_at: now + grace };
    diesel::insert_into(p::table)
        .values((
            p::tenant_id.eq(tenant.as_str()),
            p::person_id.eq(person.as_str()),
            p::requested_at.eq(pending.requested_at),
            p::due_at.eq(pending.due_at),
        ))
        .execute(conn)
        .domain()?;
    Ok(pending)
}

/// The person's pending request, if any.
pub fn pending(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Option<Pending>> {
    let found: Option<(PrimitiveDateTime, PrimitiveDateTime)> = p::table
        .find((tenant.as_str(), person.as_str()))
        .select((p::requested_at, p::due_at))
        .unique_row(conn)
        .domain()?;
    Ok(found.map(|(requested_at, due_at)| Pending { requested_at, due_at }))
}

/// Cancel the person's pending request (404 when there is none).
pub fn cancel(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Pending> {
    let found = pending(conn, tenant, person)?.ok_or(DomainError::NotFound)?;
    diesel::delete(p::table.find((tenant.as_str(), person.as_str()))).execute(conn).domain()?;
    Ok(found)
}

/// Requests due at `now`, across tenants, oldest first, at most `limit`.
/// The table holds only pending requests, so this scans a handful of rows.
pub fn due(conn: &mut Db, now: PrimitiveDateTime, limit: i64) -> Result<Vec<(TenantId, PersonId)>> {
    let rows: Vec<(String, String)> = p::table
        .filter(p::due_at.le(now))
        .order(p::due_at.asc())
        .limit(limit)
        .select((p::tenant_id, p::person_id))
        .load(conn)
        .domain()?;
    Ok(rows.into_iter().map(|(tenant, person)| (TenantId(tenant), PersonId(person))).collect())
}

/// Delete the person's pending request (erasure); rows removed.
pub(crate) fn erase_pending(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(p::table.find((tenant.as_str(), person.as_str()))).execute(conn).domain()?;
    Ok(n as u64)
}
