//! A person's export (Art. 15 and 20): one document with everything every
//! `PersonalData` holder keeps about them, table by table, and what Art.
//! 15(1) says they must be told: the purposes and their legal basis, the
//! recipients (transfers outside the EEA flagged with their safeguard), how
//! long each category is kept, where the data came from, and their rights,
//! in their language (Dutch or English). Asked by staff
//! (`GET /v1/people/{id}/export`) or by the person (`GET /v1/me/export`);
//! audited as an export either way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kluis_audit::{Action, Target};
use kluis_core::category::Category;
use kluis_core::{DomainError, PersonId, TenantId};
use kluis_people::persons;
use kluis_store::Db;
use kluis_store::personal::{Export, PersonalData};
use kluis_store::tenancy::{clients, tenants};
use serde_json::{Value, json};

use crate::{App, AppResult, Context, Scoped};

/// A person's export: the JSON document; [`Document::zip`] gives it with a
/// CSV per table.
#[derive(Debug, Clone)]
pub struct Document(pub Value);

impl Document {
    /// The ZIP: `export.json` and `<table>.csv` for every table of `data`.
    pub fn zip(&self) -> AppResult<Vec<u8>> {
        let mut tables: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        if let Some(Value::Object(data)) = self.0.get("data") {
            for (table, rows) in data {
                tables.insert(table.clone(), rows.as_array().cloned().unwrap_or_default());
            }
        }
        Ok(kluis_retention::export::zip(&self.0, &tables)?)
    }
}

fn rfc3339(at: time::PrimitiveDateTime) -> String {
    kluis_core::time::utc(at).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Whether texts go out in Dutch: the person's language is `nl` or `nl-*`.
fn dutch(language: Option<&str>) -> bool {
    language.is_some_and(|l| l == "nl" || l.starts_with("nl-"))
}

/// The rights a person has (Art. 15-22 and 77), in their language.
fn rights(nl: bool) -> Value {
    let list: [(&str, &str, &str, &str); 8] = [
        (
            "access",
            "Art. 15",
            "You may see all data kept about you: this document.",
            "Je mag alle gegevens inzien die over je bewaard worden: dit document.",
        ),
        (
            "rectification",
            "Art. 16",
            "You may have incorrect data corrected and incomplete data completed.",
            "Je mag onjuiste gegevens laten verbeteren en onvolledige laten aanvullen.",
        ),
        (
            "erasure",
            "Art. 17",
            "You may have all your data erased; a legal obligation or a legal hold can stand in the way for a while.",
            "Je mag al je gegevens laten wissen; een wettelijke plicht of een juridische bewaarplicht kan dat tijdelijk tegenhouden.",
        ),
        (
            "restriction",
            "Art. 18",
            "You may ask that your data is kept but not used while a dispute about it lasts.",
            "Je mag vragen je gegevens te bewaren maar niet te gebruiken zolang er een geschil over loopt.",
        ),
        (
            "portability",
            "Art. 20",
            "You may take your data with you: this document, and the same as CSV files in a ZIP.",
            "Je mag je gegevens meenemen: dit document, en hetzelfde als CSV-bestanden in een ZIP.",
        ),
        (
            "objection",
            "Art. 21",
            "You may object to processing on legitimate interests or a public task, and always to direct marketing.",
            "Je mag bezwaar maken tegen verwerking op grond van een gerechtvaardigd belang of een publieke taak, en altijd tegen direct marketing.",
        ),
        (
            "withdraw_consent",
            "Art. 7(3)",
            "You may withdraw a consent at any time, as easily as you gave it; what happened before stays lawful.",
            "Je mag een toestemming altijd intrekken, net zo makkelijk als je haar gaf; wat daarvoor gebeurde blijft rechtmatig.",
        ),
        (
            "complaint",
            "Art. 77",
            "You may complain to a supervisory authority; in the Netherlands the Autoriteit Persoonsgegevens.",
            "Je mag een klacht indienen bij een toezichthouder; in Nederland de Autoriteit Persoonsgegevens.",
        ),
    ];
    Value::Array(
        list.iter()
            .map(|(right, article, en, nl_text)| json!({"right": right, "article": article, "text": if nl { nl_text } else { en }}))
            .collect(),
    )
}

/// The purposes, the recipients and how long each category held about the
/// person is kept, from the tenant's register.
fn register(conn: &mut Db, tenant: &TenantId, categories: &BTreeSet<Category>) -> Result<Value, DomainError> {
    let purposes = kluis_consent::purposes::all(conn, tenant)?;
    let recipients = kluis_consent::recipients::all(conn, tenant)?;
    let name_of = |id: &str| recipients.iter().find(|r| r.id == id).map(|r| r.name.clone());
    let purposes_json: Vec<Value> = purposes
        .iter()
        .map(|p| {
            json!({
                "key": p.key,
                "name": p.name,
                "description": p.description,
                "legal_basis": p.legal_basis.as_str(),
                "legal_basis_article": p.legal_basis.article(),
                "data_categories": p.data_categories.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                "recipients": p.recipients.iter().filter_map(|id| name_of(id)).collect::<Vec<_>>(),
                "retention": p.retention,
            })
        })
        .collect();
    let recipients_json: Vec<Value> = recipients
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "role": r.role.as_str(),
                "country": r.country,
                "in_eea": r.in_eea,
                "transfer_outside_eea": !r.in_eea,
                "safeguard": r.transfer_mechanism,
            })
        })
        .collect();
    // Each category the holders keep, with the periods that bound it. The
    // purposes' `retention` is read here; retention policies add entries
    // with `"source": "policy"` (section 1 of issue 14). No period: kept
    // as long as the person is (until erased).
    let retention: Vec<Value> = categories
        .iter()
        .map(|category| {
            let periods: Vec<Value> = purposes
                .iter()
                .filter(|p| p.data_categories.contains(category))
                .map(|p| json!({"source": "purpose", "purpose": p.key, "period": p.retention}))
                .collect();
            json!({"category": category.as_str(), "periods": periods})
        })
        .collect();
    Ok(json!({"purposes": purposes_json, "recipients": recipients_json, "retention": retention}))
}

