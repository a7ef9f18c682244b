//! Backups: tenant archives kept by kluis, made on request
//! (`POST /v1/backups`) or by the schedule, rotated per tenant (7 daily, 4
//! weekly, 3 monthly by default), downloaded, deleted, and restored. A
//! restore replaces the tenant's data with the backup's and, before it
//! returns, erases again everyone the erasure ledger says was erased: a
//! backup never brings an erased person back. Every step is audited in the
//! tenant's chain.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use kluis_audit::{Action, Target};
use kluis_backup::archive::{self, Manifest, Quiet};
use kluis_backup::backups::{self, Backup, Origin, Schedule};
use kluis_backup::jobs::JobState;
use kluis_backup::rotation::{self, MAX_PER_TIER, Policy};
use kluis_backup::store::{self, BackupStore, Body};
use kluis_backup::{ArchiveError, Secret};
use kluis_core::page::Page;
use kluis_core::{Actor, ActorKind, DomainError, TenantId};
use kluis_retention::erasure::Erasure;
use kluis_retention::receipts::Reason;
use kluis_store::db::{DbPool, checkout};
use kluis_store::error::{TxError, from_pool};
use kluis_store::personal::PersonalData;
use kluis_store::{Db, MasterKey};
use time::PrimitiveDateTime;

use crate::{App, AppError, AppResult, Scoped};

/// The actor id of the schedule in backups and the audit log.
pub const SCHEDULE_ACTOR: &str = "backup-schedule";

/// How long a scheduled backup's lease holds: an instance that dies while
/// it backs a tenant up gives the tenant back after this.
pub const LEASE: time::Duration = time::Duration::hours(6);

fn store_of(app: &App) -> Result<Arc<BackupStore>, DomainError> {
    app.backups.clone().map_err(|e| DomainError::Internal(format!("backup store: {e}")))
}

fn not_found_unless_id(id: &str) -> Result<(), DomainError> {
    if kluis_core::ids::is_uuid(id) { Ok(()) } else { Err(DomainError::NotFound) }
}

/// The audit context of the schedule and of rotation.
fn schedule_audit(tenant: &TenantId) -> kluis_audit::Context {
    kluis_audit::Context {
        tenant: tenant.clone(),
        actor_kind: ActorKind::System,
        actor_id: SCHEDULE_ACTOR.to_owned(),
        request_id: None,
        ip_prefix: None,
    }
}

/// Start a backup of the caller's tenant: the row now (answered 202), the
/// archive written and stored in the background, then the tenant's
/// backups rotated.
pub async fn start(app: &App, caller: &Scoped<'_>) -> AppResult<Backup> {
    let store = store_of(app)?;
    let tenant = caller.tenant.clone();
    let actor = caller.actor().id.clone();
    let storage = store.storage();
    let backup = app
        .audited(caller.audit(), Action::BackupCreate, Vec::new(), move |conn| {
            let backup = backups::create(conn, &tenant, Origin::Manual, &actor, storage)?;
            let target = Target::resource("backup", &backup.id);
            Ok((backup, target))
        })
        .await?;
    let (pool, master, job) = (app.pool.clone(), app.master.clone(), backup.clone());
    let spawned = std::thread::Builder::new().name("kluis-backup".into()).spawn(move || {
        if run(&pool, &master, &store, &job).is_ok() {
            rotate_logged(&pool, &store, &job.tenant, kluis_core::time::now());
        }
    });
    if let Err(e) = spawned {
        let (tenant, id) = (caller.tenant.clone(), backup.id.clone());
        let message = format!("could not start: {e}");
        app.with_conn(move |conn| backups::finish(conn, &tenant, &id, Err(&message))).await?;
    }
    Ok(backup)
}

/// Write `backup`'s archive (sealed under the master key) and store it;
/// record the outcome on its row.
pub fn run(pool: &DbPool, master: &MasterKey, store: &BackupStore, backup: &Backup) -> Result<Manifest, ArchiveError> {
    let outcome = checkout(pool)
        .map_err(|e| ArchiveError::Domain(from_pool(e)))
        .and_then(|mut conn| write_and_store(&mut conn, master, store, backup));
    let saved = checkout(pool).map_err(from_pool).and_then(|mut conn| match &outcome {
        Ok((manifest, bytes)) => backups::finish(&mut conn, &backup.tenant, &backup.id, Ok((manifest, *bytes))),
        Err(e) => backups::finish(&mut conn, &backup.tenant, &backup.id, Err(&e.to_string())),
    });
    match (&outcome, saved) {
        (Ok((_, bytes)), Ok(())) => {
            tracing::info!(tenant.id = %backup.tenant, backup.id = %backup.id, bytes, "backup done")
        }
        (Err(e), Ok(())) => {
            tracing::error!(tenant.id = %backup.tenant, backup.id = %backup.id, error = %e, "backup failed")
        }
        (_, Err(e)) => {
            tracing::error!(tenant.id = %backup.tenant, backup.id = %backup.id, error = %e, "backup: row not updated")
        }
    }
    outcome.map(|(manifest, _)| manifest)
}

