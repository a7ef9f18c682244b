//! Contacts: e-mails, phones, addresses and websites, each kind in its own
//! table. Deleting a contact removes the row; there is no soft delete. One
//! contact per kind is primary: the first is, and making another primary
//! (or deleting the primary) moves the mark.

use diesel::dsl::AsExprOf;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError, is_unique_violation};
use kluis_store::personal::Purge;
use kluis_store::schema::{person_addresses, person_emails, person_phones, person_websites};
use kluis_store::{Db, write_tx};
use time::PrimitiveDateTime;

use crate::model::{AddressData, Contact, ContactData, ContactKind, ContactPatch, Label, NewContact};
use crate::persons;
use crate::rules::{Check, normalize_data};

/// Run `$body` with `$t` bound to the table module of `$kind`; for the
/// operations that touch only the columns every contact table shares.
macro_rules! with_table {
    ($kind:expr, $t:ident => $body:expr) => {
        match $kind {
            ContactKind::Email => {
                use kluis_store::schema::person_emails as $t;
                $body
            }
            ContactKind::Phone => {
                use kluis_store::schema::person_phones as $t;
                $body
            }
            ContactKind::Address => {
                use kluis_store::schema::person_addresses as $t;
                $body
            }
            ContactKind::Website => {
                use kluis_store::schema::person_websites as $t;
                $body
            }
        }
    };
}

fn email_taken() -> DomainError {
    DomainError::Conflict {
        code: "email_taken",
        message: "another person of this tenant has this e-mail address".into(),
    }
}

fn label_of(text: &str) -> Result<Label> {
    Label::parse(text).ok_or_else(|| DomainError::Internal(format!("unknown label {text}")))
}

/// A contact row of any kind in the projection the four tables share: the
/// kind's code, the common columns, and the data in seven columns (an
/// e-mail, phone number or website in the first, an address in all seven).
type ContactRow = (
    i32,
    String,
    String,
    String,
    bool,
    Option<PrimitiveDateTime>,
    i64,
    PrimitiveDateTime,
    PrimitiveDateTime,
    (Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>),
);

/// The code of a kind in [`ContactRow`].
const fn code_of(kind: ContactKind) -> i32 {
    match kind {
        ContactKind::Email => 0,
        ContactKind::Phone => 1,
        ContactKind::Address => 2,
        ContactKind::Website => 3,
    }
}

/// No text, to pad a table's row to the shared projection.
fn no_text() -> AsExprOf<Option<String>, Nullable<Text>> {
    None::<String>.into_sql::<Nullable<Text>>()
}

/// No instant: websites and addresses are not verified.
fn no_instant() -> AsExprOf<Option<PrimitiveDateTime>, Nullable<Timestamp>> {
    None::<PrimitiveDateTime>.into_sql::<Nullable<Timestamp>>()
}

/// The `SELECT` of one kind's contacts of `$people` in the shared
/// projection. `$filter` is `eq` for one person (a profile read: the
/// statement stays in SQLite's prepared-statement cache, which an `IN`
/// list never does), `eq_any` for a page of them.
macro_rules! select_kind {
    (@ $t:ident, $kind:expr, $verified:expr, $data:expr, $tenant:expr, $filter:ident, $people:expr) => {
        $t::table.filter($t::tenant_id.eq($tenant)).filter($t::person_id.$filter($people)).select((
            code_of($kind).into_sql::<Integer>(),
            $t::id,
            $t::person_id,
            $t::label,
            $t::is_primary,
            $verified,
            $t::version,
            $t::created_at,
            $t::updated_at,
            $data,
        ))
    };
    (Email, $($rest:tt)*) => {{
        use person_emails as t;
        let data = (t::address.nullable(), no_text(), no_text(), no_text(), no_text(), no_text(), no_text());
        select_kind!(@ t, ContactKind::Email, t::verified_at, data, $($rest)*)
    }};
    (Phone, $($rest:tt)*) => {{
        use person_phones as t;
        let data = (t::number.nullable(), no_text(), no_text(), no_text(), no_text(), no_text(), no_text());
        select_kind!(@ t, ContactKind::Phone, t::verified_at, data, $($rest)*)
    }};
    (Address, $($rest:tt)*) => {{
        use person_addresses as t;
        let data = (t::street, t::house_number, t::addition, t::postal_code, t::city, t::region, t::country.nullable());
        select_kind!(@ t, ContactKind::Address, no_instant(), data, $($rest)*)
    }};
    (Website, $($rest:tt)*) => {{
        use person_websites as t;
        let data = (t::url.nullable(), no_text(), no_text(), no_text(), no_text(), no_text(), no_text());
        select_kind!(@ t, ContactKind::Website, no_instant(), data, $($rest)*)
    }};
}

