//! The hash chain: canonical form of an entry, its hash, and verification.

use diesel::prelude::*;
use kluis_core::{DomainError, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::schema::{audit_events, audit_heads};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::PrimitiveDateTime;
use time::macros::format_description;

/// `prev_hash` of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub(crate) struct EventRow {
    pub tenant_id: String,
    pub seq: i64,
    pub id: String,
    pub at: PrimitiveDateTime,
    pub actor_kind: String,
    pub actor_id: String,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub subject_ref: Option<String>,
    pub fields: String,
    pub purpose: Option<String>,
    pub request_id: Option<String>,
    pub ip_prefix: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// The hashed form: every column but the hashes, in a fixed order, with the
/// timestamp at microsecond precision (what both backends keep).
#[derive(Serialize)]
struct Canonical<'a> {
    tenant_id: &'a str,
    seq: i64,
    id: &'a str,
    at: String,
    actor_kind: &'a str,
    actor_id: &'a str,
    action: &'a str,
    target_kind: Option<&'a str>,
    target_id: Option<&'a str>,
    subject_ref: Option<&'a str>,
    fields: &'a str,
    purpose: Option<&'a str>,
    request_id: Option<&'a str>,
    ip_prefix: Option<&'a str>,
}

fn canonical_time(at: PrimitiveDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"))
        .unwrap_or_default()
}

/// `SHA-256(prev_hash || canonical JSON)` of `row`, hex.
pub(crate) fn hash_of(row: &EventRow) -> String {
    let canonical = Canonical {
        tenant_id: &row.tenant_id,
        seq: row.seq,
        id: &row.id,
        at: canonical_time(row.at),
        actor_kind: &row.actor_kind,
        actor_id: &row.actor_id,
        action: &row.action,
        target_kind: row.target_kind.as_deref(),
        target_id: row.target_id.as_deref(),
        subject_ref: row.subject_ref.as_deref(),
        fields: &row.fields,
        purpose: row.purpose.as_deref(),
        request_id: row.request_id.as_deref(),
        ip_prefix: row.ip_prefix.as_deref(),
    };
    let json = serde_json::to_vec(&canonical).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(row.prev_hash.as_bytes());
    hasher.update(&json);
    hex::encode(hasher.finalize())
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// True when every entry and the head agree.
    pub ok: bool,
    /// Entries checked and found intact.
    pub checked: i64,
    /// The first entry that is missing, moved or altered.
    pub first_broken_seq: Option<i64>,
}

const PAGE: i64 = 1000;

/// Walk a tenant's chain from the start: every seq present and in order,
/// every `prev_hash` the previous hash, every hash recomputable, and the
/// head at the last entry (which catches a removed tail).
pub fn verify(conn: &mut Db, tenant: &TenantId) -> Result<Verification> {
    let head: Option<(i64, String)> = audit_heads::table
        .find(tenant.as_str())
        .select((audit_heads::seq, audit_heads::hash))
        .first(conn)
        .optional()
        .domain()?;
    let Some((head_seq, head_hash)) = head else {
        return Err(DomainError::NotFound);
    };
    let broken = |checked, seq| Ok(Verification { ok: false, checked, first_broken_seq: Some(seq) });
    let mut expected = 1i64;
    let mut prev = GENESIS.to_owned();
    while expected <= head_seq {
        let rows: Vec<EventRow> = audit_events::table
            .filter(audit_events::tenant_id.eq(tenant.as_str()))
            .filter(audit_events::seq.ge(expected))
            .filter(audit_events::seq.le(head_seq))
            .order(audit_events::seq.asc())
            .limit(PAGE)
            .select(EventRow::as_select())
            .load(conn)
            .domain()?;
        if rows.is_empty() {
            return broken(expected - 1, expected);
        }
        for row in rows {
            if row.seq != expected || row.prev_hash != prev || hash_of(&row) != row.hash {
                return broken(expected - 1, expected);
            }
            prev = row.hash;
            expected += 1;
        }
    }
    if prev != head_hash {
        return broken(head_seq, head_seq.max(1));
    }
    Ok(Verification { ok: true, checked: head_seq, first_broken_seq: None })
}
