//! Legal holds (`person_holds`): while a person has an active hold (no end,
//! or an end still ahead), nothing erases them: neither a request (409
//! `legal_hold` with the hold's reason) nor a retention sweep (which skips
//! [`held`] people). Lifting a hold deletes it; the use case audits it.

use diesel::prelude::*;
use kluis_core::{DomainError, FieldError, PersonId, Result, TenantId, validate};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::schema::person_holds as h;
use time::PrimitiveDateTime;

/// Longest reason, in characters.
pub const MAX_REASON: usize = 500;

/// A legal hold on a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Hold id.
    pub id: String,
    /// The person held.
    pub person_id: PersonId,
    /// Why (a case or claim, in words; never a card number).
    pub reason: String,
    /// When it ends by itself; `None` holds until lifted.
    pub until: Option<PrimitiveDateTime>,
    /// Placed.
    pub created_at: PrimitiveDateTime,
}

impl Hold {
    /// Whether it holds at `now`.
    pub fn active_at(&self, now: PrimitiveDateTime) -> bool {
        self.until.is_none_or(|until| until > now)
    }
}

/// A hold to place.
#[derive(Debug, Clone)]
pub struct NewHold {
    /// Why: 1 to [`MAX_REASON`] characters, no control characters, no card number.
    pub reason: String,
    /// Optional end, in the future.
    pub until: Option<PrimitiveDateTime>,
}

type Row = (String, String, String, String, Option<PrimitiveDateTime>, PrimitiveDateTime);

fn hold((_, id, person_id, reason, until, created_at): Row) -> Hold {
    Hold { id, person_id: PersonId(person_id), reason, until, created_at }
}

macro_rules! columns {
    () => {
        (h::tenant_id, h::id, h::person_id, h::reason, h::ends_at, h::created_at)
    };
}

/// The rules of a new hold, each broken one named by its field.
pub fn check(new: &NewHold, now: PrimitiveDateTime) -> Result<()> {
    let mut errors = Vec::new();
    let reason = new.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        errors.push(FieldError::new("reason", format!("must be 1 to {MAX_REASON} characters")));
    } else if reason.chars().any(char::is_control) {
        errors.push(FieldError::new("reason", "must not contain control characters"));
    } else if validate::contains_card_number(reason) {
        errors.push(FieldError::new("reason", "looks like a payment card number, which kluis never stores"));
    }
    if new.until.is_some_and(|until| until <= now) {
        errors.push(FieldError::new("until", "must be in the future"));
    }
    if errors.is_empty() { Ok(()) } else { Err(DomainError::Validation(errors)) }
}

/// Place a hold on `person` (who must exist: the caller checks it in the
/// same transaction; the foreign key refuses a missing one anyway).
pub fn create(conn: &mut Db, tenant: &TenantId, person: &PersonId, new: &NewHold) -> Result<Hold> {
    let now = kluis_core::time::now();
    check(new, now)?;
    let hold = Hold {
        id: kluis_core::new_id(),
        person_id: person.clone(),
        reason: new.reason.trim().to_owned(),
        until: new.until,
        created_at: now,
    };
    diesel::insert_into(h::table)
        .values((
            h::tenant_id.eq(tenant.as_str()),
            h::id.eq(&hold.id),
            h::person_id.eq(person.as_str()),
            h::reason.eq(&hold.reason),
            h::ends_at.eq(hold.until),
            h::created_at.eq(hold.created_at),
        ))
        .execute(conn)
        .domain()?;
    Ok(hold)
}

/// Every hold of a person, active or ended, oldest first.
pub fn list(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Hold>> {
    let rows: Vec<Row> = h::table
        .filter(h::tenant_id.eq(tenant.as_str()))
        .filter(h::person_id.eq(person.as_str()))
        .order(h::id.asc())
        .select(columns!())
        .load(conn)
        .domain()?;
    Ok(rows.into_iter().map(hold).collect())
}

/// The first active hold of a person, if any: what refuses their erasure.
pub fn active(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Option<Hold>> {
    let now = kluis_core::time::now();
    Ok(list(conn, tenant, person)?.into_iter().find(|hold| hold.active_at(now)))
}

/// Remove every hold of `person`, active or not; how many. Only for a
/// person erased since a backup that a restore brought back with a hold
/// lifted before that erasure: the erasure stands, the old hold does not.
pub fn remove_all(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(h::table.filter(h::tenant_id.eq(tenant.as_str())).filter(h::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// The people of a tenant under an active hold: what a retention sweep
/// must skip.
pub fn held(conn: &mut Db, tenant: &TenantId) -> Result<Vec<PersonId>> {
    let now = kluis_core::time::now();
    let mut people: Vec<String> = h::table
        .filter(h::tenant_id.eq(tenant.as_str()))
        .filter(h::ends_at.is_null().or(h::ends_at.gt(now)))
        .select(h::person_id)
        .load(conn)
        .domain()?;
    people.sort();
    people.dedup();
    Ok(people.into_iter().map(PersonId).collect())
}

/// Lift (delete) hold `id` of `person`; the hold as it was.
pub fn lift(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str) -> Result<Hold> {
    let found: Option<Row> = h::table
        .filter(h::tenant_id.eq(tenant.as_str()))
        .filter(h::person_id.eq(person.as_str()))
        .filter(h::id.eq(id))
        .select(columns!())
        .first(conn)
        .optional()
        .domain()?;
    let found = found.map(hold).ok_or(DomainError::NotFound)?;
    diesel::delete(h::table.filter(h::tenant_id.eq(tenant.as_str())).filter(h::id.eq(id))).execute(conn).domain()?;
    Ok(found)
}

/// Delete a person's holds (erasure: only ended ones can be left, since an
/// active hold refuses the erasure); rows removed.
pub(crate) fn erase_all(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(h::table.filter(h::tenant_id.eq(tenant.as_str())).filter(h::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// The legal-hold refusal (409 `legal_hold`), naming the hold's reason.
pub fn refusal(hold: &Hold) -> DomainError {
    DomainError::Conflict {
        code: "legal_hold",
        message: format!("the person is under a legal hold and cannot be erased: {}", hold.reason),
    }
}
