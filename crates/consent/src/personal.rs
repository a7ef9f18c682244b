//! The consent domain as a [`PersonalData`] holder: a person's consent
//! history, current state and policy acceptances; erasure removes every row
//! that identifies them (ledger, state, acceptances, used unsubscribe tokens).

use kluis_core::category::Category;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::personal::{ErasureReport, Export, Notice, PersonalData};
use serde_json::{Value, json};
use time::PrimitiveDateTime;

use crate::model::{Acceptance, ConsentEvent, actor_kind_name};
use crate::{ledger, policies, unsubscribe};

/// The consent domain's personal data.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsentData;

fn time(at: PrimitiveDateTime) -> Value {
    let format = time::format_description::well_known::Rfc3339;
    Value::String(at.assume_utc().format(&format).unwrap_or_default())
}

/// A ledger event as exported.
pub fn event_json(e: &ConsentEvent) -> Value {
    json!({
        "id": e.id,
        "seq": e.seq,
        "purpose": e.purpose,
        "action": e.action.as_str(),
        "source": e.source.as_str(),
        "policy_version": e.policy_version,
        "ip_prefix": e.ip_prefix,
        "user_agent": e.user_agent,
        "actor_kind": actor_kind_name(e.actor_kind),
        "occurred_at": time(e.occurred_at),
        "expires_at": e.expires_at.map(time),
        "recorded_at": time(e.recorded_at),
    })
}

fn acceptance_json(a: &Acceptance) -> Value {
    json!({
        "id": a.id,
        "kind": a.kind.as_str(),
        "version": a.version,
        "source": a.source.as_str(),
        "ip_prefix": a.ip_prefix,
        "user_agent": a.user_agent,
        "accepted_at": time(a.accepted_at),
    })
}

impl PersonalData for ConsentData {
    fn categories(&self) -> &'static [Category] {
        &[Category::PrivacyPreferences, Category::IpAddress, Category::Device]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["consent_events", "consent_states", "consent_acceptances", "consent_unsubscribes"]
    }

    fn export(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Export> {
        let history = ledger::all_of(conn, tenant, person)?;
        let standings = if history.is_empty() { Vec::new() } else { ledger::standings(conn, tenant, person)? };
        let states = ledger::states_of(conn, tenant, person)?;
        let current: Vec<Value> = states
            .iter()
            .map(|state| {
                let standing = standings.iter().find(|s| s.purpose == state.purpose);
                json!({
                    "purpose": state.purpose,
                    "status": standing.map(|s| s.decision.status.as_str()),
                    "allowed": standing.map(|s| s.decision.allowed),
                    "since": standing.and_then(|s| s.decision.since).map(time),
                    "last_action": state.action.as_str(),
                    "decided_at": time(state.decided_at),
                    "expires_at": state.expires_at.map(time),
                    "objected_at": state.objected_at.map(time),
                    "objection_lifted_at": state.lifted_at.map(time),
                })
            })
            .collect();
        let acceptances = policies::acceptances(conn, tenant, person)?;
        let unsubscribes = unsubscribe::used_by(conn, tenant, person)?;
        let mut out = Export::default();
        out.add("consent_states", current);
        out.add("consent_events", history.iter().map(event_json).collect());
        out.add("consent_acceptances", acceptances.iter().map(acceptance_json).collect());
        out.add(
            "consent_unsubscribes",
            unsubscribes
                .iter()
                .map(|(purpose, used_at)| json!({"purpose": purpose, "used_at": time(*used_at)}))
                .collect(),
        );
        Ok(out)
    }

    /// Every recipient of the tenant must hear of an erasure (Art. 19): the
    /// register does not say which of them received this person's data.
    fn notify(&self, conn: &mut Db, tenant: &TenantId, _person: &PersonId) -> Result<Vec<Notice>> {
        Ok(crate::recipients::all(conn, tenant)?
            .into_iter()
            .map(|r| Notice { kind: "recipient".to_owned(), id: r.id, name: r.name })
            .collect())
    }

    fn erase(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<ErasureReport> {
        let mut report = ErasureReport::default();
        for (table, n) in ledger::erase_all(conn, tenant, person)? {
            report.add(table, n);
        }
        report.add("consent_acceptances", policies::erase_all(conn, tenant, person)?);
        report.add("consent_unsubscribes", unsubscribe::erase_all(conn, tenant, person)?);
        Ok(report)
    }

    // `purge` keeps the default: consent records are the proof that
    // processing was lawful; they live as long as the person does and end
    // with their erasure.
}
