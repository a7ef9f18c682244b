//! Erasure (Art. 17) as use cases: a client or staff member erasing a
//! person, a person erasing themselves (at once, or after the tenant's grace
//! period and cancellable within it), the worker that carries out due
//! requests, and the receipts. The orchestration over every holder is
//! `kluis_retention::erasure`; this module adds the transaction, the audit
//! entry and, for a person's own erasure, the confirmation mail.

use std::sync::Arc;

use kluis_audit::{Action, Target};
use kluis_core::page::Page;
use kluis_core::{Actor, ActorKind, DomainError, PersonId, TenantId};
use kluis_people::{accounts, contacts, persons};
use kluis_retention::erasure::{self as orchestration, Erasure, Pending};
use kluis_retention::receipts::{self, ErasedBy, Reason};
use kluis_store::personal::PersonalData;
use kluis_store::tenancy::tenants;
use kluis_store::{Db, MasterKey};
use time::PrimitiveDateTime;

pub use kluis_retention::receipts::Receipt;

/// A receipt with the webhook endpoints told of the erasure (Art. 19):
/// which app, when delivered, when acknowledged.
#[derive(Debug, Clone)]
pub struct Reported {
    /// The receipt.
    pub receipt: Receipt,
    /// The `person.erased` deliveries, one per endpoint.
    pub told: Vec<crate::webhooks::ToldEndpoint>,
}

fn reported(conn: &mut Db, tenant: &TenantId, receipt: Receipt) -> Result<Reported, DomainError> {
    let told = crate::webhooks::told(conn, tenant, &receipt.id)?;
    Ok(Reported { receipt, told })
}

use crate::{App, AppResult, Context, Scoped};

/// Erase `person` inside the caller's transaction: every holder, the
/// erasure's audit entry (`person.delete`, by `audit`'s actor), the ledger
/// and the receipt. The entry point for every reason; a retention sweep
/// calls it with [`Reason::Retention`] and a system audit context.
pub fn erase_in(
    conn: &mut Db,
    holders: &[Arc<dyn PersonalData>],
    audit: &kluis_audit::Context,
    person: &PersonId,
    erasure: &Erasure,
) -> Result<Receipt, DomainError> {
    let tenant = audit.tenant.clone();
    // The apps holding references are told after the references are gone.
    let held = kluis_people::references::list(conn, &tenant, person)?;
    // The feed's `person.erased` is shown to the processors whose purposes allowed them just before.
    let allowed = crate::processors::allowed_purposes(conn, &tenant, person)?;
    let receipt = orchestration::erase(conn, holders, &tenant, person, erasure, |conn| {
        kluis_audit::record(conn, audit, Action::PersonDelete, Target::person("person", person), &[], None)
    })?;
    crate::webhooks::person_erased(conn, &tenant, person, &receipt.id, &held, &allowed)?;
    Ok(receipt)
}

