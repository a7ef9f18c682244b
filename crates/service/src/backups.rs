//! Customer-data backups (`service_backups`): a record of a backup of the
//! customer's disk or partitions taken before a repair (where it is, its
//! size and checksum, whether it is encrypted, when it was made). It is
//! kept until the data is put back on the repaired equipment
//! ([`mark_restored`]) or the item is returned: that event starts its
//! retention (`restored_or_returned`), and a sweep deletes it then, not before.

use diesel::prelude::*;
use kluis_core::{DomainError, FieldError, PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::personal::Purge;
use kluis_store::schema::service_backups as b;
use time::PrimitiveDateTime;

use crate::items::{Item, Status};
use crate::text::{self, check_opt, clean};

/// Longest location, in characters.
pub const MAX_LOCATION: usize = 500;
/// Longest checksum, in characters.
pub const MAX_CHECKSUM: usize = 200;

/// A backup record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// Backup id.
    pub id: String,
    /// The item whose data it holds.
    pub item_id: String,
    /// The customer.
    pub person_id: PersonId,
    /// Where it is (a disk label, a share, a path).
    pub location: String,
    /// Its size in bytes.
    pub size_bytes: Option<i64>,
    /// Its checksum (e.g. `sha256:...`).
    pub checksum: Option<String>,
    /// Whether it is encrypted.
    pub encrypted: bool,
    /// When it was made.
    pub made_at: PrimitiveDateTime,
    /// When its data was put back on the repaired equipment.
    pub restored_at: Option<PrimitiveDateTime>,
    /// Recorded.
    pub created_at: PrimitiveDateTime,
}

/// A backup to record.
#[derive(Debug, Clone)]
pub struct NewBackup {
    /// Where it is: 1 to [`MAX_LOCATION`] characters.
    pub location: String,
    /// Size in bytes, at least 0.
    pub size_bytes: Option<i64>,
    /// Checksum: 1 to [`MAX_CHECKSUM`] characters.
    pub checksum: Option<String>,
    /// Whether it is encrypted.
    pub encrypted: bool,
    /// When it was made (not in the future); now when absent.
    pub made_at: Option<PrimitiveDateTime>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = b)]
struct Row {
    id: String,
    item_id: String,
    person_id: String,
    location: String,
    size_bytes: Option<i64>,
    checksum: Option<String>,
    encrypted: bool,
    made_at: PrimitiveDateTime,
    restored_at: Option<PrimitiveDateTime>,
    created_at: PrimitiveDateTime,
}

impl From<Row> for Backup {
    fn from(r: Row) -> Backup {
        Backup {
            id: r.id,
            item_id: r.item_id,
            person_id: PersonId(r.person_id),
            location: r.location,
            size_bytes: r.size_bytes,
            checksum: r.checksum,
            encrypted: r.encrypted,
            made_at: r.made_at,
            restored_at: r.restored_at,
            created_at: r.created_at,
        }
    }
}

/// The rules of a new backup record, each broken one named by its field.
pub fn check(new: &NewBackup, now: PrimitiveDateTime) -> Result<()> {
    let mut errors = Vec::new();
    text::check("location", &new.location, 1, MAX_LOCATION, false, &mut errors);
    check_opt("checksum", new.checksum.as_deref(), MAX_CHECKSUM, &mut errors);
    if new.size_bytes.is_some_and(|n| n < 0) {
        errors.push(FieldError::new("size_bytes", "must be at least 0"));
    }
    if new.made_at.is_some_and(|at| at > now) {
        errors.push(FieldError::new("made_at", "must not be in the future"));
    }
    if errors.is_empty() { Ok(()) } else { Err(DomainError::Validation(errors)) }
}

/// Record a backup of `item`'s data (409 for a returned item: nothing of it is kept).
pub fn create(conn: &mut Db, tenant: &TenantId, item: &Item, new: &NewBackup) -> Result<Backup> {
    let now = kluis_core::time::now();
    check(new, now)?;
    if item.status == Status::Returned {
        return Err(DomainError::Conflict {
            code: "service_item_returned",
            message: "the item was returned: no backup of its data is recorded any more".into(),
        });
    }
    let id = kluis_core::new_id();
    diesel::insert_into(b::table)
        .values((
            b::tenant_id.eq(tenant.as_str()),
            b::id.eq(&id),
            b::item_id.eq(&item.id),
            b::person_id.eq(item.person_id.as_str()),
            b::location.eq(new.location.trim()),
            b::size_bytes.eq(new.size_bytes),
            b::checksum.eq(clean(new.checksum.as_deref())),
            b::encrypted.eq(new.encrypted),
            b::made_at.eq(new.made_at.unwrap_or(now)),
            b::created_at.eq(now),
        ))
        .execute(conn)
        .domain()?;
    get(conn, tenant, item, &id)
}

