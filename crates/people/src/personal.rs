//! The people domain as a [`PersonalData`] holder: export everything about a
//! person (every table, secrets left out), erase it, name who must be told,
//! and purge what a retention policy says is due.

use diesel::prelude::*;
use kluis_core::category::Category;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::personal::{ErasureReport, ErasureStage, Export, Notice, PersonalData, Purge, PurgeReport};
use serde_json::{Value, json};
use time::PrimitiveDateTime;

type Tm = PrimitiveDateTime;

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

/// A person's profile row as exported (Art. 15/20): every stored field but
/// the search keys derived from them.
pub fn person_json(p: &Person) -> Value {
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
        "version": p.version,
        "created_at": time(p.created_at),
        "updated_at": time(p.updated_at),
    })
}

/// The account and what hangs off it, without a hash, seed or token: what
/// kind of secret exists and when, never the secret.
fn export_account(conn: &mut Db, tenant: &TenantId, person: &PersonId, out: &mut Export) -> Result<()> {
    use kluis_store::schema::{auth_tokens as t, challenges as c, recovery_codes as r, sessions as s};
    let account = match accounts::get(conn, tenant, person) {
        Ok(a) => vec![json!({
            "username": a.username,
            "status": if a.status == accounts::AccountStatus::Active { "active" } else { "blocked" },
            "must_change_password": a.must_change_password,
            "staff_scopes": a.staff_scopes,
            "totp_enabled": a.totp_enabled,
            "has_password": a.has_password,
            "password_changed_at": a.password_changed_at.map(time),
            "created_at": time(a.created_at),
            "updated_at": time(a.updated_at),
        })],
        Err(kluis_core::DomainError::NotFound) => Vec::new(),
        Err(e) => return Err(e),
    };
    out.add("accounts", account);
    type SessionRow = (String, Option<String>, Option<String>, Option<String>, Tm, Tm, Tm, Option<Tm>);
    let sessions: Vec<SessionRow> = s::table
        .filter(s::tenant_id.eq(tenant.as_str()))
        .filter(s::person_id.eq(person.as_str()))
        .order(s::id.asc())
        .select((
            s::id,
            s::ip_prefix,
            s::user_agent,
            s::device_id,
            s::created_at,
            s::last_used_at,
            s::expires_at,
            s::revoked_at,
        ))
        .load(conn)
        .domain()?;
    out.add(
        "sessions",
        sessions
            .into_iter()
            .map(|(id, ip_prefix, user_agent, device_id, created, used, expires, revoked)| {
                json!({
                    "id": id, "ip_prefix": ip_prefix, "user_agent": user_agent, "device_id": device_id,
                    "created_at": time(created), "last_used_at": time(used), "expires_at": time(expires),
                    "revoked_at": revoked.map(time),
                })
            })
            .collect(),
    );
    let codes: Vec<Tm> = r::table
        .filter(r::tenant_id.eq(tenant.as_str()))
        .filter(r::person_id.eq(person.as_str()))
        .order(r::created_at.asc())
        .select(r::created_at)
        .load(conn)
        .domain()?;
    out.add("recovery_codes", codes.into_iter().map(|at| json!({"unused_code_made_at": time(at)})).collect());
    let tokens: Vec<(String, Option<String>, Tm, Tm)> = t::table
        .filter(t::tenant_id.eq(tenant.as_str()))
        .filter(t::person_id.eq(person.as_str()))
        .order(t::created_at.asc())
        .select((t::purpose, t::email_id, t::expires_at, t::created_at))
        .load(conn)
        .domain()?;
    out.add(
        "auth_tokens",
        tokens
            .into_iter()
            .map(|(purpose, email_id, expires, created)| {
                json!({"purpose": purpose, "email_id": email_id, "expires_at": time(expires), "created_at": time(created)})
            })
            .collect(),
    );
    let challenges: Vec<(String, String, i64, Tm, Tm)> = c::table
        .filter(c::tenant_id.eq(tenant.as_str()))
        .filter(c::person_id.eq(person.as_str()))
        .order(c::id.asc())
        .select((c::id, c::kind, c::tries, c::expires_at, c::created_at))
        .load(conn)
        .domain()?;
    out.add(
        "challenges",
        challenges
            .into_iter()
            .map(|(id, kind, tries, expires, created)| {
                json!({"id": id, "kind": kind, "tries": tries, "expires_at": time(expires), "created_at": time(created)})
            })
            .collect(),
    );
    out.add(
        "passkeys",
        accounts::passkeys::list(conn, tenant, person)?
            .into_iter()
            .map(
                |p| json!({"name": p.name, "created_at": time(p.created_at), "last_used_at": p.last_used_at.map(time)}),
            )
            .collect(),
    );
    out.add(
        "passkey_ceremonies",
        accounts::passkeys::open_ceremonies(conn, tenant, person)?
            .into_iter()
            .map(|(created, expires)| json!({"kind": "registration", "created_at": time(created), "expires_at": time(expires)}))
            .collect(),
    );
    let pending = kluis_store::outbox::of_person(conn, tenant, person)?;
    out.add(
        "outbox",
        pending
            .into_iter()
            .map(
                |m| json!({"id": m.id, "channel": m.channel, "attempts": m.attempts, "created_at": time(m.created_at)}),
            )
            .collect(),
    );
    Ok(())
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
            // Tenant-defined attributes may be of any category.
            Category::Behavior,
            Category::PrivacyPreferences,
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
            "person_attributes",
            "accounts",
            "recovery_codes",
            "auth_tokens",
            "challenges",
            "sessions",
            "passkeys",
            "passkey_ceremonies",
            "outbox",
            "people_changes",
        ]
    }

    fn erasure_stage(&self) -> ErasureStage {
        // The person's row is what the other holders' rows reference.
        ErasureStage::Person
    }

    fn export(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Export> {
        let found = persons::get(conn, tenant, person)?;
        let mut out = Export::default();
        out.add("people", vec![person_json(&found)]);
        out.add("person_emails", found.emails.iter().map(contact_json).collect());
        out.add("person_phones", found.phones.iter().map(contact_json).collect());
        out.add("person_addresses", found.addresses.iter().map(contact_json).collect());
        out.add("person_websites", found.websites.iter().map(contact_json).collect());
        out.add("person_attributes", crate::attributes::export_rows(&found.attributes, time));
        let refs = references::list(conn, tenant, person)?;
        out.add(
            "person_references",
            refs.iter()
                .map(|r| json!({"id": r.id, "app": r.app, "external_ref": r.external_ref, "client_id": r.client_id, "created_at": time(r.created_at)}))
                .collect(),
        );
        export_account(conn, tenant, person, &mut out)?;
        out.add(
            "people_changes",
            crate::changes::of_person(conn, tenant, person)?
                .into_iter()
                .map(|c| json!({"id": c.id, "seq": c.seq, "type": c.kind.as_str(), "fields": c.fields, "occurred_at": time(c.occurred_at)}))
                .collect(),
        );
        Ok(out)
    }

    /// Every app that holds a reference to the person must hear of the erasure.
    fn notify(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Notice>> {
        let mut notices: Vec<Notice> = references::list(conn, tenant, person)?
            .into_iter()
            .map(|r| Notice { kind: "reference".to_owned(), id: r.client_id, name: r.app })
            .collect();
        notices.sort();
        notices.dedup();
        Ok(notices)
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
        report.add("person_attributes", crate::attributes::erase_all(conn, tenant, person)?);
        // The feed's rows name the person; the `person.erased` row comes after.
        report.add("people_changes", crate::changes::erase_all(conn, tenant, person)?);
        // The answers kept for their own retried requests (`/v1/me`) are theirs too.
        report.add("idempotency_keys", kluis_store::idempotency::forget_caller(conn, tenant, person.as_str())?);
        report.add("people", persons::delete_row(conn, tenant, person)?);
        Ok(report)
    }

    /// Profile fields, contacts, references, accounts and sessions: see
    /// [`crate::aging`] for what each category reaches.
    fn purge(&self, conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<PurgeReport> {
        crate::aging::purge(conn, tenant, purge)
    }
}
