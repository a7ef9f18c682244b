//! Notes per customer (`service_notes`): what VTS keeps of a customer's
//! contracts, the configuration and installation of their work environment
//! and their user data, each typed and in a data category of the catalogue
//! (so retention and the register treat it like any data of that category).

use diesel::prelude::*;
use kluis_core::category::{Category, is_special};
use kluis_core::page::Page;
use kluis_core::{DomainError, FieldError, PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::personal::Purge;
use kluis_store::schema::service_notes as n;
use time::PrimitiveDateTime;

use crate::text::{self, corrupt, wire_enum};

/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest body, in characters.
pub const MAX_BODY: usize = 10_000;

wire_enum! {
    /// What a note is about.
    Kind {
        /// A contract with the customer (service level, maintenance).
        Contract = "contract",
        /// The configuration of the customer's work environment.
        Configuration = "configuration",
        /// An installation done for the customer.
        Installation = "installation",
        /// What user data the customer has where.
        UserData = "user_data",
        /// Anything else.
        Other = "other",
    }
}

/// A note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Note id.
    pub id: String,
    /// The customer.
    pub person_id: PersonId,
    /// What it is about.
    pub kind: Kind,
    /// Its data category.
    pub category: Category,
    /// A title.
    pub title: String,
    /// The text.
    pub body: String,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Written.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

/// A note to write.
#[derive(Debug, Clone)]
pub struct NewNote {
    /// What it is about.
    pub kind: Kind,
    /// A catalogue category name; `user.service` when absent.
    pub category: Option<String>,
    /// 1 to [`MAX_TITLE`] characters.
    pub title: String,
    /// 1 to [`MAX_BODY`] characters.
    pub body: String,
}

/// A change to a note; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// What it is about.
    pub kind: Option<Kind>,
    /// A catalogue category name.
    pub category: Option<String>,
    /// The title.
    pub title: Option<String>,
    /// The text.
    pub body: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = n)]
struct Row {
    id: String,
    person_id: String,
    kind: String,
    category: String,
    title: String,
    body: String,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

impl TryFrom<Row> for Note {
    type Error = DomainError;