fn write_and_store(
    conn: &mut Db,
    master: &MasterKey,
    store: &BackupStore,
    backup: &Backup,
) -> Result<(Manifest, u64), ArchiveError> {
    let staged = store.staging_path(&backup.object_key);
    store::create_parent(&staged)?;
    let written = write_staged(conn, master, &backup.tenant, &staged);
    let (manifest, bytes) = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(e);
        }
    };
    store.store(&staged, &backup.object_key)?;
    Ok((manifest, bytes))
}

fn write_staged(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    staged: &Path,
) -> Result<(Manifest, u64), ArchiveError> {
    let file = store::private_file(staged)?;
    let out = std::io::BufWriter::with_capacity(256 * 1024, file);
    let (manifest, out, bytes) = archive::export(conn, tenant, out, &Secret::Master(master), &mut Quiet)?;
    let file = out.into_inner().map_err(|e| ArchiveError::Io(e.into_error()))?;
    file.sync_all()?;
    Ok((manifest, bytes))
}

/// Delete the tenant's backups that its policy no longer keeps at `now`
/// (objects first, then rows; each deletion audited as the schedule's);
/// returns the ids deleted.
pub fn rotate(
    pool: &DbPool,
    store: &BackupStore,
    tenant: &TenantId,
    now: PrimitiveDateTime,
) -> Result<Vec<String>, DomainError> {
    let mut conn = checkout(pool).map_err(from_pool)?;
    let policy = backups::schedule(&mut conn, tenant)?.policy;
    let done = backups::done(&mut conn, tenant)?;
    let plan = rotation::plan(&done, policy, now);
    let audit = schedule_audit(tenant);
    for id in &plan.delete {
        let backup = backups::get(&mut conn, tenant, id)?;
        store.delete(&backup.object_key).map_err(|e| DomainError::Internal(format!("backup object: {e}")))?;
        kluis_store::write_tx(&mut conn, |conn| -> Result<(), TxError> {
            backups::delete(conn, tenant, id)?;
            kluis_audit::record(
                conn,
                &audit,
                Action::BackupDelete,
                Target::resource("backup", id),
                &["rotation"],
                None,
            )?;
            Ok(())
        })?;
    }
    Ok(plan.delete)
}