/// Load `$query`'s [`ContactRow`]s on either backend: the query is built
/// with diesel's `UNION ALL`, which its multi-backend connection lacks.
macro_rules! load_rows {
    ($conn:expr, $query:expr) => {
        match $conn {
            Db::Pg(pg) => $query.load::<ContactRow>(pg),
            Db::Sqlite(sqlite) => $query.load::<ContactRow>(sqlite),
        }
    };
}

/// Every contact of `people` of one kind, oldest first.
pub(crate) fn load(conn: &mut Db, tenant: &TenantId, kind: ContactKind, people: &[String]) -> Result<Vec<Contact>> {
    let tenant = tenant.as_str();
    macro_rules! of_kind {
        ($filter:ident, $people:expr) => {
            match kind {
                ContactKind::Email => load_rows!(conn, select_kind!(Email, tenant, $filter, $people)),
                ContactKind::Phone => load_rows!(conn, select_kind!(Phone, tenant, $filter, $people)),
                ContactKind::Address => load_rows!(conn, select_kind!(Address, tenant, $filter, $people)),
                ContactKind::Website => load_rows!(conn, select_kind!(Website, tenant, $filter, $people)),
            }
        };
    }
    let rows = match people {
        [one] => of_kind!(eq, one),
        many => of_kind!(eq_any, many),
    }
    .domain()?;
    Ok(into_contacts(rows)?.into_iter().map(|(_, contact)| contact).collect())
}

/// Every contact of `people` of every kind, in one query (a profile read
/// costs one round trip for them, not four), each kind oldest first.
pub(crate) fn load_all(conn: &mut Db, tenant: &TenantId, people: &[String]) -> Result<Vec<(ContactKind, Contact)>> {
    let tenant = tenant.as_str();
    macro_rules! of_every_kind {
        ($filter:ident, $people:expr) => {
            load_rows!(
                conn,
                select_kind!(Email, tenant, $filter, $people)
                    .union_all(select_kind!(Phone, tenant, $filter, $people))
                    .union_all(select_kind!(Address, tenant, $filter, $people))
                    .union_all(select_kind!(Website, tenant, $filter, $people))
            )
        };
    }
    let rows = match people {
        [one] => of_every_kind!(eq, one),
        many => of_every_kind!(eq_any, many),
    }
    .domain()?;
    into_contacts(rows)
}

/// Contacts from their rows, by kind, person and age (a UUIDv7 id sorts by
/// creation time).
fn into_contacts(mut rows: Vec<ContactRow>) -> Result<Vec<(ContactKind, Contact)>> {
    rows.sort_unstable_by(|a, b| (a.0, &a.2, &a.1).cmp(&(b.0, &b.2, &b.1)));
    rows.into_iter()
        .map(|(code, id, person, label, primary, verified_at, version, created_at, updated_at, data)| {
            let (first, house_number, addition, postal_code, city, region, country) = data;
            let text = |value: Option<String>| {
                value.ok_or_else(|| DomainError::Internal(format!("contact {id} has no value")))
            };
            let (kind, data) = match code {
                0 => (ContactKind::Email, ContactData::Email(text(first)?)),
                1 => (ContactKind::Phone, ContactData::Phone(text(first)?)),
                2 => (
                    ContactKind::Address,
                    ContactData::Address(AddressData {
                        street: first,
                        house_number,
                        addition,
                        postal_code,
                        city,
                        region,
                        country: text(country)?,
                    }),
                ),
                3 => (ContactKind::Website, ContactData::Website(text(first)?)),
                other => return Err(DomainError::Internal(format!("unknown contact kind {other}"))),
            };
            let contact = Contact {
                id,
                person_id: PersonId(person),
                label: label_of(&label)?,
                primary,
                verified_at,
                version,
                created_at,
                updated_at,
                data,
            };
            Ok((kind, contact))
        })
        .collect()
}

