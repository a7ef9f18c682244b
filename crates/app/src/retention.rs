//! Retention (`retention:admin`): the tenant's policies, its defaults, and
//! sweeps. A sweep takes the tenant's lease (so two instances never sweep
//! one tenant at once), turns the policies into rules, runs them through
//! every personal-data holder in short batches, and records and audits
//! what it removed. The server's worker and `kluis retention sweep` run
//! the same [`sweep_now`] as `POST /v1/retention/sweeps`.

use std::collections::BTreeSet;
use std::sync::Arc;

use kluis_audit::{Action, Target as AuditTarget};
use kluis_core::category::Category;
use kluis_core::page::Page;
use kluis_core::{Actor, ActorKind, DomainError, FieldError, PersonId, Result, TenantId};
use kluis_retention::policies::{self, PurposeFacts};
use kluis_retention::sweeper::{self, Moment, Options, Sweeping, Trigger};
use kluis_retention::{NewPolicy, Period, Policy, PolicyPatch, Report, Start, Sweep, Target, lease};
use kluis_store::Db;
use kluis_store::error::TxError;
use kluis_store::personal::{PersonalData, PurgeAction};
use kluis_store::write_tx;
use time::PrimitiveDateTime;

use crate::fields::{AuditFields, present};
use crate::{App, AppResult, Scoped};

impl AuditFields for NewPolicy {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("category", self.category.is_some()),
            ("purpose", self.purpose.is_some()),
            ("period", self.period.is_some()),
            ("start", true),
            ("action", true),
        ])
    }
}

impl AuditFields for PolicyPatch {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("period", self.period.is_some()),
            ("start", self.start.is_some()),
            ("action", self.action.is_some()),
        ])
    }
}

/// A policy with the period it is in force with (its own, or its
/// purpose's retention), as the API shows it.
#[derive(Debug, Clone)]
pub struct InForce {
    /// The policy.
    pub policy: Policy,
    /// Its period in force; `None` if its purpose is gone.
    pub period: Option<String>,
}

fn in_force(policy: Policy, facts: &[PurposeFacts]) -> InForce {
    let period = policy.period_in(facts).map(str::to_owned);
    InForce { policy, period }
}

/// What the consent domain knows of the tenant's purposes, as retention needs it.
pub fn purpose_facts(conn: &mut Db, tenant: &TenantId) -> Result<Vec<PurposeFacts>> {
    let mut facts = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = kluis_consent::purposes::list(conn, tenant, 200, after.as_deref())?;
        let last = page.items.last().map(|p| p.key.clone());
        facts.extend(page.items.into_iter().map(|p| PurposeFacts {
            consent: p.requires_consent(),
            key: p.key,
            categories: p.data_categories,
            retention: p.retention,
        }));
        if page.next_cursor.is_none() {
            return Ok(facts);
        }
        after = last;
    }
}

fn ceiling(conn: &mut Db, tenant: &TenantId) -> Result<Option<String>> {
    Ok(kluis_store::tenancy::tenants::get(conn, tenant)?.max_retention)
}

/// Make a policy (checked against the catalogue, the purposes and the
/// tenant's ceiling), with its audit entry.
pub async fn create_policy(app: &App, caller: &Scoped<'_>, new: NewPolicy) -> AppResult<InForce> {
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::RetentionPolicyCreate, fields, move |conn| {
        let facts = purpose_facts(conn, &tenant)?;
        let ceiling = ceiling(conn, &tenant)?;
        let now = kluis_core::time::now();
        let target = policies::check(
            &policies::target_of(&new),
            new.period.as_deref(),
            new.start,
            &facts,
            ceiling.as_deref(),
            now,
        )?;
        let policy = policies::insert(conn, &tenant, &target, new.period.as_deref(), new.start, new.action)?;
        let audit_target = AuditTarget::resource("retention_policy", &policy.id);
        Ok((in_force(policy, &facts), audit_target))
    })
    .await
}