fn rotate_logged(pool: &DbPool, store: &BackupStore, tenant: &TenantId, now: PrimitiveDateTime) {
    match rotate(pool, store, tenant, now) {
        Ok(deleted) if !deleted.is_empty() => {
            tracing::info!(tenant.id = %tenant, deleted = deleted.len(), "backups rotated")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(tenant.id = %tenant, error = %e, "backup rotation failed; next backup retries"),
    }
}

/// The caller's tenant's backups, newest first.
pub async fn list(app: &App, caller: &Scoped<'_>, limit: i64, after: Option<String>) -> AppResult<Page<Backup>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| backups::list(conn, &tenant, limit, after.as_deref())).await
}

/// Backup `id` of the caller's tenant (404 for another tenant's).
pub async fn get(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<Backup> {
    let tenant = caller.tenant.clone();
    not_found_unless_id(&id)?;
    app.read(move |conn| backups::get(conn, &tenant, &id)).await
}

fn ready(backup: &Backup) -> Result<(), DomainError> {
    if backup.state == JobState::Done {
        return Ok(());
    }
    Err(DomainError::Conflict {
        code: "backup_not_ready",
        message: format!("the backup is {}: only a finished backup can be used", backup.state.as_str()),
    })
}

/// A finished backup's archive, to send to the caller; audited.
pub async fn download(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<(Backup, Body)> {
    let store = store_of(app)?;
    let backup = get(app, caller, id).await?;
    ready(&backup)?;
    let key = backup.object_key.clone();
    let body = tokio::task::spawn_blocking(move || store.body(&key))
        .await
        .map_err(|e| AppError::internal(format!("blocking pool: {e}")))?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => AppError::from(DomainError::NotFound),
            _ => AppError::internal(format!("backup object: {e}")),
        })?;
    let target = Target::resource("backup", &backup.id);
    app.audited(caller.audit(), Action::BackupDownload, Vec::new(), move |_| Ok(((), target))).await?;
    Ok((backup, body))
}

/// Delete a backup (its object, then its row); audited. 409 while it is
/// being written.
pub async fn delete(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<()> {
    let store = store_of(app)?;
    let backup = get(app, caller, id).await?;
    if backup.state == JobState::Running {
        return Err(DomainError::Conflict {
            code: "backup_running",
            message: "the backup is being written: delete it once it is done".to_owned(),
        }
        .into());
    }
    let key = backup.object_key.clone();
    tokio::task::spawn_blocking(move || store.delete(&key))
        .await
        .map_err(|e| AppError::internal(format!("blocking pool: {e}")))?
        .map_err(|e| AppError::internal(format!("backup object: {e}")))?;
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::BackupDelete, Vec::new(), move |conn| {
        backups::delete(conn, &tenant, &backup.id)?;
        Ok(((), Target::resource("backup", &backup.id)))
    })
    .await
}

/// The caller's tenant's rotation policy.
pub async fn policy(app: &App, caller: &Scoped<'_>) -> AppResult<Schedule> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| backups::schedule(conn, &tenant)).await
}

/// A change of the rotation policy: the tiers given.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyPatch {
    /// Newest backups of distinct days (1 or more).
    pub daily: Option<u32>,
    /// Then, of distinct weeks.
    pub weekly: Option<u32>,
    /// Then, of distinct months.
    pub monthly: Option<u32>,
}

impl crate::AuditFields for PolicyPatch {
    fn audit_fields(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.daily.is_some() {
            fields.push("keep_daily");
        }
        if self.weekly.is_some() {
            fields.push("keep_weekly");
        }
        if self.monthly.is_some() {
            fields.push("keep_monthly");
        }
        fields
    }
}

/// Change the caller's tenant's rotation policy (with `if_version`, only
/// while it is still that version). Rotation applies it after the next
/// backup. At least one daily backup is kept, at most 366 per tier.
pub async fn set_policy(
    app: &App,
    caller: &Scoped<'_>,
    patch: PolicyPatch,
    if_version: Option<i64>,
) -> AppResult<Schedule> {
    if patch.daily == Some(0) {
        return Err(AppError::invalid("keep_daily", "at least 1: rotation keeps the newest backup"));
    }
    for (field, value) in [("keep_daily", patch.daily), ("keep_weekly", patch.weekly), ("keep_monthly", patch.monthly)]
    {
        if value.is_some_and(|v| v > MAX_PER_TIER) {
            return Err(AppError::invalid(field, format!("at most {MAX_PER_TIER}")));
        }
    }
    let tenant = caller.tenant.clone();
    let fields = crate::AuditFields::audit_fields(&patch);
    app.audited(caller.audit(), Action::BackupPolicyUpdate, fields, move |conn| {
        let now = backups::schedule(conn, &tenant)?;
        if if_version.is_some_and(|v| v != now.version) {
            return Err(DomainError::VersionMismatch.into());
        }
        let policy = Policy {
            daily: patch.daily.unwrap_or(now.policy.daily),
            weekly: patch.weekly.unwrap_or(now.policy.weekly),
            monthly: patch.monthly.unwrap_or(now.policy.monthly),
        };
        let schedule = backups::set_policy(conn, &tenant, policy)?;
        Ok((schedule, Target::tenant(&tenant)))
    })
    .await
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restore {
    /// The backup restored.
    pub backup: Backup,
    /// People erased after the backup was made, erased again.
    pub re_erasures: u64,
    /// Rows removed before the backup's went in.
    pub rows_removed: u64,
    /// Rows put back from the backup.
    pub rows_restored: u64,
}

/// Replace the caller's tenant's data with backup `id`'s and re-apply the
/// erasure ledger, in one transaction; audited (`tenant.restore`, with the
/// number of re-erasures). 409 `backup_not_ready` for an unfinished
/// backup, 409 `backup_refused` for an archive that was altered or cut
/// short (nothing changed).
pub async fn restore(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<Restore> {
    let store = store_of(app)?;
    let backup = get(app, caller, id).await?;
    ready(&backup)?;
    let audit = caller.audit();
    let actor = caller.actor().clone();
    let (holders, master) = (app.holders.clone(), app.master.clone());
    app.with_conn(move |conn| restore_in(conn, &holders, &master, &store, &audit, &actor, backup)).await
}

/// The restore itself, for the API and the CLI: `backup` (of `audit`'s
/// tenant) into that tenant, by `actor`.
pub fn restore_in(
    conn: &mut Db,
    holders: &[Arc<dyn PersonalData>],
    master: &MasterKey,
    store: &BackupStore,
    audit: &kluis_audit::Context,
    actor: &Actor,
    backup: Backup,
) -> Result<Restore, DomainError> {
    let tenant = backup.tenant.clone();
    let copy = store.local_copy(&backup.object_key).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DomainError::Conflict {
            code: "backup_missing",
            message: "the backup's archive is no longer where it was kept".to_owned(),
        },
        _ => DomainError::Internal(format!("backup object: {e}")),
    })?;
    let file = std::fs::File::open(copy.path()).map_err(|e| DomainError::Internal(format!("backup object: {e}")))?;
    let input = std::io::BufReader::with_capacity(256 * 1024, file);
    let mut re_erasures = 0u64;
    let restored = archive::restore(conn, &tenant, input, &Secret::Master(master), &mut Quiet, |conn, _| {
        re_erasures = after_restore(conn, holders, audit, actor, &tenant, &backup.id)?;
        Ok(())
    });
    let restored = restored.map_err(refused)?;
    tracing::info!(tenant.id = %tenant, backup.id = %backup.id, re_erasures, "backup restored");
    Ok(Restore { backup, re_erasures, rows_removed: restored.rows_removed, rows_restored: restored.rows_restored })
}

