//! How the people domain's data ages: the retention purges of its holder
//! (profile fields, contacts, references, accounts, sessions; see
//! [`Purge`]) and the activity a person's inactivity is measured by
//! (profile changes, session use).

use diesel::prelude::*;
use diesel::sql_types::Bool;
use kluis_core::category::Category;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::db::MultiBackend;
use kluis_store::error::StoreResultExt;
use kluis_store::personal::{Idle, Purge, PurgeAction, PurgeReport};
use kluis_store::schema::{accounts as a, people as p, person_references as r, refresh_tokens as rt, sessions as s};
use time::PrimitiveDateTime;

use crate::contacts;
use crate::model::ContactKind;

/// Purge the rows of `purge.category` this domain keeps.
pub(crate) fn purge(conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<PurgeReport> {
    let mut report = PurgeReport::new();
    if purge.due.is_unbounded() {
        return Ok(report);
    }
    let contact = |kind| match kind {
        ContactKind::Email => "person_emails",
        ContactKind::Phone => "person_phones",
        ContactKind::Address => "person_addresses",
        ContactKind::Website => "person_websites",
    };
    match purge.category {
        Category::Name | Category::DateOfBirth | Category::Language | Category::Business => {
            report.insert("people", profile(conn, tenant, purge)?);
        }
        Category::Email | Category::Phone | Category::Address | Category::Website => {
            let kind = match purge.category {
                Category::Email => ContactKind::Email,
                Category::Phone => ContactKind::Phone,
                Category::Address => ContactKind::Address,
                _ => ContactKind::Website,
            };
            report.insert(contact(kind), contacts::purge(conn, tenant, kind, purge)?);
        }
        Category::Reference => {
            report.insert("person_references", references(conn, tenant, purge)?);
        }
        Category::Account => {
            for (table, n) in accounts(conn, tenant, purge)? {
                *report.entry(table).or_default() += n;
            }
        }
        Category::Device | Category::IpAddress => {
            for (table, n) in sessions(conn, tenant, purge)? {
                *report.entry(table).or_default() += n;
            }
        }
        Category::Behavior
        | Category::PrivacyPreferences
        | Category::Service
        | Category::ServiceCredential
        | Category::ServiceBackup => {}
    }
    // Tenant-defined attributes of the category, whatever it is.
    let values = crate::attributes::purge(conn, tenant, purge)?;
    if values > 0 {
        report.insert("person_attributes", values);
    }
    Ok(report)
}

type Filter<T> = Box<dyn BoxableExpression<T, MultiBackend, SqlType = Bool>>;

/// Profile fields of a category still set on a person's row.
fn still_set(category: Category) -> Option<Filter<p::table>> {
    Some(match category {
        Category::Name => Box::new(
            p::salutation
                .is_not_null()
                .or(p::first_name.is_not_null())
                .or(p::last_name.is_not_null())
                .or(p::nickname.is_not_null()),
        ),
        Category::DateOfBirth => Box::new(p::date_of_birth.is_not_null()),
        Category::Language => Box::new(p::language.is_not_null()),
        Category::Business => {
            Box::new(p::company_name.is_not_null().or(p::coc_number.is_not_null()).or(p::vat_number.is_not_null()))
        }
        _ => return None,
    })
}

/// Clear a category's profile fields (deleting or anonymising them is the
/// same: the person stays, without them). "Created" is when the person was
/// made; a profile has no activity of its own, so an idle purge does not
/// reach it. The version moves (an `If-Match` on the old one fails); the
/// change time does not (it is the person's activity, and this is not theirs).
fn profile(conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<u64> {
    if purge.due.idle_before().is_some() {
        return Ok(0);
    }
    let persons: Option<Vec<&str>> = purge.due.persons.map(|p| p.iter().map(PersonId::as_str).collect());
    let skip: Vec<&str> = purge.skip.iter().map(PersonId::as_str).collect();
    let due = || {
        let mut query = p::table.filter(p::tenant_id.eq(tenant.as_str())).into_boxed();
        if let Some(set) = still_set(purge.category) {
            query = query.filter(set);
        }
        if let Some(at) = purge.due.created_before {
            query = query.filter(p::created_at.lt(at));
        }
        if let Some(persons) = &persons {
            query = query.filter(p::id.eq_any(persons));
        }
        if !skip.is_empty() {
            query = query.filter(p::id.ne_all(&skip));
        }
        query
    };
    if purge.dry_run {
        let n: i64 = due().count().get_result(conn).domain()?;
        return Ok(n.unsigned_abs());
    }
    let ids: Vec<String> = due().select(p::id).limit(purge.limit_i64()).load(conn).domain()?;
    let rows = p::table.filter(p::tenant_id.eq(tenant.as_str())).filter(p::id.eq_any(&ids));
    let none = None::<String>;
    let n = match purge.category {
        Category::Name => diesel::update(rows)
            .set((
                p::salutation.eq(&none),
                p::first_name.eq(&none),
                p::last_name.eq(&none),
                p::nickname.eq(&none),
                p::first_name_key.eq(&none),
                p::last_name_key.eq(&none),
                p::full_name_key.eq(&none),
                p::version.eq(p::version + 1),
            ))
            .execute(conn),
        Category::DateOfBirth => {
            diesel::update(rows).set((p::date_of_birth.eq(&none), p::version.eq(p::version + 1))).execute(conn)
        }
        Category::Language => {
            diesel::update(rows).set((p::language.eq(&none), p::version.eq(p::version + 1))).execute(conn)
        }
        _ => diesel::update(rows)
            .set((
                p::company_name.eq(&none),
                p::coc_number.eq(&none),
                p::vat_number.eq(&none),
                p::company_key.eq(&none),
                p::version.eq(p::version + 1),
            ))
            .execute(conn),
    }
    .domain()?;
    Ok(n as u64)
}

/// Delete the references apps hold (created before, of the persons given).
fn references(conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<u64> {
    if purge.due.idle_before().is_some() {
        return Ok(0);
    }
    let persons: Option<Vec<&str>> = purge.due.persons.map(|p| p.iter().map(PersonId::as_str).collect());
    let skip: Vec<&str> = purge.skip.iter().map(PersonId::as_str).collect();
    let due = || {
        let mut query = r::table.filter(r::tenant_id.eq(tenant.as_str())).into_boxed();
        if let Some(at) = purge.due.created_before {
            query = query.filter(r::created_at.lt(at));
        }
        if let Some(persons) = &persons {
            query = query.filter(r::person_id.eq_any(persons));
        }
        if !skip.is_empty() {
            query = query.filter(r::person_id.ne_all(&skip));
        }
        query
    };
    if purge.dry_run {
        let n: i64 = due().count().get_result(conn).domain()?;
        return Ok(n.unsigned_abs());
    }
    let ids: Vec<String> = due().select(r::id).limit(purge.limit_i64()).load(conn).domain()?;
    let n = diesel::delete(r::table.filter(r::tenant_id.eq(tenant.as_str())).filter(r::id.eq_any(&ids)))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// Delete whole accounts (with their sessions, secrets, challenges and
/// queued mail), as erasure does: created before, of the persons given.
/// An account's activity is its sessions': an idle purge does not reach it.
fn accounts(conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<Vec<(&'static str, u64)>> {
    if purge.due.idle_before().is_some() {
        return Ok(Vec::new());
    }
    let persons: Option<Vec<&str>> = purge.due.persons.map(|p| p.iter().map(PersonId::as_str).collect());
    let skip: Vec<&str> = purge.skip.iter().map(PersonId::as_str).collect();
    let due = || {
        let mut query = a::table.filter(a::tenant_id.eq(tenant.as_str())).into_boxed();
        if let Some(at) = purge.due.created_before {
            query = query.filter(a::created_at.lt(at));
        }
        if let Some(persons) = &persons {
            query = query.filter(a::person_id.eq_any(persons));
        }
        if !skip.is_empty() {
            query = query.filter(a::person_id.ne_all(&skip));
        }
        query
    };
    if purge.dry_run {
        let n: i64 = due().count().get_result(conn).domain()?;
        return Ok(vec![("accounts", n.unsigned_abs())]);
    }
    let owners: Vec<String> = due().select(a::person_id).limit(purge.limit_i64()).load(conn).domain()?;
    let mut removed = Vec::new();
    for owner in owners {
        removed.extend(crate::accounts::erase(conn, tenant, &PersonId(owner))?);
    }
    Ok(removed)
}

/// Sessions, the sign-in records (IP prefix, User-Agent, login and last-use
/// times): `user.device` deletes them (and their refresh tokens), or
/// anonymised clears the IP prefix and User-Agent; `user.device.ip_address`
/// clears the IP prefix. "Idle" is a session's own last use.
fn sessions(conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<Vec<(&'static str, u64)>> {
    if purge.due.idle == Some(Idle::OfPersons) {
        return Ok(Vec::new());
    }
    let ip_only = purge.category == Category::IpAddress;
    let anonymise = ip_only || purge.action == PurgeAction::Anonymise;
    let persons: Option<Vec<&str>> = purge.due.persons.map(|p| p.iter().map(PersonId::as_str).collect());
    let skip: Vec<&str> = purge.skip.iter().map(PersonId::as_str).collect();
    let due = || {
        let mut query = s::table.filter(s::tenant_id.eq(tenant.as_str())).into_boxed();
        if let Some(at) = purge.due.created_before {
            query = query.filter(s::created_at.lt(at));
        }
        if let Some(at) = purge.due.idle_before() {
            query = query.filter(s::last_used_at.lt(at));
        }
        if let Some(persons) = &persons {
            query = query.filter(s::person_id.eq_any(persons));
        }
        if !skip.is_empty() {
            query = query.filter(s::person_id.ne_all(&skip));
        }
        if ip_only {
            query = query.filter(s::ip_prefix.is_not_null());
        } else if anonymise {
            query = query.filter(s::ip_prefix.is_not_null().or(s::user_agent.is_not_null()));
        }
        query
    };
    if purge.dry_run {
        let n: i64 = due().count().get_result(conn).domain()?;
        return Ok(vec![("sessions", n.unsigned_abs())]);
    }
    let ids: Vec<String> = due().select(s::id).limit(purge.limit_i64()).load(conn).domain()?;
    let rows = s::table.filter(s::tenant_id.eq(tenant.as_str())).filter(s::id.eq_any(&ids));
    if anonymise {
        let n = if ip_only {
            diesel::update(rows).set(s::ip_prefix.eq(None::<String>)).execute(conn)
        } else {
            diesel::update(rows).set((s::ip_prefix.eq(None::<String>), s::user_agent.eq(None::<String>))).execute(conn)
        }
        .domain()?;
        return Ok(vec![("sessions", n as u64)]);
    }
    let tokens =
        diesel::delete(rt::table.filter(rt::tenant_id.eq(tenant.as_str())).filter(rt::session_id.eq_any(&ids)))
            .execute(conn)
            .domain()?;
    let n = diesel::delete(rows).execute(conn).domain()?;
    Ok(vec![("refresh_tokens", tokens as u64), ("sessions", n as u64)])
}

/// Persons of the tenant whose profile has not changed since before
/// `before`, by id after `after`, at most `limit`: the candidates for
/// inactivity, before their sessions and other domains have their say.
pub fn unchanged_since(
    conn: &mut Db,
    tenant: &TenantId,
    before: PrimitiveDateTime,
    after: Option<&PersonId>,
    limit: i64,
) -> Result<Vec<PersonId>> {
    let mut query = p::table
        .filter(p::tenant_id.eq(tenant.as_str()))
        .filter(p::updated_at.lt(before))
        .select(p::id)
        .order(p::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(p::id.gt(after.as_str().to_owned()));
    }
    let ids: Vec<String> = query.load(conn).domain()?;
    Ok(ids.into_iter().map(PersonId).collect())
}

/// The people of `persons` with a session used since `since`.
pub fn active_since(
    conn: &mut Db,
    tenant: &TenantId,
    persons: &[PersonId],
    since: PrimitiveDateTime,
) -> Result<Vec<PersonId>> {
    let persons: Vec<&str> = persons.iter().map(PersonId::as_str).collect();
    let active: Vec<String> = s::table
        .filter(s::tenant_id.eq(tenant.as_str()))
        .filter(s::person_id.eq_any(&persons))
        .filter(s::last_used_at.ge(since))
        .select(s::person_id)
        .distinct()
        .load(conn)
        .domain()?;
    Ok(active.into_iter().map(PersonId).collect())
}