    fn try_from(r: Row) -> Result<Note> {
        Ok(Note {
            kind: Kind::parse(&r.kind).ok_or_else(|| corrupt("note kind", &r.kind))?,
            category: r.category.parse().map_err(|_| corrupt("note category", &r.category))?,
            id: r.id,
            person_id: PersonId(r.person_id),
            title: r.title,
            body: r.body,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn category(name: &str, errors: &mut Vec<FieldError>) -> Option<Category> {
    match name.parse::<Category>() {
        Ok(c) => Some(c),
        Err(_) if is_special(name) => {
            errors.push(FieldError::new(
                "category",
                "names a special category of personal data, which kluis never processes",
            ));
            None
        }
        Err(_) => {
            errors.push(FieldError::new(
                "category",
                "must be a category of the catalogue (user.service, user.business, ...)",
            ));
            None
        }
    }
}

/// The rules of a new note; its category.
pub fn check(new: &NewNote) -> Result<Category> {
    let mut errors = Vec::new();
    let found = category(new.category.as_deref().unwrap_or(Category::Service.as_str()), &mut errors);
    text::check("title", &new.title, 1, MAX_TITLE, false, &mut errors);
    text::check("body", &new.body, 1, MAX_BODY, true, &mut errors);
    match found {
        Some(c) if errors.is_empty() => Ok(c),
        _ => Err(DomainError::Validation(errors)),
    }
}

/// Write a note about `person` (who must exist: the caller checks it).
pub fn create(conn: &mut Db, tenant: &TenantId, person: &PersonId, new: &NewNote) -> Result<Note> {
    let category = check(new)?;
    let now = kluis_core::time::now();
    let id = kluis_core::new_id();
    diesel::insert_into(n::table)
        .values((
            n::tenant_id.eq(tenant.as_str()),
            n::id.eq(&id),
            n::person_id.eq(person.as_str()),
            n::kind.eq(new.kind.as_str()),
            n::category.eq(category.as_str()),
            n::title.eq(new.title.trim()),
            n::body.eq(new.body.trim()),
            n::version.eq(1i64),
            n::created_at.eq(now),
            n::updated_at.eq(now),
        ))
        .execute(conn)
        .domain()?;
    get(conn, tenant, person, &id)
}

/// Note `id` of `person`.
pub fn get(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str) -> Result<Note> {
    n::table
        .filter(n::tenant_id.eq(tenant.as_str()))
        .filter(n::person_id.eq(person.as_str()))
        .filter(n::id.eq(id))
        .select(Row::as_select())
        .first(conn)
        .optional()
        .domain()?
        .ok_or(DomainError::NotFound)?
        .try_into()
}

/// [`get`] at `if_version` (when given).
pub fn load(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str, if_version: Option<i64>) -> Result<Note> {
    let note = get(conn, tenant, person, id)?;
    if if_version.is_some_and(|v| v != note.version) {
        return Err(DomainError::VersionMismatch);
    }
    Ok(note)
}

/// A page of a person's notes, oldest first, after the id `after`.
pub fn list(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    limit: i64,
    after: Option<&str>,
) -> Result<Page<Note>> {
    let mut query = n::table
        .filter(n::tenant_id.eq(tenant.as_str()))
        .filter(n::person_id.eq(person.as_str()))
        .select(Row::as_select())
        .order(n::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(n::id.gt(after.to_owned()));
    }
    let rows = query.load(conn).domain()?;
    let notes = rows.into_iter().map(Note::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(notes, limit, |n| n.id.clone()))
}

/// Every note of a person (export).
pub fn all(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Note>> {
    Ok(list(conn, tenant, person, i64::MAX - 1, None)?.items)
}

/// Apply `changes` at the note's version, bumping it.
pub fn update(conn: &mut Db, tenant: &TenantId, note: &mut Note, changes: &Changes) -> Result<()> {
    let mut errors = Vec::new();
    let new_category = changes.category.as_deref().map(|c| category(c, &mut errors));
    if let Some(title) = &changes.title {
        text::check("title", title, 1, MAX_TITLE, false, &mut errors);
    }
    if let Some(body) = &changes.body {
        text::check("body", body, 1, MAX_BODY, true, &mut errors);
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    let mut next = note.clone();
    if let Some(Some(category)) = new_category {
        next.category = category;
    }
    if let Some(kind) = changes.kind {
        next.kind = kind;
    }
    if let Some(title) = &changes.title {
        title.trim().clone_into(&mut next.title);
    }
    if let Some(body) = &changes.body {
        body.trim().clone_into(&mut next.body);
    }
    next.updated_at = kluis_core::time::now();
    let done = diesel::update(
        n::table
            .filter(n::tenant_id.eq(tenant.as_str()))
            .filter(n::id.eq(&note.id))
            .filter(n::version.eq(note.version)),
    )
    .set((
        n::kind.eq(next.kind.as_str()),
        n::category.eq(next.category.as_str()),
        n::title.eq(&next.title),
        n::body.eq(&next.body),
        n::version.eq(note.version + 1),
        n::updated_at.eq(next.updated_at),
    ))
    .execute(conn)
    .domain()?;
    if done == 0 {
        return Err(DomainError::VersionMismatch);
    }
    next.version += 1;
    *note = next;
    Ok(())
}

/// Delete a note.
pub fn delete(conn: &mut Db, tenant: &TenantId, note: &Note) -> Result<()> {
    diesel::delete(n::table.filter(n::tenant_id.eq(tenant.as_str())).filter(n::id.eq(&note.id)))
        .execute(conn)
        .domain()?;
    Ok(())
}

/// Delete every note of a person (erasure); rows removed.
pub(crate) fn erase(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(n::table.filter(n::tenant_id.eq(tenant.as_str())).filter(n::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// Notes of `purge.category` written before the cutoff (notes record no
/// event and no use of their own). Either action deletes them.
pub(crate) fn purge(conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<u64> {
    if purge.due.is_unbounded() || purge.due.idle_before().is_some() || purge.due.ended_before.is_some() {
        return Ok(0);
    }
    let persons: Option<Vec<&str>> = purge.due.persons.map(|p| p.iter().map(PersonId::as_str).collect());
    let skip: Vec<&str> = purge.skip.iter().map(PersonId::as_str).collect();
    let due = || {
        let mut query = n::table
            .filter(n::tenant_id.eq(tenant.as_str()))
            .filter(n::category.eq(purge.category.as_str()))
            .into_boxed();
        if let Some(at) = purge.due.created_before {
            query = query.filter(n::created_at.lt(at));
        }
        if let Some(persons) = &persons {
            query = query.filter(n::person_id.eq_any(persons));
        }
        if !skip.is_empty() {
            query = query.filter(n::person_id.ne_all(&skip));
        }
        query
    };
    if purge.dry_run {
        let count: i64 = due().count().get_result(conn).domain()?;
        return Ok(count.unsigned_abs());
    }
    let ids: Vec<String> = due().select(n::id).limit(purge.limit_i64()).load(conn).domain()?;
    let removed = diesel::delete(n::table.filter(n::tenant_id.eq(tenant.as_str())).filter(n::id.eq_any(&ids)))
        .execute(conn)
        .domain()?;
    Ok(removed as u64)
}
