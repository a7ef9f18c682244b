//! Backups: tenant archives kept by kluis. A row per backup tracks where it
//! stands and names its object in the [`crate::store`]; a row per tenant
//! holds its rotation policy and the schedule's lease, which one instance
//! at a time holds while it backs the tenant up.

use diesel::prelude::*;
use kluis_core::page::Page;
use kluis_core::{DomainError, TenantId};
use kluis_store::Db;
use kluis_store::error::from_diesel;
use kluis_store::schema::{backup_schedules as s, tenant_backups as b};
use time::PrimitiveDateTime;

use crate::archive::Manifest;
use crate::jobs::JobState;
use crate::rotation::Policy;

type Result<T> = std::result::Result<T, DomainError>;

/// Why a backup was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `POST /v1/backups`.
    Manual,
    /// The schedule.
    Schedule,
}

impl Origin {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Manual => "manual",
            Origin::Schedule => "schedule",
        }
    }
}

/// A backup.
#[derive(Clone, Debug)]
pub struct Backup {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant: TenantId,
    /// Where it stands.
    pub state: JobState,
    /// Why it was made.
    pub origin: Origin,
    /// Who asked (a client or account id, or `schedule`).
    pub actor_id: String,
    /// `local` or `s3`.
    pub storage: String,
    /// Its object's key in the store.
    pub object_key: String,
    /// Its size once done.
    pub bytes: u64,
    /// Its manifest once done.
    pub manifest: Option<Manifest>,
    /// Why it failed.
    pub error: Option<String>,
    /// Moves on with every change.
    pub version: i64,
    /// When it was started: the moment its data is of.
    pub created_at: PrimitiveDateTime,
    /// When it was done or failed.
    pub finished_at: Option<PrimitiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = b)]
struct Row {
    tenant_id: String,
    id: String,
    state: String,
    origin: String,
    actor_id: String,
    storage: String,
    object_key: String,
    bytes: i64,
    manifest: Option<String>,
    error: Option<String>,
    version: i64,
    created_at: PrimitiveDateTime,
    finished_at: Option<PrimitiveDateTime>,
}