fn refused(e: ArchiveError) -> DomainError {
    if e.is_refusal() {
        DomainError::Conflict { code: "backup_refused", message: format!("the backup cannot be restored: {e}") }
    } else {
        DomainError::from(e)
    }
}

/// Inside a restore's transaction, once the backup's rows are in: the
/// per-tenant setup this binary adds, the erasure ledger re-applied, the
/// audit entry (`tenant.restore`, fields `backup` and `re_erasures=N`).
/// Returns the number of re-erasures.
fn after_restore(
    conn: &mut Db,
    holders: &[Arc<dyn PersonalData>],
    audit: &kluis_audit::Context,
    actor: &Actor,
    tenant: &TenantId,
    backup_id: &str,
) -> Result<u64, DomainError> {
    crate::setup::init_tenant(conn, tenant)?;
    let re_erasures = re_erase(conn, holders, audit, actor, tenant)?;
    let counted = format!("re_erasures={re_erasures}");
    let fields = ["backup", counted.as_str()];
    kluis_audit::record(conn, audit, Action::TenantRestore, Target::resource("backup", backup_id), &fields, None)?;
    Ok(re_erasures)
}

/// What `kluis tenant restore` did.
#[derive(Debug, Clone)]
pub struct CliRestore {
    /// The backup restored.
    pub backup: Backup,
    /// The tenant restored (the backup's).
    pub tenant: TenantId,
    /// Its slug here.
    pub slug: String,
    /// True when the tenant existed and its data was replaced; false when
    /// it no longer existed here and was brought back whole.
    pub in_place: bool,
    /// People erased again.
    pub re_erasures: u64,
}

