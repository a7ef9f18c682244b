//! Erasure receipts: what each erasure removed (rows per table), when, by
//! whom (the kind of caller and its id; never the person erased, who is
//! named only by their ledger hash), why, and who must be told.

use std::collections::BTreeMap;

use diesel::prelude::*;
use kluis_core::page::Page;
use kluis_core::{DomainError, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::personal::Notice;
use kluis_store::schema::erasure_receipts as r;
use time::PrimitiveDateTime;

/// Why a person was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// On request, by a client or staff member (Art. 17 through the tenant).
    Request,
    /// Their retention period ended (a sweep).
    Retention,
    /// They asked themselves (`/v1/me/erasure`).
    SelfService,
}

impl Reason {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Request => "request",
            Reason::Retention => "retention",
            Reason::SelfService => "self_service",
        }
    }

    fn parse(text: &str) -> Result<Reason> {
        [Reason::Request, Reason::Retention, Reason::SelfService]
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| DomainError::Internal(format!("stored erasure reason {text} is unknown")))
    }
}

/// Who erased: the kind of caller (`client`, `operator`, `subject`,
/// `system`) and its id. A person erasing themselves has no id here; a
/// staff member is named by their audit reference, like in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasedBy {
    /// The kind of caller.
    pub kind: String,
    /// Its id, when it is not the person erased.
    pub id: Option<String>,
}

/// The receipt of one erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Receipt id (the erasure's id).
    pub id: String,
    /// The person, by the keyed hash of the erasure ledger.
    pub subject_ref: String,
    /// Why.
    pub reason: Reason,
    /// By whom.
    pub by: ErasedBy,
    /// Rows removed per table (every table a holder keeps, 0 included).
    pub removed: BTreeMap<String, u64>,
    /// Who must be told: the apps that referenced the person, the recipients.
    pub notify: Vec<Notice>,
    /// When.
    pub erased_at: PrimitiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = r)]
struct Row {
    tenant_id: String,
    id: String,
    subject_ref: String,
    reason: String,
    actor_kind: String,
    actor_id: Option<String>,
    removed: String,
    notify: String,
    erased_at: PrimitiveDateTime,
}

fn json_error(e: serde_json::Error) -> DomainError {
    DomainError::Internal(format!("receipt JSON: {e}"))
}

impl TryFrom<Row> for Receipt {
    type Error = DomainError;

    fn try_from(row: Row) -> Result<Receipt> {
        Ok(Receipt {
            reason: Reason::parse(&row.reason)?,
            removed: serde_json::from_str(&row.removed).map_err(json_error)?,
            notify: serde_json::from_str(&row.notify).map_err(json_error)?,
            id: row.id,
            subject_ref: row.subject_ref,
            by: ErasedBy { kind: row.actor_kind, id: row.actor_id },
            erased_at: row.erased_at,
        })
    }
}

/// Store a receipt, inside the erasure's transaction.
pub(crate) fn insert(conn: &mut Db, tenant: &TenantId, receipt: &Receipt) -> Result<()> {
    let row = Row {
        tenant_id: tenant.0.clone(),
        id: receipt.id.clone(),
        subject_ref: receipt.subject_ref.clone(),
        reason: receipt.reason.as_str().to_owned(),
        actor_kind: receipt.by.kind.clone(),
        actor_id: receipt.by.id.clone(),
        removed: serde_json::to_string(&receipt.removed).map_err(json_error)?,
        notify: serde_json::to_string(&receipt.notify).map_err(json_error)?,
        erased_at: receipt.erased_at,
    };
    diesel::insert_into(r::table).values(&row).execute(conn).domain()?;
    Ok(())
}

/// One receipt of the tenant.
pub fn get(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<Receipt> {
    r::table
        .filter(r::tenant_id.eq(tenant.as_str()))
        .filter(r::id.eq(id))
        .select(Row::as_select())
        .first(conn)
        .domain()?
        .try_into()
}

/// The tenant's receipts in the order of the erasures, `limit` at a time
/// after the id `after`.
pub fn list(conn: &mut Db, tenant: &TenantId, limit: i64, after: Option<&str>) -> Result<Page<Receipt>> {
    let mut query = r::table
        .filter(r::tenant_id.eq(tenant.as_str()))
        .order(r::id.asc())
        .limit(limit + 1)
        .select(Row::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(r::id.gt(after.to_owned()));
    }
    let rows: Vec<Row> = query.load(conn).domain()?;
    let receipts = rows.into_iter().map(Receipt::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(receipts, limit, |r| r.id.clone()))
}