/// The tenant's policies in creation order.
pub async fn list_policies(
    app: &App,
    caller: &Scoped<'_>,
    limit: i64,
    after: Option<String>,
) -> AppResult<Page<InForce>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| {
        let page = policies::list(conn, &tenant, limit, after.as_deref())?;
        let facts = purpose_facts(conn, &tenant)?;
        Ok(page.map(|p| in_force(p, &facts)))
    })
    .await
}

/// One policy of the tenant.
pub async fn get_policy(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<InForce> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| {
        let policy = policies::get(conn, &tenant, &id)?;
        Ok(in_force(policy, &purpose_facts(conn, &tenant)?))
    })
    .await
}

/// Change a policy's period, start or action, at `if_version` when given.
pub async fn update_policy(
    app: &App,
    caller: &Scoped<'_>,
    id: String,
    if_version: Option<i64>,
    patch: PolicyPatch,
) -> AppResult<InForce> {
    let tenant = caller.tenant.clone();
    let fields = patch.audit_fields();
    app.audited(caller.audit(), Action::RetentionPolicyUpdate, fields, move |conn| {
        let current = policies::get(conn, &tenant, &id)?;
        let facts = purpose_facts(conn, &tenant)?;
        let ceiling = ceiling(conn, &tenant)?;
        let period = patch.period.clone().unwrap_or_else(|| current.period.clone());
        if period.is_none() && matches!(current.target, Target::Category(_)) {
            return Err(DomainError::invalid("period", "is required for a category policy").into());
        }
        let start = patch.start.unwrap_or(current.start);
        let now = kluis_core::time::now();
        policies::check(&Ok(current.target.clone()), period.as_deref(), start, &facts, ceiling.as_deref(), now)?;
        let policy = policies::update(conn, &tenant, &current, if_version, &patch)?;
        Ok((in_force(policy, &facts), AuditTarget::resource("retention_policy", &id)))
    })
    .await
}

/// Delete a policy, at `if_version` when given.
pub async fn delete_policy(app: &App, caller: &Scoped<'_>, id: String, if_version: Option<i64>) -> AppResult<()> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::RetentionPolicyDelete, Vec::new(), move |conn| {
        policies::delete(conn, &tenant, &id, if_version)?;
        Ok(((), AuditTarget::resource("retention_policy", &id)))
    })
    .await
}

/// A ceiling the operator sets must hold for every policy the tenant has:
/// 422 on `max_retention` naming the first that keeps data longer.
pub fn check_ceiling(conn: &mut Db, tenant: &TenantId, ceiling: &str) -> Result<()> {
    let Ok(max) = ceiling.parse::<Period>() else {
        return Err(DomainError::invalid("max_retention", "must be an ISO 8601 duration such as P5Y, P18M or P30D"));
    };
    let facts = purpose_facts(conn, tenant)?;
    let now = kluis_core::time::now();
    for policy in policies::all(conn, tenant)? {
        let longer =
            policy.period_in(&facts).and_then(|p| p.parse::<Period>().ok()).is_some_and(|p| p.exceeds(max, now));
        if longer {
            return Err(DomainError::Validation(vec![FieldError::new(
                "max_retention",
                format!("retention policy {} keeps data longer; shorten or delete it first", policy.id),
            )]));
        }
    }
    Ok(())
}

/// A default policy: a category or a purpose, its own period (none: the
/// purpose's retention) and its start.
type DefaultPolicy = (Option<Category>, Option<&'static str>, Option<&'static str>, Start);

