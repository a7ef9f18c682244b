//! The consent ledger: append-only grants, withdrawals and objections with
//! their proof, and the current state per person and purpose, updated in the
//! same transaction. Each event takes the next per-tenant `seq` under the
//! tenant's head-row lock, so seq order is commit order: a reader paging the
//! changes feed by seq never passes an event that commits later.

use std::collections::HashMap;

use diesel::prelude::*;
use kluis_core::page::Page;
use kluis_core::{Actor, ActorKind, DomainError, PersonId, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError, UniqueRow};
use kluis_store::schema::{consent_events as e, consent_states as s};
use kluis_store::{Db, write_tx};
use time::{Duration, PrimitiveDateTime};

use crate::model::{
    ConsentAction, ConsentEvent, ConsentState, Decision, LegalBasis, NewEvent, PolicyKind, Source, actor_kind_name,
    decide, parse_actor_kind,
};
use crate::rules::{Check, clean_user_agent};
use crate::{purposes, setup};

/// How far in the future an `occurred_at` may lie (clock skew between callers).
const SKEW: Duration = Duration::minutes(5);

#[derive(Queryable, Selectable)]
#[diesel(table_name = e)]
struct EventRow {
    seq: i64,
    id: String,
    person_id: String,
    purpose: String,
    action: String,
    source: String,
    policy_version: Option<i64>,
    ip_prefix: Option<String>,
    user_agent: Option<String>,
    actor_kind: String,
    actor_id: String,
    occurred_at: PrimitiveDateTime,
    expires_at: Option<PrimitiveDateTime>,
    recorded_at: PrimitiveDateTime,
}

impl TryFrom<EventRow> for ConsentEvent {
    type Error = DomainError;