/// Backup `id` of `item`.
pub fn get(conn: &mut Db, tenant: &TenantId, item: &Item, id: &str) -> Result<Backup> {
    b::table
        .filter(b::tenant_id.eq(tenant.as_str()))
        .filter(b::item_id.eq(&item.id))
        .filter(b::id.eq(id))
        .select(Row::as_select())
        .first(conn)
        .optional()
        .domain()?
        .map(Backup::from)
        .ok_or(DomainError::NotFound)
}

/// The backups of `item`, oldest first.
pub fn list(conn: &mut Db, tenant: &TenantId, item: &Item) -> Result<Vec<Backup>> {
    let rows: Vec<Row> = b::table
        .filter(b::tenant_id.eq(tenant.as_str()))
        .filter(b::item_id.eq(&item.id))
        .order(b::id.asc())
        .select(Row::as_select())
        .load(conn)
        .domain()?;
    Ok(rows.into_iter().map(Backup::from).collect())
}

/// The backups of a person (export).
pub fn of_person(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Backup>> {
    let rows: Vec<Row> = b::table
        .filter(b::tenant_id.eq(tenant.as_str()))
        .filter(b::person_id.eq(person.as_str()))
        .order(b::id.asc())
        .select(Row::as_select())
        .load(conn)
        .domain()?;
    Ok(rows.into_iter().map(Backup::from).collect())
}

/// Mark backup `id` of `item` restored now: from here its retention runs
/// (409 `service_backup_restored` when it was already).
pub fn mark_restored(conn: &mut Db, tenant: &TenantId, item: &Item, id: &str) -> Result<Backup> {
    let mut backup = get(conn, tenant, item, id)?;
    if backup.restored_at.is_some() {
        return Err(DomainError::Conflict {
            code: "service_backup_restored",
            message: "this backup was already marked restored".into(),
        });
    }
    let now = kluis_core::time::now();
    diesel::update(b::table.filter(b::tenant_id.eq(tenant.as_str())).filter(b::id.eq(id)))
        .set(b::restored_at.eq(Some(now)))
        .execute(conn)
        .domain()?;
    backup.restored_at = Some(now);
    Ok(backup)
}

/// A backup record that outlives its returned item, with when the item
/// was returned (the reminder worker's input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outliving {
    /// The backup record.
    pub backup: Backup,
    /// When its item went back to the customer.
    pub returned_at: PrimitiveDateTime,
}

/// The tenant's backup records whose item was returned before `cutoff` and
/// that no reminder has been sent for yet, oldest return first (at most 500
/// a round). Restored or not: a record still here after its item left
/// should have gone.
pub fn outliving(conn: &mut Db, tenant: &TenantId, cutoff: PrimitiveDateTime) -> Result<Vec<Outliving>> {
    use kluis_store::schema::service_items as i;
    let rows: Vec<(Row, Option<PrimitiveDateTime>)> = b::table
        .inner_join(i::table.on(i::tenant_id.eq(b::tenant_id).and(i::id.eq(b::item_id))))
        .filter(b::tenant_id.eq(tenant.as_str()))
        .filter(b::reminded_at.is_null())
        .filter(i::returned_at.lt(cutoff))
        .order((i::returned_at.asc(), b::id.asc()))
        .select((Row::as_select(), i::returned_at))
        .limit(500)
        .load(conn)
        .domain()?;
    Ok(rows
        .into_iter()
        .filter_map(|(row, returned_at)| Some(Outliving { backup: Backup::from(row), returned_at: returned_at? }))
        .collect())
}

/// Record that the reminder about backup `id` was sent at `now` (false when
/// another instance did first, or the record is gone).
pub fn mark_reminded(conn: &mut Db, tenant: &TenantId, id: &str, now: PrimitiveDateTime) -> Result<bool> {
    let n = diesel::update(
        b::table.filter(b::tenant_id.eq(tenant.as_str())).filter(b::id.eq(id)).filter(b::reminded_at.is_null()),
    )
    .set(b::reminded_at.eq(Some(now)))
    .execute(conn)
    .domain()?;
    Ok(n == 1)
}