/// The defaults every tenant starts with, from the privacy statements:
/// device and sign-in data 3 years after the last activity (Servconnect);
/// session recordings and visit statistics as long as their purposes'
/// retention says (Digital WorkMate's "watched for a limited time");
/// customer-data backups until they are put back on the repaired
/// equipment or the item is returned (ITfixe): gone at the first sweep after.
const DEFAULTS: [DefaultPolicy; 4] = [
    (Some(Category::Device), None, Some("P3Y"), Start::LastActivity),
    (None, Some("session_recording"), None, Start::Created),
    (None, Some("analytics"), None, Start::Created),
    (Some(Category::ServiceBackup), None, Some("PT1S"), Start::RestoredOrReturned),
];

/// The tenant's retention head and default policies, made once (the
/// per-tenant setup registry): a default the tenant deletes stays deleted.
/// A default whose purpose the tenant no longer has is left out.
pub fn init(conn: &mut Db, tenant: &TenantId) -> Result<()> {
    write_tx(conn, |conn| -> std::result::Result<(), TxError> {
        if !lease::ensure_head(conn, tenant)? {
            return Ok(());
        }
        let facts = purpose_facts(conn, tenant)?;
        let system = Actor {
            kind: ActorKind::System,
            id: "kluis".to_owned(),
            tenant: Some(tenant.clone()),
            scopes: Vec::new(),
            purposes: Vec::new(),
        };
        let ctx = kluis_audit::Context::new(&system, tenant.clone(), None, None);
        for (category, purpose, period, start) in DEFAULTS {
            let target = match (category, purpose) {
                (Some(category), _) => Target::Category(category),
                (None, Some(key)) if facts.iter().any(|f| f.key == key) => Target::Purpose(key.to_owned()),
                _ => continue,
            };
            let policy = policies::insert(conn, tenant, &target, period, start, PurgeAction::Delete)?;
            let fields: &[&str] = if period.is_some() {
                &["category", "period", "start", "action"]
            } else {
                &["purpose", "start", "action"]
            };
            let audit_target = AuditTarget::resource("retention_policy", &policy.id);
            kluis_audit::record(conn, &ctx, Action::RetentionPolicyCreate, audit_target, fields, None)?;
        }
        Ok(())
    })
    .map_err(DomainError::from)
}

/// Persons of the tenant whose last activity (profile change, session use,
/// device activity) is before `cutoff`.
pub fn inactive_persons(conn: &mut Db, tenant: &TenantId, cutoff: PrimitiveDateTime) -> Result<Vec<PersonId>> {
    let mut inactive = Vec::new();
    let mut after: Option<PersonId> = None;
    loop {
        let candidates = kluis_people::aging::unchanged_since(conn, tenant, cutoff, after.as_ref(), 500)?;
        let Some(last) = candidates.last().cloned() else { break };
        let mut active: BTreeSet<PersonId> =
            kluis_people::aging::active_since(conn, tenant, &candidates, cutoff)?.into_iter().collect();
        active.extend(kluis_devices::devices::active_since(conn, tenant, &candidates, cutoff)?);
        let full = candidates.len() == 500;
        inactive.extend(candidates.into_iter().filter(|p| !active.contains(p)));
        if !full {
            break;
        }
        after = Some(last);
    }
    Ok(inactive)
}

/// The persons inactive for longer than the tenant's ceiling, less those
/// in `skip`: a sweep erases them, each with a receipt. `None`: the tenant
/// has no ceiling.
pub fn inactive_past_ceiling(
    conn: &mut Db,
    tenant: &TenantId,
    skip: &BTreeSet<PersonId>,
    now: PrimitiveDateTime,
) -> Result<Option<Vec<PersonId>>> {
    let Some(ceiling) = ceiling(conn, tenant)?.and_then(|c| c.parse::<Period>().ok()) else {
        return Ok(None);
    };
    let found = inactive_persons(conn, tenant, ceiling.before(now))?;
    Ok(Some(found.into_iter().filter(|p| !skip.contains(p)).collect()))
}

/// How long a sweep's lease lasts without renewal (it is renewed as batches go).
const LEASE: time::Duration = time::Duration::minutes(5);