impl From<Row> for Backup {
    fn from(row: Row) -> Self {
        Backup {
            state: match row.state.as_str() {
                "done" => JobState::Done,
                "failed" => JobState::Failed,
                _ => JobState::Running,
            },
            origin: if row.origin == "schedule" { Origin::Schedule } else { Origin::Manual },
            id: row.id,
            tenant: TenantId(row.tenant_id),
            actor_id: row.actor_id,
            storage: row.storage,
            object_key: row.object_key,
            bytes: u64::try_from(row.bytes).unwrap_or(0),
            manifest: row.manifest.and_then(|m| serde_json::from_str(&m).ok()),
            error: row.error,
            version: row.version,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

/// The object key of backup `id` of `tenant`.
pub fn object_key(tenant: &TenantId, id: &str) -> String {
    format!("{tenant}/{id}.kluis")
}

/// Record a new running backup.
pub fn create(conn: &mut Db, tenant: &TenantId, origin: Origin, actor_id: &str, storage: &str) -> Result<Backup> {
    let id = kluis_core::ids::new_id();
    let row = Row {
        tenant_id: tenant.as_str().to_owned(),
        object_key: object_key(tenant, &id),
        id,
        state: JobState::Running.as_str().to_owned(),
        origin: origin.as_str().to_owned(),
        actor_id: actor_id.to_owned(),
        storage: storage.to_owned(),
        bytes: 0,
        manifest: None,
        error: None,
        version: 1,
        created_at: kluis_core::time::now(),
        finished_at: None,
    };
    diesel::insert_into(b::table).values(&row).execute(conn).map_err(from_diesel)?;
    Ok(row.into())
}

/// Backup `id` of `tenant` (`NotFound` for another tenant's).
pub fn get(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<Backup> {
    b::table
        .filter(b::tenant_id.eq(tenant.as_str()))
        .filter(b::id.eq(id))
        .select(Row::as_select())
        .first(conn)
        .map(Backup::from)
        .map_err(from_diesel)
}

/// Backup `id` of whichever tenant (the CLI, run by the operator of the
/// instance, names a backup by id alone).
pub fn find(conn: &mut Db, id: &str) -> Result<Backup> {
    b::table.filter(b::id.eq(id)).select(Row::as_select()).first(conn).map(Backup::from).map_err(from_diesel)
}

/// The tenant's backups, newest first, `limit` at a time after the cursor
/// (the last id of the page before).
pub fn list(conn: &mut Db, tenant: &TenantId, limit: i64, after: Option<&str>) -> Result<Page<Backup>> {
    let mut query =
        b::table.filter(b::tenant_id.eq(tenant.as_str())).select(Row::as_select()).order(b::id.desc()).into_boxed();
    if let Some(after) = after {
        query = query.filter(b::id.lt(after.to_owned()));
    }
    let rows: Vec<Row> = query.limit(limit + 1).load(conn).map_err(from_diesel)?;
    let rows: Vec<Backup> = rows.into_iter().map(Backup::from).collect();
    Ok(Page::from_rows(rows, limit, |b| b.id.clone()))
}

/// Every finished backup of the tenant: id and time (what rotation weighs).
pub fn done(conn: &mut Db, tenant: &TenantId) -> Result<Vec<(String, PrimitiveDateTime)>> {
    b::table
        .filter(b::tenant_id.eq(tenant.as_str()))
        .filter(b::state.eq(JobState::Done.as_str()))
        .select((b::id, b::created_at))
        .load(conn)
        .map_err(from_diesel)
}

/// Record the end: the manifest and size, or why it failed.
pub fn finish(
    conn: &mut Db,
    tenant: &TenantId,
    id: &str,
    outcome: std::result::Result<(&Manifest, u64), &str>,
) -> Result<()> {
    let (state, manifest, bytes, error) = match outcome {
        Ok((manifest, bytes)) => (
            JobState::Done,
            Some(serde_json::to_string(manifest).map_err(|e| DomainError::Internal(e.to_string()))?),
            bytes,
            None,
        ),
        Err(message) => (JobState::Failed, None, 0, Some(message.to_owned())),
    };
    diesel::update(b::table)
        .filter(b::tenant_id.eq(tenant.as_str()))
        .filter(b::id.eq(id))
        .set((
            b::state.eq(state.as_str()),
            b::manifest.eq(manifest),
            b::bytes.eq(i64::try_from(bytes).unwrap_or(i64::MAX)),
            b::error.eq(error),
            b::version.eq(b::version + 1),
            b::finished_at.eq(Some(kluis_core::time::now())),
        ))
        .execute(conn)
        .map_err(from_diesel)?;
    Ok(())
}

/// Forget backup `id` (its object is removed by the caller).
pub fn delete(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<()> {
    let n = diesel::delete(b::table.filter(b::tenant_id.eq(tenant.as_str())).filter(b::id.eq(id)))
        .execute(conn)
        .map_err(from_diesel)?;
    if n == 0 {
        return Err(DomainError::NotFound);
    }
    Ok(())
}

/// A tenant's rotation policy and schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// What rotation keeps.
    pub policy: Policy,
    /// When the schedule last backed the tenant up.
    pub last_run_at: Option<PrimitiveDateTime>,
    /// Moves on with every change of the policy.
    pub version: i64,
    /// Last change of the policy.
    pub updated_at: PrimitiveDateTime,
}

fn tier(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// Make the tenant's schedule with the default policy unless it has one
/// (tenant setup).
pub fn ensure_schedule(conn: &mut Db, tenant: &TenantId) -> Result<()> {
    let exists: Option<String> =
        s::table.find(tenant.as_str()).select(s::tenant_id).first(conn).optional().map_err(from_diesel)?;
    if exists.is_some() {
        return Ok(());
    }
    let policy = Policy::default();
    diesel::insert_into(s::table)
        .values((
            s::tenant_id.eq(tenant.as_str()),
            s::keep_daily.eq(i64::from(policy.daily)),
            s::keep_weekly.eq(i64::from(policy.weekly)),
            s::keep_monthly.eq(i64::from(policy.monthly)),
            s::version.eq(1),
            s::updated_at.eq(kluis_core::time::now()),
        ))
        .execute(conn)
        .map_err(from_diesel)?;
    Ok(())
}

/// The tenant's schedule.
pub fn schedule(conn: &mut Db, tenant: &TenantId) -> Result<Schedule> {
    let (daily, weekly, monthly, last_run_at, version, updated_at): (
        i64,
        i64,
        i64,
        Option<PrimitiveDateTime>,
        i64,
        PrimitiveDateTime,
    ) = s::table
        .find(tenant.as_str())
        .select((s::keep_daily, s::keep_weekly, s::keep_monthly, s::last_run_at, s::version, s::updated_at))
        .first(conn)
        .map_err(from_diesel)?;
    Ok(Schedule {
        policy: Policy { daily: tier(daily), weekly: tier(weekly), monthly: tier(monthly) },
        last_run_at,
        version,
        updated_at,
    })
}

/// Change the tenant's rotation policy.
pub fn set_policy(conn: &mut Db, tenant: &TenantId, policy: Policy) -> Result<Schedule> {
    diesel::update(s::table.find(tenant.as_str()))
        .set((
            s::keep_daily.eq(i64::from(policy.daily)),
            s::keep_weekly.eq(i64::from(policy.weekly)),
            s::keep_monthly.eq(i64::from(policy.monthly)),
            s::version.eq(s::version + 1),
            s::updated_at.eq(kluis_core::time::now()),
        ))
        .execute(conn)
        .map_err(from_diesel)?;
    schedule(conn, tenant)
}

/// Take the tenant's schedule lease for `owner` until `until`, when no
/// other instance holds it and the tenant's last scheduled backup is older
/// than `due_before`; true when taken. One conditional UPDATE: of
/// instances racing for it, exactly one wins.
pub fn claim(
    conn: &mut Db,
    tenant: &TenantId,
    owner: &str,
    now: PrimitiveDateTime,
    until: PrimitiveDateTime,
    due_before: PrimitiveDateTime,
) -> Result<bool> {
    let n = diesel::update(
        s::table
            .filter(s::tenant_id.eq(tenant.as_str()))
            .filter(s::lease_until.is_null().or(s::lease_until.lt(now)))
            .filter(s::last_run_at.is_null().or(s::last_run_at.le(due_before))),
    )
    .set((s::lease_owner.eq(owner), s::lease_until.eq(until)))
    .execute(conn)
    .map_err(from_diesel)?;
    Ok(n == 1)
}

/// Give the lease back, recording the run's start as the last run.
pub fn release(conn: &mut Db, tenant: &TenantId, owner: &str, ran_at: PrimitiveDateTime) -> Result<()> {
    diesel::update(s::table.filter(s::tenant_id.eq(tenant.as_str())).filter(s::lease_owner.eq(owner)))
        .set((
            s::lease_owner.eq(None::<String>),
            s::lease_until.eq(None::<PrimitiveDateTime>),
            s::last_run_at.eq(ran_at),
        ))
        .execute(conn)
        .map_err(from_diesel)?;
    Ok(())
}
