//! The outbox: messages written in the transaction of the change that causes
//! them (so a change never happens without its message, nor a message
//! without its change) and delivered by a worker with retries and backoff.
//! A message stays until it is delivered: nothing is lost on restart. The
//! payload is sealed under the master key: it holds an address and often a
//! single-use token.

use diesel::prelude::*;
use kluis_core::{DomainError, PersonId, Result, TenantId};
use time::{Duration, PrimitiveDateTime};

use crate::Db;
use crate::crypto::MasterKey;
use crate::error::StoreResultExt;
use crate::schema::outbox;

/// A message due for delivery, opened.
#[derive(Debug, Clone)]
pub struct Due {
    /// Tenant.
    pub tenant_id: String,
    /// Message id.
    pub id: String,
    /// `mail`.
    pub channel: String,
    /// The opened payload (JSON).
    pub payload: Vec<u8>,
    /// Failed deliveries so far.
    pub attempts: i64,
}

fn context(id: &str) -> String {
    format!("outbox:{id}")
}

/// Queue a message inside the caller's transaction.
pub fn enqueue(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    person: Option<&PersonId>,
    channel: &str,
    payload: &[u8],
) -> Result<String> {
    let id = kluis_core::new_id();
    let sealed = master.seal(&context(&id), payload).map_err(|e| DomainError::Internal(e.to_string()))?;
    let now = kluis_core::time::now();
    diesel::insert_into(outbox::table)
        .values((
            outbox::tenant_id.eq(tenant.as_str()),
            outbox::id.eq(&id),
            outbox::person_id.eq(person.map(|p| p.as_str())),
            outbox::channel.eq(channel),
            outbox::payload.eq(sealed),
            outbox::attempts.eq(0i64),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
        ))
        .execute(conn)
        .domain()?;
    Ok(id)
}

/// Up to `limit` messages due now, oldest first, opened.
pub fn due(conn: &mut Db, master: &MasterKey, limit: i64) -> Result<Vec<Due>> {
    let rows: Vec<(String, String, String, Vec<u8>, i64)> = outbox::table
        .filter(outbox::next_attempt_at.le(kluis_core::time::now()))
        .order(outbox::next_attempt_at.asc())
        .limit(limit)
        .select((outbox::tenant_id, outbox::id, outbox::channel, outbox::payload, outbox::attempts))
        .load(conn)
        .domain()?;
    let mut due = Vec::with_capacity(rows.len());
    for (tenant_id, id, channel, sealed, attempts) in rows {
        match master.open(&context(&id), &sealed) {
            Ok(payload) => due.push(Due { tenant_id, id, channel, payload: payload.to_vec(), attempts }),
            Err(e) => tracing::error!(message.id = %id, error = %e, "outbox message cannot be opened"),
        }
    }
    Ok(due)
}

/// Delivered: the message is gone.
pub fn delivered(conn: &mut Db, tenant: &str, id: &str) -> Result<()> {
    diesel::delete(outbox::table.filter(outbox::tenant_id.eq(tenant)).filter(outbox::id.eq(id)))
        .execute(conn)
        .domain()?;
    Ok(())
}

/// Failed: try again after an exponential backoff (1 s doubling, at most an hour).
pub fn failed(conn: &mut Db, tenant: &str, id: &str, attempts: i64, error: &str) -> Result<PrimitiveDateTime> {
    let delay = Duration::seconds(1i64 << attempts.clamp(0, 12)).min(Duration::hours(1));
    let next = kluis_core::time::now() + delay;
    diesel::update(outbox::table.filter(outbox::tenant_id.eq(tenant)).filter(outbox::id.eq(id)))
        .set((
            outbox::attempts.eq(attempts + 1),
            outbox::next_attempt_at.eq(next),
            outbox::last_error.eq(Some(error.chars().take(500).collect::<String>())),
        ))
        .execute(conn)
        .domain()?;
    Ok(next)
}

/// Drop every pending message to a person (erasure).
pub fn erase_person(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(
        outbox::table.filter(outbox::tenant_id.eq(tenant.as_str())).filter(outbox::person_id.eq(person.as_str())),
    )
    .execute(conn)
    .domain()?;
    Ok(n as u64)
}

/// A message waiting for a person, as their export shows it (the payload
/// stays sealed: it may hold a single-use token).
#[derive(Debug, Clone)]
pub struct Pending {
    /// Message id.
    pub id: String,
    /// `mail`.
    pub channel: String,
    /// Failed deliveries so far.
    pub attempts: i64,
    /// Queued.
    pub created_at: PrimitiveDateTime,
}

/// The messages waiting for a person, oldest first (Art. 15 export).
pub fn of_person(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Pending>> {
    let rows: Vec<(String, String, i64, PrimitiveDateTime)> = outbox::table
        .filter(outbox::tenant_id.eq(tenant.as_str()))
        .filter(outbox::person_id.eq(person.as_str()))
        .order(outbox::id.asc())
        .select((outbox::id, outbox::channel, outbox::attempts, outbox::created_at))
        .load(conn)
        .domain()?;
    Ok(rows
        .into_iter()
        .map(|(id, channel, attempts, created_at)| Pending { id, channel, attempts, created_at })
        .collect())
}