/// Where the data came from (Art. 15(1)(g)): who recorded or changed it,
/// from the audit entries about the person: the person themselves, API
/// clients by name, staff members, kluis itself.
fn sources(conn: &mut Db, tenant: &TenantId, entries: &[Value], own_ref: Option<&str>) -> Result<Value, DomainError> {
    let mut found: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for entry in entries {
        let action = entry["action"].as_str().unwrap_or_default();
        if action.ends_with(".read") || action.ends_with(".export") {
            continue;
        }
        let kind = entry["actor_kind"].as_str().unwrap_or_default().to_owned();
        let id = entry["actor_id"].as_str().unwrap_or_default();
        let who = match kind.as_str() {
            "client" => clients::get(conn, tenant, id).map(|c| c.name).unwrap_or_else(|_| "an API client".to_owned()),
            "subject" if Some(id) == own_ref => "you".to_owned(),
            "subject" => "a staff member".to_owned(),
            _ => "kluis".to_owned(),
        };
        found.entry((kind, who)).or_default().insert(action.to_owned());
    }
    Ok(Value::Array(
        found
            .into_iter()
            .map(|((kind, who), actions)| json!({"actor_kind": kind, "actor": who, "actions": actions}))
            .collect(),
    ))
}

/// Build the document inside one read (a consistent picture on PostgreSQL
/// too: one transaction).
fn build(
    conn: &mut Db,
    holders: &[Arc<dyn PersonalData>],
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Document, DomainError> {
    let found = persons::get(conn, tenant, person)?;
    let language = found.profile.language.clone();
    let mut data = Export::default();
    let mut categories = BTreeSet::new();
    for holder in holders {
        data.merge(holder.export(conn, tenant, person)?);
        categories.extend(holder.categories().iter().copied());
    }
    let own_ref = kluis_audit::subject_ref(conn, tenant, person)?;
    let entries = data.tables.get("audit_events").cloned().unwrap_or_default();
    let nl = dutch(language.as_deref());
    let controller = tenants::get(conn, tenant)?;
    let mut information = register(conn, tenant, &categories)?;
    if let Value::Object(map) = &mut information {
        map.insert("controller".into(), json!({"name": controller.name}));
        map.insert("sources".into(), sources(conn, tenant, &entries, own_ref.as_deref())?);
        map.insert("rights".into(), rights(nl));
    }
    Ok(Document(json!({
        "format": "kluis.export.v1",
        "generated_at": rfc3339(kluis_core::time::now()),
        "person_id": person.as_str(),
        "language": if nl { "nl" } else { "en" },
        "data": data.tables,
        "information": information,
    })))
}

pub(crate) async fn export(
    app: &App,
    audit: kluis_audit::Context,
    tenant: TenantId,
    person: PersonId,
) -> AppResult<Document> {
    let holders = app.holders.clone();
    let target = Target::person("person", &person);
    let document = app
        .with_conn(move |conn| {
            // A read transaction: one consistent picture, without the write lock.
            diesel::Connection::transaction(&mut **conn, |conn| {
                build(conn, &holders, &tenant, &person).map_err(kluis_store::error::TxError)
            })
            .map_err(DomainError::from)
        })
        .await?;
    app.audit_reads.read(&audit, Action::PersonExport, target, &["export"], None).await;
    Ok(document)
}

/// Export `person` for a client or staff member (`people:read`). A
/// purpose-bound client gets only what its purposes let it read (see
/// [`crate::processors`]): the person's fields they cover, from the same
/// rows, or not found.
pub async fn person(app: &App, caller: &Scoped<'_>, person: PersonId) -> AppResult<Document> {
    if caller.actor().purposes.is_empty() {
        return export(app, caller.audit(), caller.tenant.clone(), person).await;
    }
    let tenant = caller.tenant.clone();
    let actor = caller.actor().clone();
    let target = Target::person("person", &person);
    let (document, purpose) = app
        .read(move |conn| {
            let access = crate::processors::access_to(conn, &tenant, &actor, &person)?
                .ok_or_else(|| DomainError::Internal("a purpose-bound caller without a binding".into()))?;
            let data = kluis_people::PeopleData.export(conn, &tenant, &person)?;
            Ok((bound_document(&person, &access, data), access.purpose))
        })
        .await?;
    app.audit_reads.read(&caller.audit(), Action::PersonExport, target, &["export"], Some(&purpose)).await;
    Ok(document)
}

/// The export a purpose-bound client gets: the profile's shown fields and
/// the contact tables it may see, nothing else.
fn bound_document(person: &PersonId, access: &crate::processors::Access, mut data: Export) -> Document {
    const KEPT: [&str; 4] = ["id", "version", "created_at", "updated_at"];
    const CONTACTS: [(&str, &str); 4] = [
        ("emails", "person_emails"),
        ("phones", "person_phones"),
        ("addresses", "person_addresses"),
        ("websites", "person_websites"),
    ];
    let mut tables: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let mut profile = data.tables.remove("people").unwrap_or_default();
    for row in &mut profile {
        if let Value::Object(map) = row {
            map.retain(|key, _| KEPT.contains(&key.as_str()) || access.shows(key));
        }
    }
    tables.insert("people", profile);
    for (field, table) in CONTACTS {
        if access.shows(field) {
            tables.insert(table, data.tables.remove(table).unwrap_or_default());
        }
    }
    Document(json!({
        "format": "kluis.export.v1",
        "generated_at": rfc3339(kluis_core::time::now()),
        "person_id": person.as_str(),
        "purpose": access.purpose,
        "fields": access.fields,
        "data": tables,
    }))
}

/// The signed-in person's own export.
pub async fn own(app: &App, ctx: &Context) -> AppResult<Document> {
    let (tenant, person) = ctx.person()?;
    let audit = ctx.audit_in(tenant.clone());
    export(app, audit, tenant, person).await
}
