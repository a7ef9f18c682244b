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

use crate::attributes::{self, Writer};
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
            attributes: Vec::new(),
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
    let NewPerson { profile, contacts, attributes: values } = new;
    let profile = normalize_profile(profile);
    let mut check = Check::default();
    check.profile(&profile);
    let mut counters = std::collections::HashMap::new();
    let contacts: Vec<_> = contacts
        .into_iter()
        .map(|c| {
            let kind = c.data.kind();
            let index = counters.entry(kind).or_insert(0usize);
            let prefix = format!("{}[{}]", kind.plural(), index);
            *index += 1;
            contacts::prepare(&mut check, &prefix, c)
        })
        .collect();
    let id = PersonId::generate();
    let now = kluis_core::time::now();
    let [first_key, last_key, full_key, company_key] = keys(&profile);
    let values = values.into_iter().map(|(key, value)| (key, Some(value))).collect();
    write_tx(conn, |conn| -> Result<(), TxError> {
        // The attributes are checked against the definitions as they are in
        // this transaction; one answer names every broken field.
        let values = attributes::check(conn, tenant, &values, Writer::Staff, &mut check.0)?;
        std::mem::take(&mut check).into_result()?;
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
        attributes::write(conn, tenant, &id, &values)?;
        Ok(())
    })
    .map_err(DomainError::from)?;
    get(conn, tenant, &id)
}

/// Attach every person's contacts and attribute values with two queries
/// for the whole page.
fn with_contacts(conn: &mut Db, tenant: &TenantId, mut persons: Vec<Person>) -> Result<Vec<Person>> {
    let ids: Vec<String> = persons.iter().map(|p| p.id.0.clone()).collect();
    let mut values = attributes::of_persons(conn, tenant, &ids)?;
    for person in &mut persons {
        person.attributes = values.remove(person.id.as_str()).unwrap_or_default();
    }
    for (kind, contact) in contacts::load_all(conn, tenant, &ids)? {
        if let Some(person) = persons.iter_mut().find(|p| p.id == contact.person_id) {
            match kind {
                ContactKind::Email => person.emails.push(contact),
                ContactKind::Phone => person.phones.push(contact),
                ContactKind::Address => person.addresses.push(contact),
                ContactKind::Website => person.websites.push(contact),
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

/// Change a person's profile and attribute values; with `if_version`, only
/// when it is still that version. The person themselves (`writer`) may set
/// only self-editable attributes.
pub fn update(
    conn: &mut Db,
    tenant: &TenantId,
    id: &PersonId,
    if_version: Option<i64>,
    patch: &ProfilePatch,
    writer: Writer,
) -> Result<Person> {
    write_tx(conn, |conn| -> Result<(), TxError> {
        let current = get(conn, tenant, id)?;
        if if_version.is_some_and(|v| v != current.version) {
            return Err(DomainError::VersionMismatch.into());
        }
        let profile = normalize_profile(patch.apply(&current.profile));
        let mut check = Check::default();
        check.profile(&profile);
        let values = attributes::check(conn, tenant, &patch.attributes, writer, &mut check.0)?;
        check.into_result()?;
        attributes::write(conn, tenant, id, &values)?;
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

/// Every person of the tenant, by id (a restore checks each against the
/// erasure ledger).
pub fn ids(conn: &mut Db, tenant: &TenantId) -> Result<Vec<PersonId>> {
    let ids: Vec<String> =
        people::table.filter(people::tenant_id.eq(tenant.as_str())).select(people::id).load(conn).domain()?;
    Ok(ids.into_iter().map(PersonId).collect())
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

/// The people of the tenant about whom data of `category` is kept here, in
/// id order (who a breach of that category concerns); `None` for a
/// category this domain does not keep.
pub fn holding(
    conn: &mut Db,
    tenant: &TenantId,
    category: kluis_core::category::Category,
) -> Result<Option<Vec<PersonId>>> {
    use kluis_core::category::Category;
    use kluis_store::schema::{
        accounts, person_addresses, person_emails, person_phones, person_references, person_websites,
    };
    let t = tenant.as_str();
    let base = people::table.filter(people::tenant_id.eq(t)).select(people::id).order(people::id.asc());
    let ids: Vec<String> = match category {
        Category::Name => base
            .filter(
                people::salutation
                    .is_not_null()
                    .or(people::first_name.is_not_null())
                    .or(people::last_name.is_not_null())
                    .or(people::nickname.is_not_null()),
            )
            .load(conn),
        Category::DateOfBirth => base.filter(people::date_of_birth.is_not_null()).load(conn),
        Category::Language => base.filter(people::language.is_not_null()).load(conn),
        Category::Business => base
            .filter(
                people::company_name
                    .is_not_null()
                    .or(people::coc_number.is_not_null())
                    .or(people::vat_number.is_not_null()),
            )
            .load(conn),
        Category::Email => person_emails::table
            .filter(person_emails::tenant_id.eq(t))
            .select(person_emails::person_id)
            .distinct()
            .order(person_emails::person_id.asc())
            .load(conn),
        Category::Phone => person_phones::table
            .filter(person_phones::tenant_id.eq(t))
            .select(person_phones::person_id)
            .distinct()
            .order(person_phones::person_id.asc())
            .load(conn),
        Category::Address => person_addresses::table
            .filter(person_addresses::tenant_id.eq(t))
            .select(person_addresses::person_id)
            .distinct()
            .order(person_addresses::person_id.asc())
            .load(conn),
        Category::Website => person_websites::table
            .filter(person_websites::tenant_id.eq(t))
            .select(person_websites::person_id)
            .distinct()
            .order(person_websites::person_id.asc())
            .load(conn),
        Category::Reference => person_references::table
            .filter(person_references::tenant_id.eq(t))
            .select(person_references::person_id)
            .distinct()
            .order(person_references::person_id.asc())
            .load(conn),
        Category::Account => accounts::table
            .filter(accounts::tenant_id.eq(t))
            .select(accounts::person_id)
            .order(accounts::person_id.asc())
            .load(conn),
        Category::Device
        | Category::IpAddress
        | Category::Behavior
        | Category::PrivacyPreferences
        | Category::Service
        | Category::ServiceCredential
        | Category::ServiceBackup => {
            // Only tenant-defined attributes of such a category are kept here.
            let held = attributes::holding(conn, tenant, category)?;
            return Ok((!held.is_empty()).then(|| held.into_iter().map(PersonId).collect()));
        }
    }
    .domain()?;
    let mut ids: std::collections::BTreeSet<String> = ids.into_iter().collect();
    ids.extend(attributes::holding(conn, tenant, category)?);
    Ok(Some(ids.into_iter().map(PersonId).collect()))
}

/// Set the person's language when they have none (their first sign-in
/// tells it from the device); true when it was set. The version moves, the
/// change time too (the person's own sign-in).
pub fn set_language_if_unset(conn: &mut Db, tenant: &TenantId, id: &PersonId, language: &str) -> Result<bool> {
    if !kluis_core::validate::is_language_tag(language) {
        return Ok(false);
    }
    let n = diesel::update(
        people::table
            .filter(people::tenant_id.eq(tenant.as_str()))
            .filter(people::id.eq(id.as_str()))
            .filter(people::language.is_null()),
    )
    .set((
        people::language.eq(language),
        people::version.eq(people::version + 1),
        people::updated_at.eq(kluis_core::time::now()),
    ))
    .execute(conn)
    .domain()?;
    Ok(n == 1)
}
