//! Serviced items (`service_items`): a device or account taken in for
//! repair, installation or configuration. Its status moves
//! `received -> in_progress -> ready -> returned` (back from `ready` to
//! `in_progress` when more work is found; straight to `returned` when the
//! customer takes it back unrepaired); nothing moves a returned item, and
//! no step goes back to `received` (409 `service_status_transition`).

use diesel::prelude::*;
use kluis_core::page::Page;
use kluis_core::{DomainError, FieldError, PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::personal::Purge;
use kluis_store::schema::service_items as i;
use time::PrimitiveDateTime;

use crate::text::{self, check_opt, clean, corrupt, wire_enum};

/// Longest make, model or serial, in characters.
pub const MAX_NAME: usize = 100;
/// Longest request (what was asked), in characters.
pub const MAX_REQUEST: usize = 2000;

wire_enum! {
    /// What was taken in.
    Kind {
        /// A laptop.
        Laptop = "laptop",
        /// A desktop computer.
        Desktop = "desktop",
        /// A phone.
        Phone = "phone",
        /// A tablet.
        Tablet = "tablet",
        /// A printer.
        Printer = "printer",
        /// A server.
        Server = "server",
        /// A router, switch or access point.
        Network = "network",
        /// A disk, NAS or other storage.
        Storage = "storage",
        /// An online account (Google account, Apple ID, ...) to configure.
        Account = "account",
        /// Anything else.
        Other = "other",
    }
}

wire_enum! {
    /// Where the item stands.
    Status {
        /// Taken in.
        Received = "received",
        /// Being worked on.
        InProgress = "in_progress",
        /// Done, waiting for the customer.
        Ready = "ready",
        /// Back with the customer: its credentials are deleted.
        Returned = "returned",
    }
}

impl Status {
    /// Whether an item may move from `self` to `next` (staying is always allowed).
    pub fn can_become(self, next: Status) -> bool {
        use Status::{InProgress, Ready, Received, Returned};
        self == next
            || matches!(
                (self, next),
                (Received, InProgress | Ready | Returned)
                    | (InProgress, Ready | Returned)
                    | (Ready, InProgress | Returned)
            )
    }
}

/// A serviced item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Item id.
    pub id: String,
    /// The customer.
    pub person_id: PersonId,
    /// What it is.
    pub kind: Kind,
    /// Make (brand).
    pub make: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
    /// What the customer asked for.
    pub request: String,
    /// Where it stands.
    pub status: Status,
    /// When it was taken in.
    pub received_at: PrimitiveDateTime,
    /// When it was (last) made ready.
    pub ready_at: Option<PrimitiveDateTime>,
    /// When it went back to the customer.
    pub returned_at: Option<PrimitiveDateTime>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Recorded.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = i)]
struct Row {
    id: String,
    person_id: String,
    kind: String,
    make: Option<String>,
    model: Option<String>,
    serial: Option<String>,
    request: String,
    status: String,
    received_at: PrimitiveDateTime,
    ready_at: Option<PrimitiveDateTime>,
    returned_at: Option<PrimitiveDateTime>,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

impl TryFrom<Row> for Item {
    type Error = DomainError;

