//! Export jobs: a tenant archive made in the background after
//! `POST /v1/exports`. The row tracks progress and, once done, the
//! manifest; the archive is a file named for the job (see [`file_name`]).

use diesel::prelude::*;
use kluis_core::{DomainError, TenantId};
use kluis_store::Db;
use kluis_store::error::from_diesel;
use kluis_store::schema::tenant_exports;
use time::PrimitiveDateTime;

use crate::archive::Manifest;

type Result<T> = std::result::Result<T, DomainError>;

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    /// Being written.
    Running,
    /// Written; can be downloaded.
    Done,
    /// Failed; see its error.
    Failed,
}

impl JobState {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> JobState {
        match text {
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            _ => JobState::Running,
        }
    }
}

/// An export job.
#[derive(Clone, Debug)]
pub struct ExportJob {
    /// Its id.
    pub id: String,
    /// Where it stands.
    pub state: JobState,
    /// `master` or `passphrase`: what the archive's key comes from.
    pub key_kind: String,
    /// Who started it (a client or account id).
    pub actor_id: String,
    /// Tables to write.
    pub tables_total: u64,
    /// Tables written.
    pub tables_done: u64,
    /// Rows to write.
    pub rows_total: u64,
    /// Rows written.
    pub rows_done: u64,
    /// The archive's size once done.
    pub bytes: u64,
    /// The manifest once done.
    pub manifest: Option<Manifest>,
    /// Why it failed.
    pub error: Option<String>,
    /// Moves on with every update.
    pub version: i64,
    /// Started.
    pub created_at: PrimitiveDateTime,
    /// Last progress.
    pub updated_at: PrimitiveDateTime,
    /// Finished (done or failed).
    pub finished_at: Option<PrimitiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = tenant_exports)]
struct Row {
    tenant_id: String,
    id: String,
    state: String,
    key_kind: String,
    actor_id: String,
    tables_total: i64,
    tables_done: i64,
    rows_total: i64,
    rows_done: i64,
    bytes: i64,
    manifest: Option<String>,
    error: Option<String>,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
    finished_at: Option<PrimitiveDateTime>,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn stored(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl From<Row> for ExportJob {
    fn from(row: Row) -> Self {
        ExportJob {
            id: row.id,
            state: JobState::parse(&row.state),
            key_kind: row.key_kind,
            actor_id: row.actor_id,
            tables_total: count(row.tables_total),
            tables_done: count(row.tables_done),
            rows_total: count(row.rows_total),
            rows_done: count(row.rows_done),
            bytes: count(row.bytes),
            manifest: row.manifest.and_then(|m| serde_json::from_str(&m).ok()),
            error: row.error,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            finished_at: row.finished_at,
        }
    }
}

/// The archive file's name for job `id` of `tenant` (inside the exports directory).
pub fn file_name(tenant: &TenantId, id: &str) -> String {
    format!("{tenant}/{id}.kluis")
}

/// Record a new running job.
pub fn create(conn: &mut Db, tenant: &TenantId, key_kind: &str, actor_id: &str) -> Result<ExportJob> {
    let now = kluis_core::time::now();
    let row = Row {
        tenant_id: tenant.as_str().to_owned(),
        id: kluis_core::ids::new_id(),
        state: JobState::Running.as_str().to_owned(),
        key_kind: key_kind.to_owned(),
        actor_id: actor_id.to_owned(),
        tables_total: 0,
        tables_done: 0,
        rows_total: 0,
        rows_done: 0,
        bytes: 0,
        manifest: None,
        error: None,
        version: 1,
        created_at: now,
        updated_at: now,
        finished_at: None,
    };
    diesel::insert_into(tenant_exports::table).values(&row).execute(conn).map_err(from_diesel)?;
    Ok(row.into())
}

/// Job `id` of `tenant` (`NotFound` for another tenant's).
pub fn get(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<ExportJob> {
    tenant_exports::table
        .filter(tenant_exports::tenant_id.eq(tenant.as_str()))
        .filter(tenant_exports::id.eq(id))
        .select(Row::as_select())
        .first(conn)
        .map(ExportJob::from)
        .map_err(from_diesel)
}

/// Record progress.
pub fn progress(conn: &mut Db, tenant: &TenantId, id: &str, tables: (u64, u64), rows: (u64, u64)) -> Result<()> {
    diesel::update(tenant_exports::table)
        .filter(tenant_exports::tenant_id.eq(tenant.as_str()))
        .filter(tenant_exports::id.eq(id))
        .set((
            tenant_exports::tables_total.eq(stored(tables.0)),
            tenant_exports::tables_done.eq(stored(tables.1)),
            tenant_exports::rows_total.eq(stored(rows.0)),
            tenant_exports::rows_done.eq(stored(rows.1)),
            tenant_exports::version.eq(tenant_exports::version + 1),
            tenant_exports::updated_at.eq(kluis_core::time::now()),
        ))
        .execute(conn)
        .map_err(from_diesel)?;
    Ok(())
}

/// Record the end: the manifest and size, or why it failed (a message
/// without personal data).
pub fn finish(
    conn: &mut Db,
    tenant: &TenantId,
    id: &str,
    outcome: std::result::Result<(&Manifest, u64), &str>,
) -> Result<()> {
    let now = kluis_core::time::now();
    let (state, manifest, bytes, error) = match outcome {
        Ok((manifest, bytes)) => (
            JobState::Done,
            Some(serde_json::to_string(manifest).map_err(|e| DomainError::Internal(e.to_string()))?),
            bytes,
            None,
        ),
        Err(message) => (JobState::Failed, None, 0, Some(message.to_owned())),
    };
    diesel::update(tenant_exports::table)
        .filter(tenant_exports::tenant_id.eq(tenant.as_str()))
        .filter(tenant_exports::id.eq(id))
        .set((
            tenant_exports::state.eq(state.as_str()),
            tenant_exports::manifest.eq(manifest),
            tenant_exports::bytes.eq(stored(bytes)),
            tenant_exports::error.eq(error),
            tenant_exports::version.eq(tenant_exports::version + 1),
            tenant_exports::updated_at.eq(now),
            tenant_exports::finished_at.eq(Some(now)),
        ))
        .execute(conn)
        .map_err(from_diesel)?;
    Ok(())
}
