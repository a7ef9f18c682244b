//! When a person's consent ended, for the retention policies that count
//! from a withdrawal (or objection) or from an expiry: data kept only on
//! consent may live a set time after the last consent covering it ended.

use diesel::prelude::*;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::schema::consent_states as s;
use time::PrimitiveDateTime;

use crate::model::{ConsentState, LegalBasis, Status, decide};

/// How a consent ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Withdrawn, or objected to.
    Withdrawn,
    /// Ran out (the grant's `expires_at` passed).
    Expired,
}

/// How `state` ended at `now`, and when; `None` while the consent stands.
fn ended(state: &ConsentState, now: PrimitiveDateTime) -> Option<(End, PrimitiveDateTime)> {
    let decision = decide(LegalBasis::Consent, Some(state), now);
    if decision.allowed {
        return None;
    }
    match decision.status {
        Status::Expired => state.expires_at.map(|at| (End::Expired, at)),
        Status::Objected => state.objected_at.map(|at| (End::Withdrawn, at)),
        Status::Withdrawn => Some((End::Withdrawn, state.decided_at)),
        Status::Granted | Status::None => None,
    }
}

/// The persons for whom no consent to any of `purposes` stands at `now`,
/// and the last of those consents to end ended by `end` before `cutoff`.
/// A person who never consented to any of them has nothing that ended.
pub fn ended_before(
    conn: &mut Db,
    tenant: &TenantId,
    purposes: &[String],
    end: End,
    cutoff: PrimitiveDateTime,
    now: PrimitiveDateTime,
) -> Result<Vec<PersonId>> {
    const PAGE: i64 = 5000;
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut query = s::table
            .filter(s::tenant_id.eq(tenant.as_str()))
            .filter(s::purpose.eq_any(purposes))
            .order((s::person_id.asc(), s::purpose.asc()))
            .limit(PAGE)
            .into_boxed();
        if let Some(after) = &after {
            query = query.filter(s::person_id.gt(after.clone()));
        }
        let rows: Vec<crate::ledger::StateRow> =
            query.select(crate::ledger::StateRow::as_select()).load(conn).domain()?;
        let full = rows.len() as i64 == PAGE;
        let mut states = rows.into_iter().map(ConsentState::try_from).collect::<Result<Vec<_>>>()?;
        // A full page may end in the middle of a person: leave them to the next.
        if full {
            let last = states.last().map(|s| s.person_id.clone());
            if states.iter().any(|s| Some(&s.person_id) != last.as_ref()) {
                states.retain(|s| Some(&s.person_id) != last.as_ref());
            }
        }
        let Some(last) = states.last().map(|s| s.person_id.0.clone()) else { break };
        for person in states.chunk_by(|a, b| a.person_id == b.person_id) {
            let ends: Option<Vec<(End, PrimitiveDateTime)>> = person.iter().map(|s| ended(s, now)).collect();
            let latest = ends.and_then(|ends| ends.into_iter().max_by_key(|(_, at)| *at));
            if latest.is_some_and(|(how, at)| how == end && at < cutoff) {
                found.push(person[0].person_id.clone());
            }
        }
        if !full {
            break;
        }
        after = Some(last);
    }
    Ok(found)
}
