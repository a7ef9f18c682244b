//! Persons: their profile, created with their first contacts in one
//! transaction, listed by keyset pages that stay stable under concurrent
//! inserts (ids are UUIDv7, so new people sort after every existing one).

use diesel::prelude::*;
use kluis_core::page::Page;
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError, UniqueRow};
use kluis_store::schema::people;
use kluis_store::{Db, write_tx};
use time::PrimitiveDateTime;

use crate::contacts;
use crate::model::{ContactKind, NewPerson, PeopleQuery, Person, Profile, ProfilePatch};
use crate::rules::{Check, normalize_profile};

#[derive(Queryable, Selectable)]
#[diesel(table_name = people)]
struct PersonRow {
    id: String,
    salutation: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    nickname: Option<String>,
    date_of_birth: Option<String>,
    language: Option<String>,
    company_name: Option<String>,
    coc_number: Option<String>,
    vat_number: Option<String>,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

impl PersonRow {
    fn into_person(self) -> Person {
        Person {
            id: PersonId(self.id),
            profile: Profile {
                salutation: self.salutation,
                first_name: self.first_name,
                last_name: self.last_name,
                nickname: self.nickname,
                date_of_birth: self.date_of_birth,
                language: self.language,
                company_name: self.company_name,
                coc_number: self.coc_number,
                vat_number: self.vat_number,
            },
            emails: Vec::new(),
            phones: Vec::new(),
            addresses: Vec::new(),
            websites: Vec::new(),
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Lowercased search keys: first, last, "first last" and company.
fn keys(p: &Profile) -> [Option<String>; 4] {
    let lower = |s: &Option<String>| s.as_ref().map(|s| s.to_lowercase());
    let full = match (&p.first_name, &p.last_name) {
        (Some(f), Some(l)) => Some(format!("{f} {l}").to_lowercase()),
        _ => None,
    };
    [lower(&p.first_name), lower(&p.last_name), full, lower(&p.company_name)]
}

/// `NotFound` unless the person exists in the tenant.
pub(crate) fn exists(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<(), TxError> {
    let found: i64 = people::table
        .filter(people::tenant_id.eq(tenant.as_str()))
        .filter(people::id.eq(person.as_str()))
        .count()
        .get_result(conn)?;
    if found == 1 { Ok(()) } else { Err(DomainError::NotFound.into()) }
}

/// Create a person and their contacts in one transaction; nothing is stored
/// when any field breaks a rule.
pub fn create(conn: &mut Db, tenant: &TenantId, new: NewPerson) -> Result<Person> {
    let profile = normalize_profile(new.profile);
    let mut check = Check::default();
    check.profile(&profile);
    let mut counters = std::collections::HashMap::new();
    let contacts: Vec<_> = new
        .contacts
        .into_iter()
        .map(|c| {
            let kind = c.data.kind();
            let index = counters.entry(kind).or_insert(0usize);
            let prefix = format!("{}[{}]", kind.plural(), index);
            *index += 1;
            contacts::prepare(&mut check, &prefix, c)
        })
        .collect();
    check.into_result()?;
    let id = PersonId::generate();
    let now = kluis_core::time::now();
    let [first_key, last_key, full_key, company_key] = keys(&profile);
    write_tx(conn, |conn| -> Result<(), TxError> {
        diesel::insert_into(people::table)
            .values((
                people::tenant_id.eq(tenant.as_str()),
                people::id.eq(id.as_str()),
                people::salutation.eq(&profile.salutation),
                people::first_name.eq(&profile.first_name),
                people::last_name.eq(&profile.last_name),
                people::nickname.eq(&profile.nickname),
                people::date_of_birth.eq(&profile.date_of_birth),
                people::language.eq(&profile.language),
                people::company_name.eq(&profile.company_name),
                people::coc_number.eq(&profile.coc_number),
                people::vat_number.eq(&profile.vat_number),
                people::first_name_key.eq(&first_key),
                people::last_name_key.eq(&last_key),
                people::full_name_key.eq(&full_key),
                people::company_key.eq(&company_key),
                people::version.eq(1i64),
                people::created_at.eq(now),
                people::updated_at.eq(now),
            ))
            .execute(conn)?;
        for contact in contacts {
            contacts::insert(conn, tenant, &id, contact)?;
        }
        Ok(())
    })
    .map_err(DomainError::from)?;
    get(conn, tenant, &id)
}

/// Attach every person's contacts with four queries for the whole page.
fn with_contacts(conn: &mut Db, tenant: &TenantId, mut persons: Vec<Person>) -> Result<Vec<Person>> {
    let ids: Vec<String> = persons.iter().map(|p| p.id.0.clone()).collect();
    for kind in [ContactKind::Email, ContactKind::Phone, ContactKind::Address, ContactKind::Website] {
        for contact in contacts::load(conn, tenant, kind, &ids)? {
            if let Some(person) = persons.iter_mut().find(|p| p.id == contact.person_id) {
                match kind {
                    ContactKind::Email => person.emails.push(contact),
                    ContactKind::Phone => person.phones.push(contact),
                    ContactKind::Address => person.addresses.push(contact),
                    ContactKind::Website => person.websites.push(contact),
                }
            }
        }
    }
    Ok(persons)
}

/// One person with their contacts.
pub fn get(conn: &mut Db, tenant: &TenantId, id: &PersonId) -> Result<Person> {
    let row: PersonRow = people::table
        .filter(people::tenant_id.eq(tenant.as_str()))
        .filter(people::id.eq(id.as_str()))
        .select(PersonRow::as_select())
        .unique_row(conn)
        .domain()?
        .ok_or(DomainError::NotFound)?;
    let mut persons = with_contacts(conn, tenant, vec![row.into_person()])?;
    persons.pop().ok_or(DomainError::NotFound)
}

/// `LIKE` pattern matching `prefix` literally at the start.
fn prefix_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// People of the tenant in creation order, narrowed by `query`.
pub fn list(
    conn: &mut Db,
    tenant: &TenantId,
    query: &PeopleQuery,
    limit: i64,
    after: Option<&str>,
) -> Result<Page<Person>> {
    let mut select = people::table
        .filter(people::tenant_id.eq(tenant.as_str()))
        .select(PersonRow::as_select())
        .order(people::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(email) = &query.email {
        match contacts::person_with_email(conn, tenant, email)? {
            Some(id) => select = select.filter(people::id.eq(id)),
            None => return Ok(Page { items: Vec::new(), next_cursor: None }),
        }
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = prefix_pattern(&q.to_lowercase());
        select = select.filter(
            people::first_name_key
                .like(pattern.clone())
                .escape('\\')
                .or(people::last_name_key.like(pattern.clone()).escape('\\'))
                .or(people::full_name_key.like(pattern.clone()).escape('\\'))
                .or(people::company_key.like(pattern).escape('\\')),
        );
    }
    if let Some(after) = after {
        select = select.filter(people::id.gt(after.to_owned()));
    }
    let rows = select.load(conn).domain()?;
    let page = Page::from_rows(rows, limit, |r| r.id.clone());
    let persons = with_contacts(conn, tenant, page.items.into_iter().map(PersonRow::into_person).collect())?;
    Ok(Page { items: persons, next_cursor: page.next_cursor })
}

/// Change a person's profile; with `if_version`, only when it is still that version.
pub fn update(
    conn: &mut Db,
    tenant: &TenantId,
    id: &PersonId,
    if_version: Option<i64>,
    patch: &ProfilePatch,
) -> Result<Person> {
    write_tx(conn, |conn| -> Result<(), TxError> {
        let current = get(conn, tenant, id)?;
        if if_version.is_some_and(|v| v != current.version) {
            return Err(DomainError::VersionMismatch.into());
        }
        let profile = normalize_profile(patch.apply(&current.profile));
        let mut check = Check::default();
        check.profile(&profile);
        check.into_result()?;
        let [first_key, last_key, full_key, company_key] = keys(&profile);
        diesel::update(people::table.filter(people::tenant_id.eq(tenant.as_str())).filter(people::id.eq(id.as_str())))
            .set((
                people::salutation.eq(&profile.salutation),
                people::first_name.eq(&profile.first_name),
                people::last_name.eq(&profile.last_name),
                people::nickname.eq(&profile.nickname),
                people::date_of_birth.eq(&profile.date_of_birth),
                people::language.eq(&profile.language),
                people::company_name.eq(&profile.company_name),
                people::coc_number.eq(&profile.coc_number),
                people::vat_number.eq(&profile.vat_number),
                people::first_name_key.eq(&first_key),
                people::last_name_key.eq(&last_key),
                people::full_name_key.eq(&full_key),
                people::company_key.eq(&company_key),
                people::version.eq(current.version + 1),
                people::updated_at.eq(kluis_core::time::now()),
            ))
            .execute(conn)?;
        Ok(())
    })
    .map_err(DomainError::from)?;
    get(conn, tenant, id)
}

/// The person's current version, `NotFound` when absent (before an erasure).
pub fn version(conn: &mut Db, tenant: &TenantId, id: &PersonId) -> Result<i64> {
    people::table
        .filter(people::tenant_id.eq(tenant.as_str()))
        .filter(people::id.eq(id.as_str()))
        .select(people::version)
        .first(conn)
        .domain()
}

/// The person's language (a BCP 47 tag, if they gave one), `NotFound` when
/// the person is absent: what to speak to them in without loading the profile.
pub fn language(conn: &mut Db, tenant: &TenantId, id: &PersonId) -> Result<Option<String>> {
    people::table
        .filter(people::tenant_id.eq(tenant.as_str()))
        .filter(people::id.eq(id.as_str()))
        .select(people::language)
        .first(conn)
        .domain()
}

/// Delete the person row (contacts and references are erased first by
/// [`crate::PeopleData`]); rows removed.
pub(crate) fn delete_row(conn: &mut Db, tenant: &TenantId, id: &PersonId) -> Result<u64> {
    let n =
        diesel::delete(people::table.filter(people::tenant_id.eq(tenant.as_str())).filter(people::id.eq(id.as_str())))
            .execute(conn)
            .domain()?;
    Ok(n as u64)
}
