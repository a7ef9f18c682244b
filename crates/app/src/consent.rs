//! The consent ledger: recording a person's grants, withdrawals and
//! objections (by a client, or by the person themselves), their current
//! standing and history, the check processors call before every mailing,
//! and the changes feed. Every recorded event is audited with it; the
//! standing and history reads through the read appender. Checks and feed
//! pages are the hottest path of the service: they are counted per client
//! and day in memory ([`App::usage`]), never audited one by one.

use kluis_audit::{Action, Target};
use kluis_consent::check::{self, Pair};
use kluis_consent::ledger::{self, Changes, Standing};
use kluis_consent::usage::Usage;
use kluis_consent::{ConsentAction, ConsentEvent, Decision, NewEvent, Proof, Source};
use kluis_core::PersonId;
use kluis_core::page::Page;
use kluis_people::persons;
use kluis_rights::restriction;

use crate::fields::{AuditFields, present};
use crate::{App, AppError, AppResult, Context, Scoped};

impl AuditFields for NewEvent {
    /// The source is listed only where the caller chose it: kluis sets it
    /// for the person's own choices and for unsubscribe links.
    fn audit_fields(&self) -> Vec<&'static str> {
        let chosen_source = !matches!(self.source, Source::OwnData | Source::Unsubscribe);
        present(&[
            ("purpose", true),
            ("action", true),
            ("source", chosen_source),
            ("policy_version", self.policy_version.is_some()),
            ("occurred_at", self.occurred_at.is_some()),
            ("expires_at", self.expires_at.is_some()),
        ])
    }
}

/// The audit action of a ledger event.
pub(crate) fn audit_action(action: ConsentAction) -> Action {
    match action {
        ConsentAction::Grant => Action::ConsentGrant,
        ConsentAction::Withdraw => Action::ConsentWithdraw,
        ConsentAction::Object => Action::ConsentObject,
    }
}

/// Record an event for a person of the caller's tenant (404 for one it does
/// not know), with its audit entry, in one transaction.
pub async fn record(app: &App, caller: &Scoped<'_>, person: PersonId, new: NewEvent) -> AppResult<ConsentEvent> {
    let tenant = caller.tenant.clone();
    let actor = caller.actor().clone();
    let ctx = caller.audit();
    app.in_transaction(move |conn| {
        persons::version(conn, &tenant, &person)?;
        let event = ledger::record(conn, &tenant, &person, &actor, &new)?;
        crate::webhooks::consent_changed(conn, &tenant, &event)?;
        let target = Target::person("consent", &person);
        let fields = new.audit_fields();
        kluis_audit::record(conn, &ctx, audit_action(event.action), target, &fields, Some(&event.purpose))?;
        Ok(event)
    })
    .await
}

/// A person's current standing with every purpose of the tenant; an audited read.
pub async fn standings(app: &App, caller: &Scoped<'_>, person: PersonId) -> AppResult<Vec<Standing>> {
    let tenant = caller.tenant.clone();
    let target = Target::person("consent", &person);
    let standings = app
        .read(move |conn| {
            persons::version(conn, &tenant, &person)?;
            restricted_standings(conn, &tenant, &person)
        })
        .await?;
    app.audit_reads.read(&caller.audit(), Action::ConsentRead, target, &["consents"], None).await;
    Ok(standings)
}

/// A page of a person's ledger events with their proof, oldest first,
/// `limit` at a time after the seq `after`; an audited read.
pub async fn history(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    limit: i64,
    after: Option<i64>,
) -> AppResult<Page<ConsentEvent>> {
    let tenant = caller.tenant.clone();
    let target = Target::person("consent", &person);
    let page = app
        .read(move |conn| {
            persons::version(conn, &tenant, &person)?;
            ledger::history(conn, &tenant, &person, limit, after)
        })
        .await?;
    app.audit_reads.read(&caller.audit(), Action::ConsentRead, target, &["consent_history"], None).await;
    Ok(page)
}

/// Count hot-path use per client and day, in place of auditing each call
/// (in memory: a check must not become a write).
fn count(app: &App, caller: &Scoped<'_>, usage: Usage, n: usize) -> AppResult<()> {
    let n = i64::try_from(n).map_err(|e| AppError::internal(e.to_string()))?;
    app.usage.add(&caller.tenant, &caller.actor().id, usage, n);
    Ok(())
}

/// May this person's data be processed for this purpose now? One read of
/// the consent and one primary-key lookup of a restriction (Art. 18: a
/// restricted person is never allowed), one count; an unknown purpose is a
/// 422 on `purpose`.
pub async fn check_one(app: &App, caller: &Scoped<'_>, pair: Pair) -> AppResult<Decision> {
    let tenant = caller.tenant.clone();
    let mut decisions = app
        .read(move |conn| {
            let mut decisions = check::check(conn, &tenant, std::slice::from_ref(&pair), |_| "purpose".to_owned())?;
            if restriction::is_restricted(conn, &tenant, pair.person.as_str())? {
                decisions.iter_mut().for_each(Decision::restrict);
            }
            Ok(decisions)
        })
        .await?;
    count(app, caller, Usage::Check, 1)?;
    decisions.pop().ok_or_else(|| AppError::internal("no decision"))
}

