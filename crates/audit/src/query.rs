//! Reading a tenant's log, newest first, with filters.

use diesel::prelude::*;
use kluis_core::page::Page;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::schema::audit_events;
use time::PrimitiveDateTime;

use crate::chain::EventRow;
use crate::subject;

/// Filters of [`list`]; all optional.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this caller's entries.
    pub actor_id: Option<String>,
    /// Only this action (`client.create`).
    pub action: Option<String>,
    /// Only entries about this person (while their subject key exists).
    pub person: Option<PersonId>,
    /// At or after.
    pub from: Option<PrimitiveDateTime>,
    /// Before.
    pub to: Option<PrimitiveDateTime>,
}

/// One entry of the log.
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// Position in the tenant's chain (gapless from 1).
    pub seq: i64,
    /// Entry id.
    pub id: String,
    /// When it happened.
    pub at: PrimitiveDateTime,
    /// `operator`, `client`, `subject` or `system`.
    pub actor_kind: String,
    /// The caller's id.
    pub actor_id: String,
    /// Dotted action name.
    pub action: String,
    /// What kind of thing was touched.
    pub target_kind: Option<String>,
    /// Its id (never a person's).
    pub target_id: Option<String>,
    /// HMAC reference of the person concerned.
    pub subject_ref: Option<String>,
    /// Names of the fields read or changed.
    pub fields: Vec<String>,
    /// Processing purpose.
    pub purpose: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Truncated IP.
    pub ip_prefix: Option<String>,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl From<EventRow> for EventRecord {
    fn from(row: EventRow) -> Self {
        EventRecord {
            seq: row.seq,
            id: row.id,
            at: row.at,
            actor_kind: row.actor_kind,
            actor_id: row.actor_id,
            action: row.action,
            target_kind: row.target_kind,
            target_id: row.target_id,
            subject_ref: row.subject_ref,
            fields: serde_json::from_str(&row.fields).unwrap_or_default(),
            purpose: row.purpose,
            request_id: row.request_id,
            ip_prefix: row.ip_prefix,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}

/// Entries of `tenant`, newest first, `limit` at a time before seq `before`.
pub fn list(
    conn: &mut Db,
    tenant: &TenantId,
    filter: &EventFilter,
    limit: i64,
    before: Option<i64>,
) -> Result<Page<EventRecord>> {
    let mut query = audit_events::table
        .filter(audit_events::tenant_id.eq(tenant.as_str()))
        .select(EventRow::as_select())
        .order(audit_events::seq.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(person) = &filter.person {
        match subject::subject_ref(conn, tenant, person)? {
            Some(reference) => query = query.filter(audit_events::subject_ref.eq(reference)),
            // No key: nothing recorded about them, or they were forgotten.
            None => return Ok(Page { items: Vec::new(), next_cursor: None }),
        }
    }
    if let Some(actor_id) = &filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor_id.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::at.lt(to));
    }
    if let Some(before) = before {
        query = query.filter(audit_events::seq.lt(before));
    }
    let rows = query.load(conn).domain()?;
    let records = rows.into_iter().map(EventRecord::from).collect();
    Ok(Page::from_rows(records, limit, |r: &EventRecord| r.seq.to_string()))
}

/// Every entry of `tenant` in chain order, handed to `each` a page at a time
/// (for exports of any size).
pub fn for_each(conn: &mut Db, tenant: &TenantId, mut each: impl FnMut(EventRecord)) -> Result<u64> {
    let mut after = 0i64;
    let mut count = 0u64;
    loop {
        let rows: Vec<EventRow> = audit_events::table
            .filter(audit_events::tenant_id.eq(tenant.as_str()))
            .filter(audit_events::seq.gt(after))
            .order(audit_events::seq.asc())
            .limit(1000)
            .select(EventRow::as_select())
            .load(conn)
            .domain()?;
        let Some(last) = rows.last() else { return Ok(count) };
        after = last.seq;
        for row in rows {
            count += 1;
            each(EventRecord::from(row));
        }
    }
}

/// Every entry about the person with `reference` or made by them, in chain
/// order (their export).
pub(crate) fn about(conn: &mut Db, tenant: &TenantId, reference: &str) -> Result<Vec<EventRecord>> {
    let rows: Vec<EventRow> = audit_events::table
        .filter(audit_events::tenant_id.eq(tenant.as_str()))
        .filter(
            audit_events::subject_ref
                .eq(reference)
                .or(audit_events::actor_kind.eq("subject").and(audit_events::actor_id.eq(reference))),
        )
        .order(audit_events::seq.asc())
        .select(EventRow::as_select())
        .load(conn)
        .domain()?;
    Ok(rows.into_iter().map(EventRecord::from).collect())
}

/// An entry as a person's export shows it.
pub(crate) fn entry_json(e: &EventRecord) -> serde_json::Value {
    let at = kluis_core::time::utc(e.at).format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    serde_json::json!({
        "seq": e.seq,
        "id": e.id,
        "at": at,
        "actor_kind": e.actor_kind,
        "actor_id": e.actor_id,
        "action": e.action,
        "target_kind": e.target_kind,
        "target_id": e.target_id,
        "subject_ref": e.subject_ref,
        "fields": e.fields,
        "purpose": e.purpose,
        "request_id": e.request_id,
        "ip_prefix": e.ip_prefix,
    })
}