fn has_primary(conn: &mut Db, tenant: &TenantId, person: &PersonId, kind: ContactKind) -> Result<bool, TxError> {
    let count: i64 = with_table!(kind, t => t::table
        .filter(t::tenant_id.eq(tenant.as_str()))
        .filter(t::person_id.eq(person.as_str()))
        .filter(t::is_primary.eq(true))
        .count()
        .get_result(conn)?);
    Ok(count > 0)
}

fn clear_primary(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    kind: ContactKind,
    now: PrimitiveDateTime,
) -> Result<(), TxError> {
    with_table!(kind, t => diesel::update(t::table)
        .filter(t::tenant_id.eq(tenant.as_str()))
        .filter(t::person_id.eq(person.as_str()))
        .filter(t::is_primary.eq(true))
        .set((t::is_primary.eq(false), t::version.eq(t::version + 1), t::updated_at.eq(now)))
        .execute(conn)?);
    Ok(())
}

/// Insert a checked contact inside the caller's transaction.
pub(crate) fn insert(conn: &mut Db, tenant: &TenantId, person: &PersonId, new: NewContact) -> Result<Contact, TxError> {
    let kind = new.data.kind();
    let now = kluis_core::time::now();
    let primary = new.primary || !has_primary(conn, tenant, person, kind)?;
    if primary {
        clear_primary(conn, tenant, person, kind, now)?;
    }
    let id = kluis_core::new_id();
    let (t, p, l) = (tenant.as_str(), person.as_str(), new.label.as_str());
    match &new.data {
        ContactData::Email(address) => {
            use person_emails as e;
            diesel::insert_into(e::table)
                .values((
                    e::tenant_id.eq(t),
                    e::id.eq(&id),
                    e::person_id.eq(p),
                    e::address.eq(address),
                    e::address_key.eq(address.to_lowercase()),
                    e::label.eq(l),
                    e::is_primary.eq(primary),
                    e::version.eq(1i64),
                    e::created_at.eq(now),
                    e::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(|e| if is_unique_violation(&e) { TxError(email_taken()) } else { TxError::from(e) })?;
        }
        ContactData::Phone(number) => {
            use person_phones as x;
            diesel::insert_into(x::table)
                .values((
                    x::tenant_id.eq(t),
                    x::id.eq(&id),
                    x::person_id.eq(p),
                    x::number.eq(number),
                    x::label.eq(l),
                    x::is_primary.eq(primary),
                    x::version.eq(1i64),
                    x::created_at.eq(now),
                    x::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        ContactData::Website(url) => {
            use person_websites as x;
            diesel::insert_into(x::table)
                .values((
                    x::tenant_id.eq(t),
                    x::id.eq(&id),
                    x::person_id.eq(p),
                    x::url.eq(url),
                    x::label.eq(l),
                    x::is_primary.eq(primary),
                    x::version.eq(1i64),
                    x::created_at.eq(now),
                    x::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        ContactData::Address(a) => {
            use person_addresses as x;
            diesel::insert_into(x::table)
                .values((
                    x::tenant_id.eq(t),
                    x::id.eq(&id),
                    x::person_id.eq(p),
                    x::street.eq(&a.street),
                    x::house_number.eq(&a.house_number),
                    x::addition.eq(&a.addition),
                    x::postal_code.eq(&a.postal_code),
                    x::city.eq(&a.city),
                    x::region.eq(&a.region),
                    x::country.eq(&a.country),
                    x::label.eq(l),
                    x::is_primary.eq(primary),
                    x::version.eq(1i64),
                    x::created_at.eq(now),
                    x::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    Ok(Contact {
        id,
        person_id: person.clone(),
        label: new.label,
        primary,
        verified_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
        data: new.data,
    })
}

/// Check and normalise a new contact; `prefix` names it in field errors.
pub(crate) fn prepare(check: &mut Check, prefix: &str, new: NewContact) -> NewContact {
    let new = NewContact { data: normalize_data(new.data), ..new };
    check.contact(prefix, &new);
    new
}

/// Add a contact to a person.
pub fn create(conn: &mut Db, tenant: &TenantId, person: &PersonId, new: NewContact) -> Result<Contact> {
    let mut check = Check::default();
    let new = prepare(&mut check, "", new);
    check.into_result()?;
    write_tx(conn, |conn| {
        persons::exists(conn, tenant, person)?;
        insert(conn, tenant, person, new)
    })
    .map_err(DomainError::from)
}

/// A person's contacts of one kind, oldest first.
pub fn list(conn: &mut Db, tenant: &TenantId, person: &PersonId, kind: ContactKind) -> Result<Vec<Contact>> {
    persons::exists(conn, tenant, person).map_err(DomainError::from)?;
    load(conn, tenant, kind, std::slice::from_ref(&person.0))
}

/// One contact of a person.
pub fn get(conn: &mut Db, tenant: &TenantId, person: &PersonId, kind: ContactKind, id: &str) -> Result<Contact> {
    list(conn, tenant, person, kind)?.into_iter().find(|c| c.id == id).ok_or(DomainError::NotFound)
}

/// Change a contact; with `if_version`, only when it is still that version.
pub fn update(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    kind: ContactKind,
    id: &str,
    if_version: Option<i64>,
    patch: &ContactPatch,
) -> Result<Contact> {
    write_tx(conn, |conn| -> Result<Contact, TxError> {
        let current = get(conn, tenant, person, kind, id)?;
        if if_version.is_some_and(|v| v != current.version) {
            return Err(DomainError::VersionMismatch.into());
        }
        let data = match (&current.data, patch) {
            (ContactData::Email(_), ContactPatch { value: Some(v), .. }) => ContactData::Email(v.clone()),
            (ContactData::Phone(_), ContactPatch { value: Some(v), .. }) => ContactData::Phone(v.clone()),
            (ContactData::Website(_), ContactPatch { value: Some(v), .. }) => ContactData::Website(v.clone()),
            (ContactData::Address(a), ContactPatch { address: p, .. }) => {
                let pick =
                    |patch: &Option<Option<String>>, old: &Option<String>| patch.clone().unwrap_or_else(|| old.clone());
                ContactData::Address(AddressData {
                    street: pick(&p.street, &a.street),
                    house_number: pick(&p.house_number, &a.house_number),
                    addition: pick(&p.addition, &a.addition),
                    postal_code: pick(&p.postal_code, &a.postal_code),
                    city: pick(&p.city, &a.city),
                    region: pick(&p.region, &a.region),
                    country: p.country.clone().unwrap_or_else(|| a.country.clone()),
                })
            }
            (same, _) => same.clone(),
        };
        let data = normalize_data(data);
        let label = patch.label.unwrap_or(current.label);
        let mut check = Check::default();
        check.label("label", label, &data);
        check.data("", &data);
        check.into_result()?;
        let now = kluis_core::time::now();
        let primary = match patch.primary {
            Some(true) if !current.primary => {
                clear_primary(conn, tenant, person, kind, now)?;
                true
            }
            // The primary mark moves only by making another contact primary.
            _ => current.primary,
        };
        let version = current.version + 1;
        let (t, l) = (tenant.as_str(), label.as_str());
        let changed = match &data {
            ContactData::Email(address) => {
                use person_emails as e;
                diesel::update(e::table.filter(e::tenant_id.eq(t)).filter(e::id.eq(id)))
                    .set((
                        e::address.eq(address),
                        e::address_key.eq(address.to_lowercase()),
                        e::label.eq(l),
                        e::is_primary.eq(primary),
                        e::version.eq(version),
                        e::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .map_err(|e| if is_unique_violation(&e) { TxError(email_taken()) } else { TxError::from(e) })?
            }
            ContactData::Phone(number) => {
                use person_phones as x;
                diesel::update(x::table.filter(x::tenant_id.eq(t)).filter(x::id.eq(id)))
                    .set((
                        x::number.eq(number),
                        x::label.eq(l),
                        x::is_primary.eq(primary),
                        x::version.eq(version),
                        x::updated_at.eq(now),
                    ))
                    .execute(conn)?
            }
            ContactData::Website(url) => {
                use person_websites as x;
                diesel::update(x::table.filter(x::tenant_id.eq(t)).filter(x::id.eq(id)))
                    .set((
                        x::url.eq(url),
                        x::label.eq(l),
                        x::is_primary.eq(primary),
                        x::version.eq(version),
                        x::updated_at.eq(now),
                    ))
                    .execute(conn)?
            }
            ContactData::Address(a) => {
                use person_addresses as x;
                diesel::update(x::table.filter(x::tenant_id.eq(t)).filter(x::id.eq(id)))
                    .set((
                        x::street.eq(&a.street),
                        x::house_number.eq(&a.house_number),
                        x::addition.eq(&a.addition),
                        x::postal_code.eq(&a.postal_code),
                        x::city.eq(&a.city),
                        x::region.eq(&a.region),
                        x::country.eq(&a.country),
                        x::label.eq(l),
                        x::is_primary.eq(primary),
                        x::version.eq(version),
                        x::updated_at.eq(now),
                    ))
                    .execute(conn)?
            }
        };
        if changed != 1 {
            return Err(DomainError::NotFound.into());
        }
        let verified_at = if data == current.data { current.verified_at } else { None };
        if verified_at.is_none() && current.verified_at.is_some() {
            clear_verified(conn, tenant, kind, id)?;
        }
        Ok(Contact { label, primary, verified_at, version, updated_at: now, data, ..current })
    })
    .map_err(DomainError::from)
}

/// A changed e-mail address or number is no longer verified.
fn clear_verified(conn: &mut Db, tenant: &TenantId, kind: ContactKind, id: &str) -> Result<(), TxError> {
    match kind {
        ContactKind::Email => {
            use person_emails as e;
            diesel::update(e::table.filter(e::tenant_id.eq(tenant.as_str())).filter(e::id.eq(id)))
                .set(e::verified_at.eq(None::<PrimitiveDateTime>))
                .execute(conn)?;
        }
        ContactKind::Phone => {
            use person_phones as x;
            diesel::update(x::table.filter(x::tenant_id.eq(tenant.as_str())).filter(x::id.eq(id)))
                .set(x::verified_at.eq(None::<PrimitiveDateTime>))
                .execute(conn)?;
        }
        ContactKind::Address | ContactKind::Website => {}
    }
    Ok(())
}

/// Remove a contact for real. When it was the primary, the oldest remaining
/// one of its kind becomes primary.
pub fn delete(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    kind: ContactKind,
    id: &str,
    if_version: Option<i64>,
) -> Result<()> {
    write_tx(conn, |conn| -> Result<(), TxError> {
        let current = get(conn, tenant, person, kind, id)?;
        if if_version.is_some_and(|v| v != current.version) {
            return Err(DomainError::VersionMismatch.into());
        }
        with_table!(kind, t => diesel::delete(t::table.filter(t::tenant_id.eq(tenant.as_str())).filter(t::id.eq(id))).execute(conn)?);
        if current.primary {
            let next: Option<String> = with_table!(kind, t => t::table
                .filter(t::tenant_id.eq(tenant.as_str()))
                .filter(t::person_id.eq(person.as_str()))
                .order(t::id.asc())
                .select(t::id)
                .first(conn)
                .optional()?);
            if let Some(next) = next {
                let now = kluis_core::time::now();
                with_table!(kind, t => diesel::update(t::table.filter(t::tenant_id.eq(tenant.as_str())).filter(t::id.eq(&next)))
                    .set((t::is_primary.eq(true), t::version.eq(t::version + 1), t::updated_at.eq(now)))
                    .execute(conn)?);
            }
        }
        Ok(())
    })
    .map_err(DomainError::from)
}

/// Delete every contact of a person; rows per table.
pub(crate) fn erase_all(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<(&'static str, u64)>> {
    let mut removed = Vec::new();
    for kind in [ContactKind::Email, ContactKind::Phone, ContactKind::Address, ContactKind::Website] {
        let (name, n) = with_table!(kind, t => {
            let n = diesel::delete(t::table.filter(t::tenant_id.eq(tenant.as_str())).filter(t::person_id.eq(person.as_str())))
                .execute(conn)
                .domain()?;
            (table_name(kind), n)
        });
        removed.push((name, n as u64));
    }
    Ok(removed)
}

/// The table of a kind.
pub(crate) fn table_name(kind: ContactKind) -> &'static str {
    match kind {
        ContactKind::Email => "person_emails",
        ContactKind::Phone => "person_phones",
        ContactKind::Address => "person_addresses",
        ContactKind::Website => "person_websites",
    }
}

/// The person owning an e-mail address (any case) in the tenant.
pub fn person_with_email(conn: &mut Db, tenant: &TenantId, address: &str) -> Result<Option<String>> {
    use person_emails as e;
    e::table
        .filter(e::tenant_id.eq(tenant.as_str()))
        .filter(e::address_key.eq(address.trim().to_lowercase()))
        .select(e::person_id)
        .first(conn)
        .optional()
        .domain()
}

/// Every person of the tenant with a primary e-mail: id, address, language
/// (for notices every person must receive, such as a new purpose to object to).
pub fn primary_addresses(conn: &mut Db, tenant: &TenantId) -> Result<Vec<(PersonId, String, Option<String>)>> {
    use kluis_store::schema::people;
    let rows: Vec<(String, String, Option<String>)> = person_emails::table
        .inner_join(
            people::table
                .on(people::tenant_id.eq(person_emails::tenant_id).and(people::id.eq(person_emails::person_id))),
        )
        .filter(person_emails::tenant_id.eq(tenant.as_str()))
        .filter(person_emails::is_primary.eq(true))
        .order(person_emails::person_id.asc())
        .select((person_emails::person_id, person_emails::address, people::language))
        .load(conn)
        .domain()?;
    Ok(rows.into_iter().map(|(person, address, language)| (PersonId(person), address, language)).collect())
}

/// A person's primary e-mail address and language, if they have one: where
/// a notice to them goes (read before an erasure, for its confirmation).
pub fn primary_address(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Option<(String, Option<String>)>> {
    use kluis_store::schema::people;
    person_emails::table
        .inner_join(
            people::table
                .on(people::tenant_id.eq(person_emails::tenant_id).and(people::id.eq(person_emails::person_id))),
        )
        .filter(person_emails::tenant_id.eq(tenant.as_str()))
        .filter(person_emails::person_id.eq(person.as_str()))
        .filter(person_emails::is_primary.eq(true))
        .select((person_emails::address, people::language))
        .first(conn)
        .optional()
        .domain()
}

/// Delete the contacts of `kind` a retention purge reaches (see
/// [`Purge`]): recorded before `created_before`, of the persons given;
/// at most `limit`, or dry, count them all. Contacts record no activity of
/// their own, so an idle purge does not reach them; anonymising one leaves
/// nothing, so it goes too.
pub(crate) fn purge(conn: &mut Db, tenant: &TenantId, kind: ContactKind, purge: &Purge<'_>) -> Result<u64> {
    if purge.due.idle_before().is_some() || purge.due.is_unbounded() {
        return Ok(0);
    }
    let persons: Option<Vec<&str>> = purge.due.persons.map(|p| p.iter().map(PersonId::as_str).collect());
    let skip: Vec<&str> = purge.skip.iter().map(PersonId::as_str).collect();
    with_table!(kind, t => {
        let due = || {
            let mut query = t::table.filter(t::tenant_id.eq(tenant.as_str())).into_boxed();
            if let Some(at) = purge.due.created_before {
                query = query.filter(t::created_at.lt(at));
            }
            if let Some(persons) = &persons {
                query = query.filter(t::person_id.eq_any(persons));
            }
            if !skip.is_empty() {
                query = query.filter(t::person_id.ne_all(&skip));
            }
            query
        };
        if purge.dry_run {
            let n: i64 = due().count().get_result(conn).domain()?;
            return Ok(n.unsigned_abs());
        }
        let ids: Vec<String> = due().select(t::id).limit(purge.limit_i64()).load(conn).domain()?;
        let n = diesel::delete(t::table.filter(t::tenant_id.eq(tenant.as_str())).filter(t::id.eq_any(&ids)))
            .execute(conn)
            .domain()?;
        Ok(n as u64)
    })
}