/// What the sweeper asks while it runs, answered from the other domains.
struct Answers<'a> {
    tenant: &'a TenantId,
    now: PrimitiveDateTime,
    lease: Option<(&'a str, std::time::Instant)>,
    progress: &'a mut dyn FnMut(u64),
    /// Who sweeps: the erasures past the tenant's ceiling are theirs (none on a count).
    audit: Option<&'a kluis_audit::Context>,
}

impl Sweeping for Answers<'_> {
    fn persons(&mut self, conn: &mut Db, moment: &Moment) -> Result<Vec<PersonId>> {
        use kluis_consent::ended::{End, ended_before};
        match moment {
            Moment::Inactive { cutoff } => inactive_persons(conn, self.tenant, *cutoff),
            Moment::ConsentEnded { purposes, start, cutoff } => {
                let end = if *start == Start::ConsentExpired { End::Expired } else { End::Withdrawn };
                ended_before(conn, self.tenant, purposes, end, *cutoff, self.now)
            }
        }
    }

    fn batch_done(&mut self, conn: &mut Db, rows: u64) -> Result<()> {
        (self.progress)(rows);
        if let Some((holder, renewed)) = &mut self.lease
            && renewed.elapsed() > std::time::Duration::from_secs(60)
        {
            if !lease::renew(conn, self.tenant, holder, LEASE)? {
                return Err(DomainError::Internal("the sweep lease was lost".into()));
            }
            *renewed = std::time::Instant::now();
        }
        Ok(())
    }
}

/// Plan the tenant's policies and run them (nothing recorded).
fn plan_and_run(
    conn: &mut Db,
    holders: &[Arc<dyn PersonalData>],
    tenant: &TenantId,
    options: &Options,
    answers: &mut Answers<'_>,
) -> Result<Report> {
    let facts = purpose_facts(conn, tenant)?;
    let max = ceiling(conn, tenant)?.and_then(|c| c.parse::<Period>().ok());
    let rules = sweeper::plan(&policies::all(conn, tenant)?, &facts, max, answers.now);
    // A person under a legal hold is never touched by a sweep.
    let held: BTreeSet<PersonId> = kluis_retention::holds::held(conn, tenant)?.into_iter().collect();
    let mut report = sweeper::run(conn, tenant, holders, &rules, &held, options, answers)?;
    let past_ceiling = inactive_past_ceiling(conn, tenant, &held, answers.now)?;
    report.inactive_persons = past_ceiling.as_ref().map(|found| found.len() as u64);
    if let (Some(found), Some(audit), false) = (past_ceiling, answers.audit, options.dry_run) {
        for person in &found {
            erase_past_ceiling(conn, holders, audit, person)?;
        }
    }
    Ok(report)
}

/// Erase a person inactive for longer than the tenant's ceiling, with a
/// receipt (reason `retention`), each in a transaction of its own.
fn erase_past_ceiling(
    conn: &mut Db,
    holders: &[Arc<dyn PersonalData>],
    audit: &kluis_audit::Context,
    person: &PersonId,
) -> Result<()> {
    let kind = match audit.actor_kind {
        ActorKind::Operator => "operator",
        ActorKind::Client => "client",
        ActorKind::Subject => "subject",
        ActorKind::System => "system",
    };
    let by = kluis_retention::receipts::ErasedBy { kind: kind.to_owned(), id: Some(audit.actor_id.clone()) };
    let erasure = kluis_retention::erasure::Erasure { reason: kluis_retention::receipts::Reason::Retention, by };
    write_tx(conn, |conn| -> std::result::Result<(), TxError> {
        crate::erasure::erase_in(conn, holders, audit, person, &erasure)?;
        Ok(())
    })
    .map_err(DomainError::from)
}