    fn try_from(row: Row) -> Result<Item> {
        Ok(Item {
            kind: Kind::parse(&row.kind).ok_or_else(|| corrupt("item kind", &row.kind))?,
            status: Status::parse(&row.status).ok_or_else(|| corrupt("item status", &row.status))?,
            id: row.id,
            person_id: PersonId(row.person_id),
            make: row.make,
            model: row.model,
            serial: row.serial,
            request: row.request,
            received_at: row.received_at,
            ready_at: row.ready_at,
            returned_at: row.returned_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// An item to take in.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// What it is.
    pub kind: Kind,
    /// Make: 1 to [`MAX_NAME`] characters.
    pub make: Option<String>,
    /// Model: 1 to [`MAX_NAME`] characters.
    pub model: Option<String>,
    /// Serial: 1 to [`MAX_NAME`] characters.
    pub serial: Option<String>,
    /// What was asked: 1 to [`MAX_REQUEST`] characters.
    pub request: String,
    /// When it was taken in (not in the future); now when absent.
    pub received_at: Option<PrimitiveDateTime>,
}

/// A change to an item; `None` leaves a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// What it is.
    pub kind: Option<Kind>,
    /// Make.
    pub make: Option<Option<String>>,
    /// Model.
    pub model: Option<Option<String>>,
    /// Serial.
    pub serial: Option<Option<String>>,
    /// What was asked.
    pub request: Option<String>,
    /// A new status (see [`Status::can_become`]).
    pub status: Option<Status>,
}

fn check_names(make: Option<&str>, model: Option<&str>, serial: Option<&str>, errors: &mut Vec<FieldError>) {
    check_opt("make", make, MAX_NAME, errors);
    check_opt("model", model, MAX_NAME, errors);
    check_opt("serial", serial, MAX_NAME, errors);
}

/// The rules of a new item, each broken one named by its field.
pub fn check(new: &NewItem, now: PrimitiveDateTime) -> Result<()> {
    let mut errors = Vec::new();
    check_names(new.make.as_deref(), new.model.as_deref(), new.serial.as_deref(), &mut errors);
    text::check("request", &new.request, 1, MAX_REQUEST, true, &mut errors);
    if new.received_at.is_some_and(|at| at > now) {
        errors.push(FieldError::new("received_at", "must not be in the future"));
    }
    if errors.is_empty() { Ok(()) } else { Err(DomainError::Validation(errors)) }
}

/// Take in an item for `person` (who must exist: the caller checks it in
/// the same transaction).
pub fn create(conn: &mut Db, tenant: &TenantId, person: &PersonId, new: &NewItem) -> Result<Item> {
    let now = kluis_core::time::now();
    check(new, now)?;
    let id = kluis_core::new_id();
    diesel::insert_into(i::table)
        .values((
            i::tenant_id.eq(tenant.as_str()),
            i::id.eq(&id),
            i::person_id.eq(person.as_str()),
            i::kind.eq(new.kind.as_str()),
            i::make.eq(clean(new.make.as_deref())),
            i::model.eq(clean(new.model.as_deref())),
            i::serial.eq(clean(new.serial.as_deref())),
            i::request.eq(new.request.trim()),
            i::status.eq(Status::Received.as_str()),
            i::received_at.eq(new.received_at.unwrap_or(now)),
            i::version.eq(1i64),
            i::created_at.eq(now),
            i::updated_at.eq(now),
        ))
        .execute(conn)
        .domain()?;
    get(conn, tenant, person, &id)
}

/// Item `id` of `person` (another person's or tenant's is not found).
pub fn get(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str) -> Result<Item> {
    i::table
        .filter(i::tenant_id.eq(tenant.as_str()))
        .filter(i::person_id.eq(person.as_str()))
        .filter(i::id.eq(id))
        .select(Row::as_select())
        .first(conn)
        .optional()
        .domain()?
        .ok_or(DomainError::NotFound)?
        .try_into()
}

/// [`get`] at `if_version` (when given).
pub fn load(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str, if_version: Option<i64>) -> Result<Item> {
    let item = get(conn, tenant, person, id)?;
    if if_version.is_some_and(|v| v != item.version) {
        return Err(DomainError::VersionMismatch);
    }
    Ok(item)
}

/// A page of a person's items, oldest first, after the id `after`.
pub fn list(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    limit: i64,
    after: Option<&str>,
) -> Result<Page<Item>> {
    let mut query = i::table
        .filter(i::tenant_id.eq(tenant.as_str()))
        .filter(i::person_id.eq(person.as_str()))
        .select(Row::as_select())
        .order(i::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(i::id.gt(after.to_owned()));
    }
    let rows = query.load(conn).domain()?;
    let items = rows.into_iter().map(Item::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, limit, |i| i.id.clone()))
}

/// Every item of a person, oldest first (export).
pub fn all(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Item>> {
    let rows: Vec<Row> = i::table
        .filter(i::tenant_id.eq(tenant.as_str()))
        .filter(i::person_id.eq(person.as_str()))
        .select(Row::as_select())
        .order(i::id.asc())
        .load(conn)
        .domain()?;
    rows.into_iter().map(Item::try_from).collect()
}

/// The refusal of a change a returned item or a status cannot take.
fn transition(from: Status, to: Status) -> DomainError {
    DomainError::Conflict {
        code: "service_status_transition",
        message: format!("a serviced item cannot go from `{}` to `{}`", from.as_str(), to.as_str()),
    }
}

/// Apply `changes` at the item's version, bumping it; true when this change
/// returned the item (the caller then deletes its credentials).
pub fn update(conn: &mut Db, tenant: &TenantId, item: &mut Item, changes: &Changes) -> Result<bool> {
    let now = kluis_core::time::now();
    let mut errors = Vec::new();
    check_names(
        changes.make.as_ref().and_then(Option::as_deref),
        changes.model.as_ref().and_then(Option::as_deref),
        changes.serial.as_ref().and_then(Option::as_deref),
        &mut errors,
    );
    if let Some(request) = &changes.request {
        text::check("request", request, 1, MAX_REQUEST, true, &mut errors);
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    let mut next = item.clone();
    if item.status == Status::Returned && changes.status.is_some_and(|s| s != Status::Returned) {
        return Err(transition(item.status, changes.status.unwrap_or(Status::Returned)));
    }
    if let Some(status) = changes.status {
        if !item.status.can_become(status) {
            return Err(transition(item.status, status));
        }
        if status != item.status {
            next.status = status;
            match status {
                Status::Ready => next.ready_at = Some(now),
                Status::Returned => next.returned_at = Some(now),
                Status::Received | Status::InProgress => {}
            }
        }
    }
    if let Some(kind) = changes.kind {
        next.kind = kind;
    }
    if let Some(make) = &changes.make {
        next.make = clean(make.as_deref());
    }
    if let Some(model) = &changes.model {
        next.model = clean(model.as_deref());
    }
    if let Some(serial) = &changes.serial {
        next.serial = clean(serial.as_deref());
    }
    if let Some(request) = &changes.request {
        request.trim().clone_into(&mut next.request);
    }
    next.updated_at = now;
    let n = diesel::update(
        i::table
            .filter(i::tenant_id.eq(tenant.as_str()))
            .filter(i::id.eq(&item.id))
            .filter(i::version.eq(item.version)),
    )
    .set((
        i::kind.eq(next.kind.as_str()),
        i::make.eq(next.make.as_deref()),
        i::model.eq(next.model.as_deref()),
        i::serial.eq(next.serial.as_deref()),
        i::request.eq(&next.request),
        i::status.eq(next.status.as_str()),
        i::ready_at.eq(next.ready_at),
        i::returned_at.eq(next.returned_at),
        i::version.eq(item.version + 1),
        i::updated_at.eq(now),
    ))
    .execute(conn)
    .domain()?;
    if n == 0 {
        return Err(DomainError::VersionMismatch);
    }
    let returned = item.status != Status::Returned && next.status == Status::Returned;
    next.version += 1;
    *item = next;
    Ok(returned)
}

/// Delete an item (its credentials and backup records go with it by the
/// foreign keys: the caller deletes them first, to count them).
pub fn delete(conn: &mut Db, tenant: &TenantId, item: &Item) -> Result<()> {
    diesel::delete(i::table.filter(i::tenant_id.eq(tenant.as_str())).filter(i::id.eq(&item.id)))
        .execute(conn)
        .domain()?;
    Ok(())
}

/// Delete every item of a person (erasure); rows removed.
pub(crate) fn erase(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(i::table.filter(i::tenant_id.eq(tenant.as_str())).filter(i::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// The persons with at least one item.
pub fn persons(conn: &mut Db, tenant: &TenantId) -> Result<Vec<PersonId>> {
    let ids: Vec<String> = i::table
        .filter(i::tenant_id.eq(tenant.as_str()))
        .select(i::person_id)
        .distinct()
        .order(i::person_id.asc())
        .load(conn)
        .domain()?;
    Ok(ids.into_iter().map(PersonId).collect())
}

/// The ids of items due under `purge` (`user.service`): recorded before
/// the cutoff, or returned before the event cutoff; at most `purge.limit`
/// unless it is a dry run. An item keeps nothing worth keeping once
/// anonymised, so either action deletes it, with its credentials and backup
/// records (counted by the caller).
pub(crate) fn due_ids(conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<Vec<String>> {
    if purge.due.is_unbounded() || purge.due.idle_before().is_some() {
        return Ok(Vec::new());
    }
    let persons: Option<Vec<&str>> = purge.due.persons.map(|p| p.iter().map(PersonId::as_str).collect());
    let skip: Vec<&str> = purge.skip.iter().map(PersonId::as_str).collect();
    let mut query = i::table.filter(i::tenant_id.eq(tenant.as_str())).into_boxed();
    if let Some(at) = purge.due.created_before {
        query = query.filter(i::created_at.lt(at));
    }
    if let Some(at) = purge.due.ended_before {
        query = query.filter(i::returned_at.lt(at));
    }
    if let Some(persons) = &persons {
        query = query.filter(i::person_id.eq_any(persons));
    }
    if !skip.is_empty() {
        query = query.filter(i::person_id.ne_all(&skip));
    }
    let limit = if purge.dry_run { i64::MAX } else { purge.limit_i64() };
    query.select(i::id).order(i::id.asc()).limit(limit).load(conn).domain()
}

/// Delete the items `ids`; rows removed.
pub(crate) fn delete_ids(conn: &mut Db, tenant: &TenantId, ids: &[String]) -> Result<u64> {
    let n = diesel::delete(i::table.filter(i::tenant_id.eq(tenant.as_str())).filter(i::id.eq_any(ids)))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// Ids of the tenant's items returned before `at`.
pub(crate) fn returned_before(conn: &mut Db, tenant: &TenantId, at: PrimitiveDateTime) -> Result<Vec<String>> {
    i::table.filter(i::tenant_id.eq(tenant.as_str())).filter(i::returned_at.lt(at)).select(i::id).load(conn).domain()
}

#[cfg(test)]
mod tests {
    use super::Status::*;

    #[test]
    fn statuses_move_forward_and_never_back_from_returned() {
        assert!(Received.can_become(InProgress));
        assert!(InProgress.can_become(Ready));
        assert!(Ready.can_become(InProgress));
        assert!(Ready.can_become(Returned));
        assert!(Received.can_become(Returned));
        assert!(!InProgress.can_become(Received));
        assert!(!Returned.can_become(Ready));
        assert!(!Returned.can_become(Received));
        assert!(Returned.can_become(Returned));
    }
}