/// The same check for many pairs (one read of the current state for all of
/// them), answered in the order asked; an unknown purpose is a 422 on
/// `checks[i].purpose`.
pub async fn check_batch(
    app: &App,
    caller: &Scoped<'_>,
    pairs: Vec<Pair>,
) -> AppResult<impl Iterator<Item = (Pair, Decision)>> {
    let tenant = caller.tenant.clone();
    let (pairs, decisions) = app
        .read(move |conn| {
            let mut decisions = check::check(conn, &tenant, &pairs, |i| format!("checks[{i}].purpose"))?;
            let persons: Vec<&str> = pairs
                .iter()
                .map(|p| p.person.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let restricted = restriction::restricted_among(conn, &tenant, &persons)?;
            if !restricted.is_empty() {
                for (pair, decision) in pairs.iter().zip(decisions.iter_mut()) {
                    if restricted.contains(pair.person.as_str()) {
                        decision.restrict();
                    }
                }
            }
            Ok((pairs, decisions))
        })
        .await?;
    count(app, caller, Usage::Check, pairs.len())?;
    Ok(pairs.into_iter().zip(decisions))
}

/// Where a reader of the changes feed is.
#[derive(Debug, Clone)]
pub struct FeedPosition {
    /// The seq to continue after (0: from the beginning).
    pub after: i64,
    /// Only events of this purpose (422 on `purpose` for an unknown one).
    pub purpose: Option<String>,
    /// Page size.
    pub limit: i64,
}

/// A page of the ledger as a feed for processors, in commit order; counted,
/// not audited.
pub async fn changes(app: &App, caller: &Scoped<'_>, at: FeedPosition) -> AppResult<Changes> {
    let tenant = caller.tenant.clone();
    let page = app.read(move |conn| ledger::changes(conn, &tenant, at.after, at.purpose.as_deref(), at.limit)).await?;
    count(app, caller, Usage::Changes, 1)?;
    Ok(page)
}

/// The signed-in person's own standing with every purpose of the tenant
/// (nothing allowed while their processing is restricted).
pub async fn mine(app: &App, ctx: &Context) -> AppResult<Vec<Standing>> {
    let (tenant, person) = ctx.person()?;
    app.read(move |conn| restricted_standings(conn, &tenant, &person)).await
}

/// A person's standings, each restricted while the person is.
fn restricted_standings(
    conn: &mut kluis_store::Db,
    tenant: &kluis_core::TenantId,
    person: &PersonId,
) -> Result<Vec<Standing>, kluis_core::DomainError> {
    let mut standings = ledger::standings(conn, tenant, person)?;
    if restriction::is_restricted(conn, tenant, person.as_str())? {
        standings.iter_mut().for_each(|s| s.decision.restrict());
    }
    Ok(standings)
}

/// A signed-in person's own choice for one purpose.
#[derive(Debug, Clone)]
pub struct OwnChoice {
    /// Purpose key.
    pub purpose: String,
    /// Grant, withdraw or object.
    pub action: ConsentAction,
    /// The version of the privacy policy shown.
    pub policy_version: Option<i64>,
    /// Where it came from.
    pub proof: Proof,
}

/// The signed-in person grants, withdraws or objects for one purpose
/// themselves (source `self`: the only way to lift their own objection),
/// with its audit entry, in one transaction. The purpose is named in the
/// path: one the tenant does not have is not found, as everywhere else.
pub async fn set_mine(app: &App, ctx: &Context, choice: OwnChoice) -> AppResult<ConsentEvent> {
    let (tenant, person) = ctx.person()?;
    let new = NewEvent {
        purpose: choice.purpose,
        action: choice.action,
        source: Source::OwnData,
        policy_version: choice.policy_version,
        occurred_at: None,
        expires_at: None,
        proof: choice.proof,
    };
    let actor = ctx.actor.clone();
    let audit = ctx.audit_in(tenant.clone());
    app.in_transaction(move |conn| {
        kluis_consent::purposes::get(conn, &tenant, &new.purpose)?;
        let event = ledger::record(conn, &tenant, &person, &actor, &new)?;
        crate::webhooks::consent_changed(conn, &tenant, &event)?;
        let target = Target::person("consent", &person);
        let fields = new.audit_fields();
        kluis_audit::record(conn, &audit, audit_action(event.action), target, &fields, Some(&event.purpose))?;
        Ok(event)
    })
    .await
}