/// How many rows a sweep of the tenant would reach now (for a progress
/// bar's length): a dry run that is neither recorded nor audited.
pub fn count_due(conn: &mut Db, holders: &[Arc<dyn PersonalData>], tenant: &TenantId) -> Result<Report> {
    let options = Options { dry_run: true, ..Options::default() };
    let mut ignore = |_| {};
    let mut answers = Answers { tenant, now: kluis_core::time::now(), lease: None, progress: &mut ignore, audit: None };
    plan_and_run(conn, holders, tenant, &options, &mut answers)
}

/// Sweep `tenant` now: take its lease (409 `sweep_running` while another
/// sweep holds it), run its policies through `holders`, then record the
/// sweep with its audit entry (by `audit`'s actor) and give the lease back.
/// `progress` hears the rows of every batch.
pub fn sweep_now(
    conn: &mut Db,
    holders: &[Arc<dyn PersonalData>],
    audit: &kluis_audit::Context,
    trigger: Trigger,
    options: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Sweep> {
    let tenant = &audit.tenant;
    let holder = kluis_core::new_id();
    if !lease::acquire(conn, tenant, &holder, LEASE)? {
        return Err(DomainError::Conflict {
            code: "sweep_running",
            message: "another sweep of this tenant is running; try again when it is done".into(),
        });
    }
    let started = std::time::Instant::now();
    let started_at = kluis_core::time::now();
    let mut answers =
        Answers { tenant, now: started_at, lease: Some((&holder, started)), progress, audit: Some(audit) };
    let ran = plan_and_run(conn, holders, tenant, options, &mut answers);
    let released = lease::release(conn, tenant, &holder);
    let report = ran?;
    released?;
    let sweep = Sweep {
        id: kluis_core::new_id(),
        trigger,
        actor_id: audit.actor_id.clone(),
        dry_run: options.dry_run,
        started_at,
        finished_at: kluis_core::time::now(),
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        report,
    };
    let tables: BTreeSet<&str> = sweep.report.rows.values().flat_map(|t| t.keys().map(String::as_str)).collect();
    let tables: Vec<&str> = tables.into_iter().collect();
    write_tx(conn, |conn| -> std::result::Result<(), TxError> {
        sweeper::record(conn, tenant, &sweep)?;
        let target = AuditTarget::resource("retention_sweep", &sweep.id);
        kluis_audit::record(conn, audit, Action::RetentionSweep, target, &tables, None)?;
        Ok(())
    })
    .map_err(DomainError::from)?;
    tracing::info!(tenant.id = %tenant, sweep.id = %sweep.id, rows = sweep.report.total, dry_run = sweep.dry_run, "retention sweep");
    Ok(sweep)
}

/// `POST /v1/retention/sweeps`: sweep the caller's tenant now (or, dry, count).
pub async fn sweep(app: &App, caller: &Scoped<'_>, dry_run: bool) -> AppResult<Sweep> {
    let holders = app.holders.clone();
    let audit = caller.audit();
    app.with_conn(move |conn| {
        let options = Options { dry_run, ..Options::default() };
        sweep_now(conn, &holders, &audit, Trigger::Api, &options, &mut |_| {})
    })
    .await
}

/// The tenant's sweeps, newest first.
pub async fn list_sweeps(app: &App, caller: &Scoped<'_>, limit: i64, after: Option<String>) -> AppResult<Page<Sweep>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| sweeper::list(conn, &tenant, limit, after.as_deref())).await
}

/// One sweep of the tenant.
pub async fn get_sweep(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<Sweep> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| sweeper::get(conn, &tenant, &id)).await
}

/// The audit context of kluis itself sweeping `tenant` (the worker, the CLI).
pub fn system_audit(tenant: &TenantId) -> kluis_audit::Context {
    let system = Actor {
        kind: ActorKind::System,
        id: "kluis".to_owned(),
        tenant: Some(tenant.clone()),
        scopes: Vec::new(),
        purposes: Vec::new(),
    };
    kluis_audit::Context::new(&system, tenant.clone(), None, None)
}
