//! The rights domain as a [`PersonalData`] holder: a person's requests
//! (with their history) and their restriction. Erasing a person deletes the
//! restriction and anonymises the requests: they stay as the record that
//! the person's requests were answered (Art. 5(2), accountability), linked
//! to nobody, without the address or anything the person wrote. Which
//! breaches a person was told of is theirs too; erasing them forgets it
//! (the breach keeps only its count).

use kluis_core::category::Category;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::personal::{ErasureReport, Export, PersonalData};
use serde_json::{Value, json};
use time::PrimitiveDateTime;

use crate::{breaches, requests, restriction};

/// Data-subject requests and restrictions.
#[derive(Debug, Clone, Copy, Default)]
pub struct RightsData;

fn time(at: PrimitiveDateTime) -> Value {
    Value::String(kluis_core::time::utc(at).format(&time::format_description::well_known::Rfc3339).unwrap_or_default())
}

impl PersonalData for RightsData {
    fn categories(&self) -> &'static [Category] {
        &[]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rights_requests", "person_restrictions", "breach_notifications"]
    }

    fn export(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Export> {
        let mut out = Export::default();
        let mut rows = Vec::new();
        for r in requests::of_person(conn, tenant, person)? {
            let history: Vec<Value> = requests::events(conn, tenant, &r.id)?
                .into_iter()
                .map(|e| json!({"action": e.action, "state": e.state.as_str(), "at": time(e.at)}))
                .collect();
            rows.push(json!({
                "id": r.id,
                "kind": r.kind.as_str(),
                "channel": r.channel.as_str(),
                "state": r.state.as_str(),
                "email": r.email,
                "details": r.details,
                "purposes": r.purposes,
                "received_at": time(r.received_at),
                "due_on": requests::format_date(r.due_on),
                "extension_reason": r.extension_reason,
                "refusal_reason": r.refusal_reason.map(requests::RefusalReason::as_str),
                "refusal_text": r.refusal_text,
                "closed_at": r.closed_at.map(time),
                "history": history,
            }));
        }
        out.add("rights_requests", rows);
        let restricted = restriction::get(conn, tenant, person)?;
        out.add(
            "person_restrictions",
            restricted.iter().map(|r| json!({"reason": r.reason, "since": time(r.created_at)})).collect(),
        );
        let told = breaches::notifications_of(conn, tenant, person)?;
        out.add(
            "breach_notifications",
            told.into_iter().map(|(breach, at)| json!({"breach_id": breach, "notified_at": time(at)})).collect(),
        );
        Ok(out)
    }

    fn erase(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<ErasureReport> {
        let mut report = ErasureReport::default();
        report.add("rights_requests", requests::anonymise(conn, tenant, person)?);
        report.add("person_restrictions", restriction::erase(conn, tenant, person)?);
        report.add("breach_notifications", breaches::erase_notifications(conn, tenant, person)?);
        Ok(report)
    }
    // `purge` keeps the default: requests and restrictions live as long as
    // their person.
}