/// Queue the reminder to the tenant's privacy contact `to`: a customer-data
/// backup outlived its item by more than `days` days. It names the record,
/// the item and where the backup is, never the customer.
pub fn queue_reminder(
    conn: &mut Db,
    master: &kluis_store::MasterKey,
    tenant: &TenantId,
    to: &str,
    outliving: &Outliving,
    days: u32,
) -> Result<()> {
    let backup = &outliving.backup;
    let returned = kluis_core::time::utc(outliving.returned_at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let restored = match backup.restored_at {
        Some(_) => "It was marked restored, but the record is still kept.",
        None => "It was never marked restored.",
    };
    let subject = format!("A customer-data backup outlived its item by more than {days} days");
    let text = format!(
        "Hello,\n\nThe customer-data backup {id} of serviced item {item} is still recorded, although the item\nwent back to the customer on {returned}. {restored}\nWhere it is: {location}\n\nDelete the backup itself, then the record\n(DELETE the item, or let a retention policy of user.service.backup with start\nrestored_or_returned remove it): customer data is kept only until it is put back.\n",
        id = backup.id,
        item = backup.item_id,
        location = backup.location,
    );
    let payload = serde_json::json!({"to": to, "subject": subject, "text": text});
    let bytes = serde_json::to_vec(&payload).map_err(|e| DomainError::Internal(e.to_string()))?;
    kluis_store::outbox::enqueue(conn, master, tenant, Some(&backup.person_id), "mail", &bytes)?;
    Ok(())
}

/// Delete every backup record of the items `ids` (deleted or purged items); rows removed.
pub(crate) fn delete_for_items(conn: &mut Db, tenant: &TenantId, ids: &[String]) -> Result<u64> {
    let n = diesel::delete(b::table.filter(b::tenant_id.eq(tenant.as_str())).filter(b::item_id.eq_any(ids)))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// Count the backup records of the items `ids` (a dry run).
pub(crate) fn count_for_items(conn: &mut Db, tenant: &TenantId, ids: &[String]) -> Result<u64> {
    let n: i64 = b::table
        .filter(b::tenant_id.eq(tenant.as_str()))
        .filter(b::item_id.eq_any(ids))
        .count()
        .get_result(conn)
        .domain()?;
    Ok(n.unsigned_abs())
}

/// Delete every backup record of a person (erasure); rows removed.
pub(crate) fn erase(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(b::table.filter(b::tenant_id.eq(tenant.as_str())).filter(b::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// Backup records due under `purge` (`user.service.backup`): recorded
/// before the cutoff, or restored (or of an item returned) before the
/// event cutoff; one still waiting for its event is never reached by the
/// latter. Either action deletes them.
pub(crate) fn purge(conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<u64> {
    if purge.due.is_unbounded() || purge.due.idle_before().is_some() {
        return Ok(0);
    }
    let returned = match purge.due.ended_before {
        Some(at) => Some(crate::items::returned_before(conn, tenant, at)?),
        None => None,
    };
    let persons: Option<Vec<&str>> = purge.due.persons.map(|p| p.iter().map(PersonId::as_str).collect());
    let skip: Vec<&str> = purge.skip.iter().map(PersonId::as_str).collect();
    let due = || {
        let mut query = b::table.filter(b::tenant_id.eq(tenant.as_str())).into_boxed();
        if let Some(at) = purge.due.created_before {
            query = query.filter(b::created_at.lt(at));
        }
        if let (Some(at), Some(returned)) = (purge.due.ended_before, &returned) {
            query = query.filter(b::restored_at.lt(at).or(b::item_id.eq_any(returned)));
        }
        if let Some(persons) = &persons {
            query = query.filter(b::person_id.eq_any(persons));
        }
        if !skip.is_empty() {
            query = query.filter(b::person_id.ne_all(&skip));
        }
        query
    };
    if purge.dry_run {
        let n: i64 = due().count().get_result(conn).domain()?;
        return Ok(n.unsigned_abs());
    }
    let ids: Vec<String> = due().select(b::id).limit(purge.limit_i64()).load(conn).domain()?;
    let n = diesel::delete(b::table.filter(b::tenant_id.eq(tenant.as_str())).filter(b::id.eq_any(&ids)))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}