    fn try_from(row: EventRow) -> Result<ConsentEvent> {
        let bad = |what: &str, value: &str| DomainError::Internal(format!("stored {what} {value} is unknown"));
        Ok(ConsentEvent {
            action: ConsentAction::parse(&row.action).ok_or_else(|| bad("action", &row.action))?,
            source: Source::parse(&row.source).ok_or_else(|| bad("source", &row.source))?,
            actor_kind: parse_actor_kind(&row.actor_kind).ok_or_else(|| bad("actor kind", &row.actor_kind))?,
            seq: row.seq,
            id: row.id,
            person_id: PersonId(row.person_id),
            purpose: row.purpose,
            policy_version: row.policy_version,
            ip_prefix: row.ip_prefix,
            user_agent: row.user_agent,
            actor_id: row.actor_id,
            occurred_at: row.occurred_at,
            expires_at: row.expires_at,
            recorded_at: row.recorded_at,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = s)]
pub(crate) struct StateRow {
    person_id: String,
    purpose: String,
    action: String,
    decided_at: PrimitiveDateTime,
    decided_seq: i64,
    expires_at: Option<PrimitiveDateTime>,
    objected_at: Option<PrimitiveDateTime>,
    lifted_at: Option<PrimitiveDateTime>,
}

impl TryFrom<StateRow> for ConsentState {
    type Error = DomainError;

    fn try_from(row: StateRow) -> Result<ConsentState> {
        Ok(ConsentState {
            action: ConsentAction::parse(&row.action)
                .ok_or_else(|| DomainError::Internal(format!("stored action {} is unknown", row.action)))?,
            person_id: PersonId(row.person_id),
            purpose: row.purpose,
            decided_at: row.decided_at,
            decided_seq: row.decided_seq,
            expires_at: row.expires_at,
            objected_at: row.objected_at,
            lifted_at: row.lifted_at,
        })
    }
}

/// The state after `event`. The latest event by `occurred_at` decides
/// (a tie goes to the later recorded); an objection stands until a grant by
/// the person themselves that occurred after it.
pub fn fold(state: Option<ConsentState>, event: &ConsentEvent) -> ConsentState {
    let by_subject = event.actor_kind == ActorKind::Subject;
    let objected_at = (event.action == ConsentAction::Object).then_some(event.occurred_at);
    let lifted_at = (event.action == ConsentAction::Grant && by_subject).then_some(event.occurred_at);
    let decided = ConsentState {
        person_id: event.person_id.clone(),
        purpose: event.purpose.clone(),
        action: event.action,
        decided_at: event.occurred_at,
        decided_seq: event.seq,
        expires_at: event.expires_at,
        objected_at,
        lifted_at,
    };
    match state {
        None => decided,
        Some(current) => {
            let mut next = if event.occurred_at >= current.decided_at {
                ConsentState { objected_at: current.objected_at, lifted_at: current.lifted_at, ..decided }
            } else {
                current
            };
            next.objected_at = next.objected_at.max(objected_at);
            next.lifted_at = next.lifted_at.max(lifted_at);
            next
        }
    }
}

/// The rules an event keeps whatever the purpose.
fn check_event(check: &mut Check, new: &NewEvent, occurred_at: PrimitiveDateTime, now: PrimitiveDateTime) {
    if occurred_at > now + SKEW {
        check.fail("occurred_at", "must not be in the future");
    }
    match (new.action, new.expires_at) {
        (ConsentAction::Grant, Some(expires)) if expires <= occurred_at => {
            check.fail("expires_at", "must be after the moment the consent was given");
        }
        (ConsentAction::Withdraw | ConsentAction::Object, Some(_)) => {
            check.fail("expires_at", "only a grant can expire");
        }
        _ => {}
    }
    if new.policy_version.is_some_and(|v| v < 1) {
        check.fail("policy_version", "must be a policy version: 1 or more");
    }
}

/// The rules that depend on the purpose's basis: only consent is granted or
/// withdrawn; objections only where the law gives that right. The person
/// themselves may "grant" a purpose they can object to: that lifts their objection.
fn check_basis(check: &mut Check, key: &str, basis: LegalBasis, action: ConsentAction, actor: ActorKind) {
    let allowed = match action {
        ConsentAction::Grant => basis.requires_consent() || (basis.objectable() && actor == ActorKind::Subject),
        ConsentAction::Withdraw => basis.requires_consent(),
        ConsentAction::Object => basis.objectable(),
    };
    if !allowed {
        let message = match action {
            ConsentAction::Object => {
                format!("`{key}` is based on {basis}: the law gives no right to object to it")
            }
            _ => format!("`{key}` is based on {basis}, not consent: there is no consent to grant or withdraw"),
        };
        check.fail("action", message);
    }
}

/// Append an event for a person (who must exist: the caller checks) and
/// update their current state, in one transaction. Nothing is stored when a
/// rule is broken.
pub fn record(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    actor: &Actor,
    new: &NewEvent,
) -> Result<ConsentEvent> {
    let now = kluis_core::time::now();
    let occurred_at = new.occurred_at.map_or(now, kluis_core::time::micros);
    let expires_at = new.expires_at.map(kluis_core::time::micros);
    let mut check = Check::default();
    check_event(&mut check, new, occurred_at, now);
    write_tx(conn, |conn| -> Result<ConsentEvent, TxError> {
        // The checks read before the tenant's head lock, which serialises
        // the tenant's writers until commit on PostgreSQL: the lock is taken
        // last, so that what it holds up is only the writes.
        match purposes::find(conn, tenant, &new.purpose)? {
            Some(purpose) => check_basis(&mut check, &purpose.key, purpose.legal_basis, new.action, actor.kind),
            None => check.fail("purpose", "no such purpose"),
        }
        if let Some(version) = new.policy_version.filter(|v| *v >= 1)
            && !crate::policies::is_published(conn, tenant, PolicyKind::Privacy, version)?
        {
            check.fail("policy_version", "no published privacy policy has this version");
        }
        std::mem::take(&mut check).into_result()?;
        let seq = setup::lock(conn, tenant, 1)?;
        let event = ConsentEvent {
            seq,
            id: kluis_core::new_id(),
            person_id: person.clone(),
            purpose: new.purpose.clone(),
            action: new.action,
            source: new.source,
            policy_version: new.policy_version,
            ip_prefix: new.proof.ip_prefix.clone(),
            user_agent: new.proof.user_agent.as_deref().and_then(clean_user_agent),
            actor_kind: actor.kind,
            actor_id: actor.id.clone(),
            occurred_at,
            expires_at,
            recorded_at: now,
        };
        diesel::insert_into(e::table)
            .values((
                e::tenant_id.eq(tenant.as_str()),
                e::seq.eq(event.seq),
                e::id.eq(&event.id),
                e::person_id.eq(event.person_id.as_str()),
                e::purpose.eq(&event.purpose),
                e::action.eq(event.action.as_str()),
                e::source.eq(event.source.as_str()),
                e::policy_version.eq(event.policy_version),
                e::ip_prefix.eq(&event.ip_prefix),
                e::user_agent.eq(&event.user_agent),
                e::actor_kind.eq(actor_kind_name(event.actor_kind)),
                e::actor_id.eq(&event.actor_id),
                e::occurred_at.eq(event.occurred_at),
                e::expires_at.eq(event.expires_at),
                e::recorded_at.eq(event.recorded_at),
            ))
            .execute(conn)?;
        apply(conn, tenant, &event)?;
        Ok(event)
    })
    .map_err(DomainError::from)
}

fn state_row(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    purpose: &str,
) -> Result<Option<ConsentState>, TxError> {
    let row: Option<StateRow> = s::table
        .find((tenant.as_str(), person.as_str(), purpose))
        .select(StateRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(ConsentState::try_from).transpose()?)
}

/// Fold the event into the stored state (under the head lock, so no other
/// writer of the tenant races this read-then-write).
fn apply(conn: &mut Db, tenant: &TenantId, event: &ConsentEvent) -> Result<(), TxError> {
    let current = state_row(conn, tenant, &event.person_id, &event.purpose)?;
    let existed = current.is_some();
    let next = fold(current, event);
    let now = kluis_core::time::now();
    if existed {
        diesel::update(s::table.find((tenant.as_str(), event.person_id.as_str(), event.purpose.as_str())))
            .set((
                s::action.eq(next.action.as_str()),
                s::decided_at.eq(next.decided_at),
                s::decided_seq.eq(next.decided_seq),
                s::expires_at.eq(next.expires_at),
                s::objected_at.eq(next.objected_at),
                s::lifted_at.eq(next.lifted_at),
                s::updated_at.eq(now),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(s::table)
            .values((
                s::tenant_id.eq(tenant.as_str()),
                s::person_id.eq(next.person_id.as_str()),
                s::purpose.eq(&next.purpose),
                s::action.eq(next.action.as_str()),
                s::decided_at.eq(next.decided_at),
                s::decided_seq.eq(next.decided_seq),
                s::expires_at.eq(next.expires_at),
                s::objected_at.eq(next.objected_at),
                s::lifted_at.eq(next.lifted_at),
                s::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The stored states of many person/purpose pairs, with one query.
pub(crate) fn states(
    conn: &mut Db,
    tenant: &TenantId,
    persons: &[&str],
    purposes: &[&str],
) -> Result<HashMap<(String, String), ConsentState>> {
    let rows: Vec<StateRow> = s::table
        .filter(s::tenant_id.eq(tenant.as_str()))
        .filter(s::person_id.eq_any(persons))
        .filter(s::purpose.eq_any(purposes))
        .select(StateRow::as_select())
        .load(conn)
        .domain()?;
    rows.into_iter()
        .map(|row| {
            let state = ConsentState::try_from(row)?;
            Ok(((state.person_id.0.clone(), state.purpose.clone()), state))
        })
        .collect()
}

/// The single check in one indexed query: the purpose's legal basis and
/// the person's current state for it (`None`: no such purpose).
pub(crate) fn basis_and_state(
    conn: &mut Db,
    tenant: &TenantId,
    person: &str,
    purpose: &str,
) -> Result<Option<(String, Option<ConsentState>)>> {
    use kluis_store::schema::consent_purposes as p;
    type State = (
        String,
        String,
        String,
        PrimitiveDateTime,
        i64,
        Option<PrimitiveDateTime>,
        Option<PrimitiveDateTime>,
        Option<PrimitiveDateTime>,
    );
    let row: Option<(String, Option<State>)> = p::table
        .left_join(s::table.on(s::tenant_id.eq(p::tenant_id).and(s::purpose.eq(p::key)).and(s::person_id.eq(person))))
        .filter(p::tenant_id.eq(tenant.as_str()))
        .filter(p::key.eq(purpose))
        .select((
            p::legal_basis,
            (
                s::person_id,
                s::purpose,
                s::action,
                s::decided_at,
                s::decided_seq,
                s::expires_at,
                s::objected_at,
                s::lifted_at,
            )
                .nullable(),
        ))
        .unique_row(conn)
        .domain()?;
    let Some((basis, state)) = row else { return Ok(None) };
    let state = state
        .map(|(person_id, purpose, action, decided_at, decided_seq, expires_at, objected_at, lifted_at)| {
            ConsentState::try_from(StateRow {
                person_id,
                purpose,
                action,
                decided_at,
                decided_seq,
                expires_at,
                objected_at,
                lifted_at,
            })
        })
        .transpose()?;
    Ok(Some((basis, state)))
}

/// How a person stands with one purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    /// Purpose key.
    pub purpose: String,
    /// The purpose's display name.
    pub name: String,
    /// What is done with the data and why.
    pub description: String,
    /// The answer a check would give now.
    pub decision: Decision,
    /// When the deciding grant lapses.
    pub expires_at: Option<PrimitiveDateTime>,
}

/// A person's current standing with every purpose of the tenant, by key.
pub fn standings(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Standing>> {
    let purposes = purposes::all(conn, tenant)?;
    let rows: Vec<StateRow> = s::table
        .filter(s::tenant_id.eq(tenant.as_str()))
        .filter(s::person_id.eq(person.as_str()))
        .select(StateRow::as_select())
        .load(conn)
        .domain()?;
    let mut states: HashMap<String, ConsentState> = HashMap::new();
    for row in rows {
        let state = ConsentState::try_from(row)?;
        states.insert(state.purpose.clone(), state);
    }
    let now = kluis_core::time::now();
    Ok(purposes
        .into_iter()
        .map(|p| {
            let state = states.get(&p.key);
            let decision = decide(p.legal_basis, state, now);
            let expires_at = state.filter(|s| s.action == ConsentAction::Grant).and_then(|s| s.expires_at);
            Standing { purpose: p.key, name: p.name, description: p.description, decision, expires_at }
        })
        .collect())
}

/// A person's events, oldest first, `limit` at a time after the seq `after`.
pub fn history(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    limit: i64,
    after: Option<i64>,
) -> Result<Page<ConsentEvent>> {
    let mut query = e::table
        .filter(e::tenant_id.eq(tenant.as_str()))
        .filter(e::person_id.eq(person.as_str()))
        .select(EventRow::as_select())
        .order(e::seq.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(e::seq.gt(after));
    }
    let rows = query.load(conn).domain()?;
    let events = rows.into_iter().map(ConsentEvent::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(events, limit, |e| e.seq.to_string()))
}

/// A page of the changes feed.
#[derive(Clone, Debug)]
pub struct Changes {
    /// Events in commit (seq) order.
    pub items: Vec<ConsentEvent>,
    /// The seq to continue after: the last item's, or `after` when there was none.
    pub last_seq: i64,
    /// Whether more events were already there.
    pub has_more: bool,
}

/// Events after the seq `after` in commit order, optionally of one purpose.
pub fn changes(conn: &mut Db, tenant: &TenantId, after: i64, purpose: Option<&str>, limit: i64) -> Result<Changes> {
    if let Some(key) = purpose
        && purposes::find(conn, tenant, key)?.is_none()
    {
        return Err(DomainError::invalid("purpose", "no such purpose"));
    }
    let mut query = e::table
        .filter(e::tenant_id.eq(tenant.as_str()))
        .filter(e::seq.gt(after))
        .select(EventRow::as_select())
        .order(e::seq.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(key) = purpose {
        query = query.filter(e::purpose.eq(key.to_owned()));
    }
    let mut rows = query.load(conn).domain()?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let items = rows.into_iter().map(ConsentEvent::try_from).collect::<Result<Vec<_>>>()?;
    let last_seq = items.last().map_or(after, |e| e.seq);
    Ok(Changes { items, last_seq, has_more })
}

/// A person's state rows, by purpose (export).
pub(crate) fn states_of(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<ConsentState>> {
    let rows: Vec<StateRow> = s::table
        .filter(s::tenant_id.eq(tenant.as_str()))
        .filter(s::person_id.eq(person.as_str()))
        .order(s::purpose.asc())
        .select(StateRow::as_select())
        .load(conn)
        .domain()?;
    rows.into_iter().map(ConsentState::try_from).collect()
}

/// Every event of a person, oldest first (export).
pub(crate) fn all_of(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<ConsentEvent>> {
    let rows = e::table
        .filter(e::tenant_id.eq(tenant.as_str()))
        .filter(e::person_id.eq(person.as_str()))
        .select(EventRow::as_select())
        .order(e::seq.asc())
        .load(conn)
        .domain()?;
    rows.into_iter().map(ConsentEvent::try_from).collect()
}

/// Delete a person's events and states; rows removed per table.
pub(crate) fn erase_all(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<[(&'static str, u64); 2]> {
    let states =
        diesel::delete(s::table.filter(s::tenant_id.eq(tenant.as_str())).filter(s::person_id.eq(person.as_str())))
            .execute(conn)
            .domain()?;
    let events =
        diesel::delete(e::table.filter(e::tenant_id.eq(tenant.as_str())).filter(e::person_id.eq(person.as_str())))
            .execute(conn)
            .domain()?;
    Ok([("consent_states", states as u64), ("consent_events", events as u64)])
}

/// The people of the tenant with a recorded consent decision, in id order
/// (whom a breach of privacy preferences concerns).
pub fn persons(conn: &mut Db, tenant: &TenantId) -> Result<Vec<PersonId>> {
    let ids: Vec<String> = s::table
        .filter(s::tenant_id.eq(tenant.as_str()))
        .select(s::person_id)
        .distinct()
        .order(s::person_id.asc())
        .load(conn)
        .domain()?;
    Ok(ids.into_iter().map(PersonId).collect())
}

/// Whether an event from `source` was ever recorded for the person and purpose.
pub fn recorded_from(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    purpose: &str,
    source: Source,
) -> Result<bool> {
    let n: i64 = e::table
        .filter(e::tenant_id.eq(tenant.as_str()))
        .filter(e::person_id.eq(person.as_str()))
        .filter(e::purpose.eq(purpose))
        .filter(e::source.eq(source.as_str()))
        .count()
        .get_result(conn)
        .domain()?;
    Ok(n > 0)
}

/// The person's current state for `purpose`, if anything was recorded.
pub fn state_of(conn: &mut Db, tenant: &TenantId, person: &PersonId, purpose: &str) -> Result<Option<ConsentState>> {
    let states = states(conn, tenant, &[person.as_str()], &[purpose])?;
    Ok(states.into_values().next())
}
