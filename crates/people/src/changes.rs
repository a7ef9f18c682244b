//! The people changes feed: `person.created`, `person.updated` and
//! `person.erased`, with the names of the fields that changed and never
//! their values, so that a processor can follow a tenant's people without
//! polling each one. Each change takes the next per-tenant `seq` under the
//! tenant's head-row lock, in the transaction of the change itself, so seq
//! order is commit order: a reader paging by seq never passes a change that
//! commits later.
//!
//! Erasure: the person's rows go with the person (they name them); the
//! `person.erased` row written after tells the erased id (in `erased_id`,
//! linked to nobody, as the `person.erased` webhook delivery holds it in its
//! body), so that processors learn of the erasure, and no longer than a
//! delivery may keep it while retried (three days): then the row is no
//! longer shown and [`prune_erased`] removes it. It names the
//! purposes the person stood allowed for at that moment: after the erasure
//! nothing else is left to decide who may see it.

use diesel::prelude::*;
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError, is_unique_violation};
use kluis_store::schema::{people_change_heads as h, people_changes as c};
use kluis_store::{Db, write_tx};
use time::PrimitiveDateTime;

/// What happened to a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// Created.
    Created,
    /// Profile or contacts changed.
    Updated,
    /// Erased.
    Erased,
}

impl ChangeKind {
    /// The stored and wire name (the webhook event type too).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "person.created",
            ChangeKind::Updated => "person.updated",
            ChangeKind::Erased => "person.erased",
        }
    }

    fn parse(s: &str) -> Option<ChangeKind> {
        [ChangeKind::Created, ChangeKind::Updated, ChangeKind::Erased].into_iter().find(|k| k.as_str() == s)
    }
}

/// One change in the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Position in the tenant's feed: gapless when written, in commit order.
    pub seq: i64,
    /// Change id.
    pub id: String,
    /// The person.
    pub person_id: PersonId,
    /// What happened.
    pub kind: ChangeKind,
    /// Names of the fields concerned (no values).
    pub fields: Vec<String>,
    /// For an erasure: the purposes the person stood allowed for just before it.
    pub purposes: Vec<String>,
    /// When.
    pub occurred_at: PrimitiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = c)]
struct Row {
    seq: i64,
    id: String,
    person_id: Option<String>,
    erased_id: Option<String>,
    kind: String,
    fields: String,
    purposes: Option<String>,
    occurred_at: PrimitiveDateTime,
}

impl TryFrom<Row> for Change {
    type Error = DomainError;

    fn try_from(row: Row) -> Result<Change> {
        let kind = ChangeKind::parse(&row.kind)
            .ok_or_else(|| DomainError::Internal(format!("unknown change kind {}", row.kind)))?;
        let fields: Vec<String> =
            serde_json::from_str(&row.fields).map_err(|e| DomainError::Internal(e.to_string()))?;
        let purposes: Vec<String> = match row.purposes {
            Some(text) => serde_json::from_str(&text).map_err(|e| DomainError::Internal(e.to_string()))?,
            None => Vec::new(),
        };
        let person = row
            .person_id
            .or(row.erased_id)
            .ok_or_else(|| DomainError::Internal(format!("change {} names nobody", row.id)))?;
        Ok(Change {
            seq: row.seq,
            id: row.id,
            person_id: PersonId(person),
            kind,
            fields,
            purposes,
            occurred_at: row.occurred_at,
        })
    }
}