/// How a receipt names who erased: a client by its id, a staff member by
/// their audit reference (as the log does), a person erasing themselves not
/// at all, kluis itself as `system`.
pub(crate) fn erased_by(
    conn: &mut Db,
    actor: &Actor,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<ErasedBy, DomainError> {
    let kind = match actor.kind {
        ActorKind::Operator => "operator",
        ActorKind::Client => "client",
        ActorKind::Subject => "subject",
        ActorKind::System => "system",
    };
    let id = match actor.kind {
        ActorKind::Subject if actor.id == person.0 => None,
        ActorKind::Subject => kluis_audit::subject_ref(conn, tenant, &PersonId(actor.id.clone()))?,
        ActorKind::System => None,
        _ => Some(actor.id.clone()),
    };
    Ok(ErasedBy { kind: kind.to_owned(), id })
}

/// Erase `person` on request of the caller (`DELETE /v1/people/{id}`); with
/// `if_version`, only while their profile is still that version.
pub async fn erase_person(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    if_version: Option<i64>,
) -> AppResult<Reported> {
    let tenant = caller.tenant.clone();
    let audit = caller.audit();
    let actor = caller.actor().clone();
    let holders = app.holders.clone();
    app.in_transaction(move |conn| {
        let version = persons::version(conn, &tenant, &person)?;
        if if_version.is_some_and(|v| v != version) {
            return Err(DomainError::VersionMismatch.into());
        }
        let by = erased_by(conn, &actor, &tenant, &person)?;
        let receipt = erase_in(conn, &holders, &audit, &person, &Erasure { reason: Reason::Request, by })?;
        Ok(reported(conn, &tenant, receipt)?)
    })
    .await
}

/// A person's own erasure and its confirmation mail, in one transaction:
/// the address and language are read first, the mail queued after (without
/// the person's id).
fn erase_self(
    conn: &mut Db,
    holders: &[Arc<dyn PersonalData>],
    master: &MasterKey,
    audit: &kluis_audit::Context,
    person: &PersonId,
) -> Result<Receipt, DomainError> {
    let tenant = audit.tenant.clone();
    let address = contacts::primary_address(conn, &tenant, person)?;
    let by = ErasedBy { kind: "subject".to_owned(), id: None };
    let receipt = erase_in(conn, holders, audit, person, &Erasure { reason: Reason::SelfService, by })?;
    if let Some((to, language)) = address {
        accounts::mail::queue_erasure_confirmation(conn, master, &tenant, &to, language.as_deref(), &receipt.id)?;
    }
    Ok(receipt)
}

/// What a person's own erasure request came to.
#[derive(Debug)]
pub enum SelfErasure {
    /// The tenant has no grace period: erased now.
    Erased(Box<Reported>),
    /// Erased at `due_at` unless cancelled before.
    Scheduled(Pending),
}

/// The signed-in person asks to be erased (`POST /v1/me/erasure`): at once
/// when the tenant's grace period is 0, else after it. A person under a
/// legal hold is refused (409 `legal_hold`) either way.
pub async fn request_own(app: &App, ctx: &Context) -> AppResult<SelfErasure> {
    let (tenant, person) = ctx.person()?;
    let audit = ctx.audit_in(tenant.clone());
    let holders = app.holders.clone();
    let master = app.master.clone();
    app.in_transaction(move |conn| {
        persons::version(conn, &tenant, &person)?;
        if let Some(hold) = kluis_retention::holds::active(conn, &tenant, &person)? {
            return Err(kluis_retention::holds::refusal(&hold).into());
        }
        let grace = tenants::get(conn, &tenant)?.self_erasure_grace_seconds;
        if grace == 0 {
            let receipt = erase_self(conn, &holders, &master, &audit, &person)?;
            return Ok(SelfErasure::Erased(Box::new(reported(conn, &tenant, receipt)?)));
        }
        let pending = orchestration::request(conn, &tenant, &person, time::Duration::seconds(grace))?;
        kluis_audit::record(conn, &audit, Action::ErasureRequest, Target::person("person", &person), &[], None)?;
        Ok(SelfErasure::Scheduled(pending))
    })
    .await
}

/// The signed-in person cancels their pending erasure (`DELETE /v1/me/erasure`;
/// 404 when nothing is pending).
pub async fn cancel_own(app: &App, ctx: &Context) -> AppResult<()> {
    let (tenant, person) = ctx.person()?;
    let audit = ctx.audit_in(tenant.clone());
    app.audited(audit, Action::ErasureCancel, Vec::new(), move |conn| {
        orchestration::cancel(conn, &tenant, &person)?;
        Ok(((), Target::person("person", &person)))
    })
    .await
}

/// Carry out the self-erasures due at `now` (at most `limit`), each in its
/// own transaction; how many were erased. A person put under a legal hold
/// meanwhile waits until it ends. Instances racing for one request do not
/// erase twice: the loser finds nothing left (404) and rolls back.
pub fn carry_out_due(app: &App, now: PrimitiveDateTime, limit: i64) -> Result<usize, DomainError> {
    let mut conn = app.pool.get().map_err(kluis_store::error::from_pool)?;
    let due = orchestration::due(&mut conn, now, limit)?;
    let mut erased = 0;
    for (tenant, person) in due {
        if kluis_retention::holds::active(&mut conn, &tenant, &person)?.is_some() {
            continue;
        }
        let audit = kluis_audit::Context {
            tenant: tenant.clone(),
            actor_kind: ActorKind::System,
            actor_id: "self-erasure".to_owned(),
            request_id: None,
            ip_prefix: None,
        };
        let done = kluis_store::write_tx(&mut conn, |conn| {
            erase_self(conn, &app.holders, &app.master, &audit, &person).map_err(kluis_store::error::TxError)
        });
        match done {
            Ok(receipt) => {
                tracing::info!(tenant.id = %tenant, receipt.id = %receipt.id, "carried out a self-erasure");
                erased += 1;
            }
            Err(kluis_store::error::TxError(DomainError::NotFound)) => {}
            Err(kluis_store::error::TxError(e)) => return Err(e),
        }
    }
    Ok(erased)
}

/// The tenant's erasure receipts, oldest first, `limit` at a time after `after`.
pub async fn receipts(app: &App, caller: &Scoped<'_>, limit: i64, after: Option<String>) -> AppResult<Page<Reported>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| {
        let page = receipts::list(conn, &tenant, limit, after.as_deref())?;
        let items = page.items.into_iter().map(|r| reported(conn, &tenant, r)).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next_cursor: page.next_cursor })
    })
    .await
}

/// One erasure receipt.
pub async fn receipt(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<Reported> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| {
        let receipt = receipts::get(conn, &tenant, &id)?;
        reported(conn, &tenant, receipt)
    })
    .await
}