/// `kluis tenant restore --backup ID [--as SLUG]`, by the instance's
/// operator: backup `id` restored into its tenant when that tenant exists
/// here (`--as` is refused then: a tenant keeps its id, bound into its
/// audit chain, so a second copy of it cannot live beside it); when the
/// tenant no longer exists here, brought back whole as a tenant again
/// under `as_slug` or its old slug. Either way in one transaction, with
/// the erasure ledger re-applied and audited as done by the system.
pub fn restore_cli(
    conn: &mut Db,
    holders: &[Arc<dyn PersonalData>],
    master: &MasterKey,
    store: &BackupStore,
    id: &str,
    as_slug: Option<String>,
) -> Result<CliRestore, DomainError> {
    if !kluis_core::ids::is_uuid(id) {
        return Err(DomainError::NotFound);
    }
    let backup = backups::find(conn, id)?;
    ready(&backup)?;
    let tenant = backup.tenant.clone();
    let actor = system_actor(&tenant);
    let audit = crate::retention::system_audit(&tenant);
    if let Ok(record) = kluis_store::tenancy::tenants::get(conn, &tenant) {
        if as_slug.is_some() {
            return Err(DomainError::Conflict {
                code: "tenant_exists",
                message: format!(
                    "the backup's tenant exists here as `{}`: restore it in place (without --as); --as brings back a tenant that no longer exists here",
                    record.slug
                ),
            });
        }
        let restored = restore_in(conn, holders, master, store, &audit, &actor, backup)?;
        return Ok(CliRestore {
            tenant,
            slug: record.slug,
            in_place: true,
            re_erasures: restored.re_erasures,
            backup: restored.backup,
        });
    }
    let copy =
        store.local_copy(&backup.object_key).map_err(|e| DomainError::Internal(format!("backup object: {e}")))?;
    let file = std::fs::File::open(copy.path()).map_err(|e| DomainError::Internal(format!("backup object: {e}")))?;
    let input = std::io::BufReader::with_capacity(256 * 1024, file);
    let options = archive::ImportOptions { slug: as_slug };
    let mut re_erasures = 0;
    let imported = archive::import(conn, input, &Secret::Master(master), &options, &mut Quiet, |conn, tenant, _| {
        re_erasures = after_restore(conn, holders, &audit, &actor, tenant, &backup.id)?;
        Ok(())
    })
    .map_err(refused)?;
    Ok(CliRestore { tenant: imported.tenant, slug: imported.slug, in_place: false, re_erasures, backup })
}

fn system_actor(tenant: &TenantId) -> Actor {
    Actor {
        kind: ActorKind::System,
        id: "kluis".to_owned(),
        tenant: Some(tenant.clone()),
        scopes: Vec::new(),
        purposes: Vec::new(),
    }
}

/// Erase again every restored person the erasure ledger names; how many.
fn re_erase(
    conn: &mut Db,
    holders: &[Arc<dyn PersonalData>],
    audit: &kluis_audit::Context,
    actor: &Actor,
    tenant: &TenantId,
) -> Result<u64, DomainError> {
    let erased: HashSet<String> =
        kluis_retention::ledger::entries(conn, tenant)?.into_iter().map(|(hash, _)| hash).collect();
    let mut count = 0;
    for person in kluis_people::persons::ids(conn, tenant)? {
        let hash = kluis_retention::ledger::subject_hash(conn, tenant, &person)?;
        if !erased.contains(&hash) {
            continue;
        }
        kluis_retention::holds::remove_all(conn, tenant, &person)?;
        let by = crate::erasure::erased_by(conn, actor, tenant, &person)?;
        crate::erasure::erase_in(conn, holders, audit, &person, &Erasure { reason: Reason::Request, by })?;
        count += 1;
    }
    Ok(count)
}

/// One round of the schedule at `now` for instance `owner`: every active
/// tenant whose last scheduled backup is at least `interval` old and whose
/// lease no other instance holds is backed up and rotated. Returns the
/// backups made.
pub fn run_schedule(
    pool: &DbPool,
    master: &MasterKey,
    store: &BackupStore,
    owner: &str,
    interval: time::Duration,
    now: PrimitiveDateTime,
) -> Result<Vec<Backup>, DomainError> {
    let mut conn = checkout(pool).map_err(from_pool)?;
    let mut made = Vec::new();
    for tenant in kluis_store::tenancy::tenants::all_ids(&mut conn)? {
        if !kluis_store::tenancy::tenants::is_active(&mut conn, &tenant)? {
            continue;
        }
        if !backups::claim(&mut conn, &tenant, owner, now, now + LEASE, now - interval)? {
            continue;
        }
        let audit = schedule_audit(&tenant);
        let created = kluis_store::write_tx(&mut conn, |conn| -> Result<Backup, TxError> {
            let backup = backups::create(conn, &tenant, Origin::Schedule, SCHEDULE_ACTOR, store.storage())?;
            kluis_audit::record(conn, &audit, Action::BackupCreate, Target::resource("backup", &backup.id), &[], None)?;
            Ok(backup)
        });
        let backup = match created {
            Ok(backup) => backup,
            Err(TxError(e)) => {
                backups::release(&mut conn, &tenant, owner, now)?;
                return Err(e);
            }
        };
        if run(pool, master, store, &backup).is_ok() {
            rotate_logged(pool, store, &tenant, now);
        }
        backups::release(&mut conn, &tenant, owner, now)?;
        made.push(backup);
    }
    Ok(made)
}