/// Make the tenant's feed head unless it exists (the per-tenant setup).
pub fn ensure_head(conn: &mut Db, tenant: &TenantId) -> Result<()> {
    let exists: Option<i64> = h::table.find(tenant.as_str()).select(h::seq).first(conn).optional().domain()?;
    if exists.is_some() {
        return Ok(());
    }
    // A savepoint: losing the race must not abort the caller's transaction.
    let inserted = write_tx(conn, |conn| {
        diesel::insert_into(h::table)
            .values((h::tenant_id.eq(tenant.as_str()), h::seq.eq(0i64), h::created_at.eq(kluis_core::time::now())))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Ok(()),
        Err(e) => Err(e).domain(),
    }
}

/// Append a change (inside the caller's transaction, which holds the
/// tenant's head row until it commits).
pub fn record(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    kind: ChangeKind,
    fields: &[&str],
    purposes: &[String],
) -> Result<()> {
    let fields = serde_json::to_string(fields).map_err(|e| DomainError::Internal(e.to_string()))?;
    let purposes = match kind {
        ChangeKind::Erased => Some(serde_json::to_string(purposes).map_err(|e| DomainError::Internal(e.to_string()))?),
        _ => None,
    };
    // An erasure's row is linked to nobody: the id is only what it tells.
    let (person_id, erased_id) = match kind {
        ChangeKind::Erased => (None, Some(person.as_str())),
        _ => (Some(person.as_str()), None),
    };
    write_tx(conn, |conn| -> Result<(), TxError> {
        let locked = diesel::update(h::table.find(tenant.as_str())).set(h::seq.eq(h::seq + 1)).execute(conn)?;
        if locked == 0 {
            return Err(DomainError::Internal(format!("tenant {tenant} has no people feed head")).into());
        }
        let seq: i64 = h::table.find(tenant.as_str()).select(h::seq).first(conn)?;
        diesel::insert_into(c::table)
            .values((
                c::tenant_id.eq(tenant.as_str()),
                c::seq.eq(seq),
                c::id.eq(kluis_core::new_id()),
                c::person_id.eq(person_id),
                c::erased_id.eq(erased_id),
                c::kind.eq(kind.as_str()),
                c::fields.eq(&fields),
                c::purposes.eq(&purposes),
                c::occurred_at.eq(kluis_core::time::now()),
            ))
            .execute(conn)?;
        Ok(())
    })
    .map_err(DomainError::from)
}

/// A page of the feed.
#[derive(Clone, Debug)]
pub struct Changes {
    /// Changes in commit (seq) order.
    pub items: Vec<Change>,
    /// The seq to continue after: the last item's, or `after` when there was none.
    pub last_seq: i64,
    /// Whether more changes were already there.
    pub has_more: bool,
}

/// Changes after the seq `after` in commit order, at most `limit`.
pub fn after(conn: &mut Db, tenant: &TenantId, after: i64, limit: i64) -> Result<Changes> {
    let mut rows: Vec<Row> = c::table
        .filter(c::tenant_id.eq(tenant.as_str()))
        .filter(c::seq.gt(after))
        .select(Row::as_select())
        .order(c::seq.asc())
        .limit(limit + 1)
        .load(conn)
        .domain()?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let items = rows.into_iter().map(Change::try_from).collect::<Result<Vec<_>>>()?;
    let last_seq = items.last().map_or(after, |c| c.seq);
    Ok(Changes { items, last_seq, has_more })
}

/// A person's changes, oldest first (their export).
pub fn of_person(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Change>> {
    let rows: Vec<Row> = c::table
        .filter(c::tenant_id.eq(tenant.as_str()))
        .filter(c::person_id.eq(person.as_str()))
        .select(Row::as_select())
        .order(c::seq.asc())
        .load(conn)
        .domain()?;
    rows.into_iter().map(Change::try_from).collect()
}

/// Remove a person's changes (their erasure); the `person.erased` row is
/// written after this.
pub fn erase_all(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(c::table.filter(c::tenant_id.eq(tenant.as_str())).filter(c::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// Remove `person.erased` rows that occurred before `before`, across
/// tenants, at most `limit` (the id an erasure leaves in the feed goes
/// once the webhooks' retry window has passed); how many went.
pub fn prune_erased(conn: &mut Db, before: PrimitiveDateTime, limit: i64) -> Result<u64> {
    let due: Vec<(String, i64)> = c::table
        .filter(c::kind.eq(ChangeKind::Erased.as_str()))
        .filter(c::occurred_at.lt(before))
        .select((c::tenant_id, c::seq))
        .limit(limit)
        .load(conn)
        .domain()?;
    let mut n = 0;
    for (tenant, seq) in due {
        n += diesel::delete(c::table.find((tenant, seq))).execute(conn).domain()? as u64;
    }
    Ok(n)
}
