//! Restriction of processing (Art. 18): while a person is restricted their
//! data stays, but every consent check about them answers `allowed: false`
//! with `restricted: true`. One row per person (`person_restrictions`,
//! keyed by tenant and person), so the check costs one primary-key lookup;
//! lifting deletes the row and the previous answers return unchanged.

use std::collections::BTreeSet;

use diesel::prelude::*;
use kluis_core::{DomainError, FieldError, PersonId, Result, TenantId, validate};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::schema::person_restrictions as r;
use time::PrimitiveDateTime;

/// Longest reason, in characters.
pub const MAX_REASON: usize = 500;

/// A person's restriction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    /// The person restricted.
    pub person_id: PersonId,
    /// Why (the contested accuracy, the pending objection, ...).
    pub reason: String,
    /// The restriction request that set it, if one did.
    pub request_id: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Set.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

type Row = (String, String, Option<String>, i64, PrimitiveDateTime, PrimitiveDateTime);

fn restriction((person_id, reason, request_id, version, created_at, updated_at): Row) -> Restriction {
    Restriction { person_id: PersonId(person_id), reason, request_id, version, created_at, updated_at }
}

/// A reason: 1 to [`MAX_REASON`] characters, no control characters, no card number.
pub fn check_reason(field: &str, reason: &str) -> Result<()> {
    let trimmed = reason.trim();
    let message = if trimmed.is_empty() || trimmed.chars().count() > MAX_REASON {
        format!("must be 1 to {MAX_REASON} characters")
    } else if trimmed.chars().any(char::is_control) {
        "must not contain control characters".to_owned()
    } else if validate::contains_card_number(trimmed) {
        "looks like a payment card number, which kluis never stores".to_owned()
    } else {
        return Ok(());
    };
    Err(DomainError::Validation(vec![FieldError::new(field, message)]))
}

/// The restriction of `person`, if any.
pub fn get(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Option<Restriction>> {
    let row: Option<Row> = r::table
        .find((tenant.as_str(), person.as_str()))
        .select((r::person_id, r::reason, r::request_id, r::version, r::created_at, r::updated_at))
        .first(conn)
        .optional()
        .domain()?;
    Ok(row.map(restriction))
}

/// Restrict `person` (who must exist: the caller checks), or change the
/// reason of their restriction; with `if_version`, only while it is still
/// that version. Whether it was new, and the restriction.
pub fn set(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    reason: &str,
    request_id: Option<&str>,
    if_version: Option<i64>,
) -> Result<(bool, Restriction)> {
    check_reason("reason", reason)?;
    let reason = reason.trim();
    let now = kluis_core::time::now();
    match get(conn, tenant, person)? {
        Some(current) => {
            if if_version.is_some_and(|v| v != current.version) {
                return Err(DomainError::VersionMismatch);
            }
            diesel::update(r::table.find((tenant.as_str(), person.as_str())))
                .set((r::reason.eq(reason), r::version.eq(current.version + 1), r::updated_at.eq(now)))
                .execute(conn)
                .domain()?;
            let updated =
                Restriction { reason: reason.to_owned(), version: current.version + 1, updated_at: now, ..current };
            Ok((false, updated))
        }
        None => {
            if if_version.is_some() {
                return Err(DomainError::VersionMismatch);
            }
            diesel::insert_into(r::table)
                .values((
                    r::tenant_id.eq(tenant.as_str()),
                    r::person_id.eq(person.as_str()),
                    r::reason.eq(reason),
                    r::request_id.eq(request_id),
                    r::version.eq(1i64),
                    r::created_at.eq(now),
                    r::updated_at.eq(now),
                ))
                .execute(conn)
                .domain()?;
            let made = Restriction {
                person_id: person.clone(),
                reason: reason.to_owned(),
                request_id: request_id.map(str::to_owned),
                version: 1,
                created_at: now,
                updated_at: now,
            };
            Ok((true, made))
        }
    }
}

/// Lift the restriction of `person` (404 when there is none); with
/// `if_version`, only while it is still that version.
pub fn lift(conn: &mut Db, tenant: &TenantId, person: &PersonId, if_version: Option<i64>) -> Result<Restriction> {
    let current = get(conn, tenant, person)?.ok_or(DomainError::NotFound)?;
    if if_version.is_some_and(|v| v != current.version) {
        return Err(DomainError::VersionMismatch);
    }
    diesel::delete(r::table.find((tenant.as_str(), person.as_str()))).execute(conn).domain()?;
    Ok(current)
}

/// Whether `person` is restricted: one primary-key lookup (the consent
/// check's hot path).
pub fn is_restricted(conn: &mut Db, tenant: &TenantId, person: &str) -> Result<bool> {
    let found: Option<String> =
        r::table.find((tenant.as_str(), person)).select(r::person_id).first(conn).optional().domain()?;
    Ok(found.is_some())
}

/// Which of `persons` are restricted: one indexed query for a whole batch.
pub fn restricted_among(conn: &mut Db, tenant: &TenantId, persons: &[&str]) -> Result<BTreeSet<String>> {
    if persons.is_empty() {
        return Ok(BTreeSet::new());
    }
    let found: Vec<String> = r::table
        .filter(r::tenant_id.eq(tenant.as_str()))
        .filter(r::person_id.eq_any(persons))
        .select(r::person_id)
        .load(conn)
        .domain()?;
    Ok(found.into_iter().collect())
}

/// Delete a person's restriction (erasure); rows removed.
pub(crate) fn erase(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(r::table.find((tenant.as_str(), person.as_str()))).execute(conn).domain()?;
    Ok(n as u64)
}
