//! The people domain as a [`PersonalData`] holder: export everything about a
//! person, erase it, and purge what a retention policy says is due.

use kluis_core::category::Category;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::personal::{ErasureReport, PersonalData, Purge, PurgeReport};
use serde_json::{Value, json};
use time::PrimitiveDateTime;

use crate::model::{Contact, ContactData, Person};
use crate::{accounts, contacts, persons, references};

/// The people domain's personal data.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeopleData;

fn time(at: PrimitiveDateTime) -> Value {
    let format = time::format_description::well_known::Rfc3339;
    Value::String(at.assume_utc().format(&format).unwrap_or_default())
}

fn contact_json(c: &Contact) -> Value {
    let mut value = json!({
        "id": c.id,
        "label": c.label.as_str(),
        "primary": c.primary,
        "verified_at": c.verified_at.map(time),
        "created_at": time(c.created_at),
        "updated_at": time(c.updated_at),
    });
    let extra = match &c.data {
        ContactData::Email(address) => json!({"address": address}),
        ContactData::Phone(number) => json!({"number": number}),
        ContactData::Website(url) => json!({"url": url}),
        ContactData::Address(a) => json!({
            "street": a.street, "house_number": a.house_number, "addition": a.addition,
            "postal_code": a.postal_code, "city": a.city, "region": a.region, "country": a.country,
        }),
    };
    if let (Value::Object(map), Value::Object(extra)) = (&mut value, extra) {
        map.extend(extra);
    }
    value
}

/// A person as exported (Art. 15/20): every stored field.
pub fn person_json(p: &Person) -> Value {
    let list = |cs: &[Contact]| Value::Array(cs.iter().map(contact_json).collect());
    json!({
        "id": p.id.as_str(),
        "salutation": p.profile.salutation,
        "first_name": p.profile.first_name,
        "last_name": p.profile.last_name,
        "nickname": p.profile.nickname,
        "date_of_birth": p.profile.date_of_birth,
        "language": p.profile.language,
        "company_name": p.profile.company_name,
        "coc_number": p.profile.coc_number,
        "vat_number": p.profile.vat_number,
        "emails": list(&p.emails),
        "phones": list(&p.phones),
        "addresses": list(&p.addresses),
        "websites": list(&p.websites),
        "created_at": time(p.created_at),
        "updated_at": time(p.updated_at),
    })
}

impl PersonalData for PeopleData {
    fn categories(&self) -> &'static [Category] {
        &[
            Category::Name,
            Category::Email,
            Category::Phone,
            Category::Address,
            Category::Website,
            Category::DateOfBirth,
            Category::Language,
            Category::Business,
            Category::Reference,
            Category::Account,
            Category::Device,
            Category::IpAddress,
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "people",
            "person_emails",
            "person_phones",
            "person_addresses",
            "person_websites",
            "person_references",
            "accounts",
            "recovery_codes",
            "auth_tokens",
            "challenges",
            "sessions",
            "outbox",
        ]
    }

    fn export(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Value> {
        let found = persons::get(conn, tenant, person)?;
        let refs = references::list(conn, tenant, person)?;
        let account = match accounts::get(conn, tenant, person) {
            Ok(a) => Some(json!({
                "username": a.username,
                "status": if a.status == accounts::AccountStatus::Active { "active" } else { "blocked" },
                "staff_scopes": a.staff_scopes,
                "totp_enabled": a.totp_enabled,
                "password_changed_at": a.password_changed_at.map(time),
                "created_at": time(a.created_at),
                "sessions": accounts::sessions::list(conn, tenant, person)?.iter().map(|s| json!({
                    "id": s.id, "ip_prefix": s.ip_prefix, "user_agent": s.user_agent,
                    "created_at": time(s.created_at), "last_used_at": time(s.last_used_at),
                })).collect::<Vec<_>>(),
            })),
            Err(kluis_core::DomainError::NotFound) => None,
            Err(e) => return Err(e),
        };
        let mut value = person_json(&found);
        if let Value::Object(map) = &mut value {
            let refs = refs
                .iter()
                .map(|r| json!({"id": r.id, "app": r.app, "external_ref": r.external_ref, "client_id": r.client_id, "created_at": time(r.created_at)}))
                .collect();
            map.insert("references".into(), Value::Array(refs));
            map.insert("account".into(), account.unwrap_or(Value::Null));
        }
        Ok(value)
    }

    fn erase(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<ErasureReport> {
        let mut report = ErasureReport::default();
        for (table, n) in crate::accounts::erase(conn, tenant, person)? {
            report.add(table, n);
        }
        for (table, n) in contacts::erase_all(conn, tenant, person)? {
            report.add(table, n);
        }
        report.add("person_references", references::erase_all(conn, tenant, person)?);
        report.add("people", persons::delete_row(conn, tenant, person)?);
        Ok(report)
    }

    /// Profile fields, contacts, references, accounts and sessions: see
    /// [`crate::aging`] for what each category reaches.
    fn purge(&self, conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<PurgeReport> {
        crate::aging::purge(conn, tenant, purge)
    }
}
