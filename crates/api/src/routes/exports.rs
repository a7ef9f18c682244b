//! Tenant archives (`retention:admin`): the tenant's whole data as one
//! sealed, compressed archive. `POST /v1/exports` starts one (202 with the
//! job), `GET /v1/exports/{export_id}` shows its progress and, once done,
//! its manifest, and `GET /v1/exports/{export_id}/download` streams the
//! file. An archive opens with `kluis tenant import` on an instance with
//! this one's master key, or, when a passphrase was given, on any instance
//! given that passphrase.

use std::io::Read;

use actix_web::body::SizedStream;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, LOCATION};
use actix_web::{HttpResponse, get, post, web};
use futures_util::Stream;
use kluis_backup::jobs::ExportJob;
use kluis_backup::{Manifest, TableSummary};
use kluis_core::Scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use zeroize::Zeroizing;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound};
use crate::extract::{IfMatch, Json};
use crate::routes::{check_id, versioned};
use crate::state::AppState;

type Time = time::PrimitiveDateTime;

/// Start a tenant export.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct StartExport {
    /// Seal the archive with this passphrase (12-1024 characters) so that
    /// any kluis given it can import the archive; without one, the archive
    /// is sealed under this instance's master key.
    #[validate(length(min = 12, max = 1024))]
    #[schema(min_length = 12, max_length = 1024)]
    pub passphrase: Option<String>,
}

impl std::fmt::Debug for StartExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartExport").field("passphrase", &self.passphrase.as_ref().map(|_| "..")).finish()
    }
}

/// Where an export stands.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    /// Being written.
    Running,
    /// Written: download it.
    Done,
    /// Failed: see `error`.
    Failed,
}

/// What the archive's key is derived from.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportKey {
    /// This instance's master key.
    Master,
    /// The passphrase given when it was started.
    Passphrase,
}

/// The tenant an archive holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArchivedTenantView {
    /// Tenant id (kept on import).
    pub id: String,
    /// Slug when exported.
    pub slug: String,
}

/// One table of an archive.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArchiveTableView {
    /// Table name.
    pub name: String,
    /// Rows.
    pub rows: u64,
    /// Digest of its rows, independent of their order: the sum modulo
    /// 2^256 of the SHA-256 of each row's canonical JSON line (hex).
    pub sha256: String,
}

/// What an archive holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManifestView {
    /// Content format.
    pub format: u32,
    /// The kluis version that wrote it.
    pub kluis_version: String,
    /// Its schema version (latest migration); a kluis with an older one refuses it.
    pub schema_version: String,
    /// The tenant.
    pub tenant: ArchivedTenantView,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// Per table, in foreign-key order.
    pub tables: Vec<ArchiveTableView>,
}

impl From<Manifest> for ManifestView {
    fn from(m: Manifest) -> Self {
        ManifestView {
            format: m.format,
            kluis_version: m.kluis_version,
            schema_version: m.schema_version,
            tenant: ArchivedTenantView { id: m.tenant.id, slug: m.tenant.slug },
            created_at: m.created_at,
            tables: m
                .tables
                .into_iter()
                .map(|t: TableSummary| ArchiveTableView { name: t.name, rows: t.rows, sha256: t.sha256 })
                .collect(),
        }
    }
}

/// An export job.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportView {
    /// Export id.
    pub id: String,
    /// Where it stands.
    pub state: ExportState,
    /// What the archive's key is derived from.
    pub key: ExportKey,
    /// The client or account that started it.
    pub actor_id: String,
    /// Tables to write.
    pub tables_total: u64,
    /// Tables written.
    pub tables_done: u64,
    /// Rows to write.
    pub rows_total: u64,
    /// Rows written.
    pub rows_done: u64,
    /// The archive's size in bytes (0 until done).
    pub bytes: u64,
    /// What the archive holds, once done.
    pub manifest: Option<ManifestView>,
    /// Why it failed.
    pub error: Option<String>,
    /// Where to download it, once done.
    pub download_url: Option<String>,
    /// Moves on with every progress update.
    pub version: i64,
    /// Started.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// Last progress.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
    /// Finished (done or failed).
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Time>,
}

impl From<ExportJob> for ExportView {
    fn from(job: ExportJob) -> Self {
        use kluis_backup::jobs::JobState;
        let state = match job.state {
            JobState::Running => ExportState::Running,
            JobState::Done => ExportState::Done,
            JobState::Failed => ExportState::Failed,
        };
        let download_url = (job.state == JobState::Done).then(|| format!("/v1/exports/{}/download", job.id));
        ExportView {
            state,
            key: if job.key_kind == "passphrase" { ExportKey::Passphrase } else { ExportKey::Master },
            actor_id: job.actor_id,
            tables_total: job.tables_total,
            tables_done: job.tables_done,
            rows_total: job.rows_total,
            rows_done: job.rows_done,
            bytes: job.bytes,
            manifest: job.manifest.map(ManifestView::from),
            error: job.error,
            download_url,
            version: job.version,
            created_at: job.created_at,
            updated_at: job.updated_at,
            finished_at: job.finished_at,
            id: job.id,
        }
    }
}

/// Start an export of the tenant's whole data: every table, in one
/// consistent snapshot, as one archive sealed with AES-256-GCM and
/// compressed with zstd. Answers at once with the job; poll it until
/// `state` is `done`, then download the archive.
#[utoipa::path(
    tag = "lifecycle",
    request_body = StartExport,
    responses(
        (status = 202, description = "The export, started", body = ExportView, headers(("Location" = String), ("ETag" = String))),
        BodyErrors,
    ),
    security(("bearer" = ["retention:admin"]))
)]
#[post("/v1/exports")]
pub async fn start_export(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<StartExport>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    body.0.validate()?;
    let passphrase = body.0.passphrase.map(Zeroizing::new);
    let job = kluis_app::archives::start(&state.app, &scoped, passphrase).await?;
    let location = format!("/v1/exports/{}", job.id);
    let version = job.version;
    Ok(HttpResponse::Accepted()
        .insert_header((LOCATION, location))
        .insert_header((ETAG, IfMatch::etag(version)))
        .json(ExportView::from(job)))
}

/// An export's progress and, once done, its manifest (per-table row counts
/// and digests) and download URL.
#[utoipa::path(
    tag = "lifecycle",
    params(("export_id" = String, Path, description = "Export id")),
    responses((status = 200, description = "The export", body = ExportView, headers(("ETag" = String))), AuthErrors, NotFound),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/exports/{export_id}")]
pub async fn get_export(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let job = kluis_app::archives::get(&state.app, &scoped, id).await?;
    Ok(versioned(actix_web::http::StatusCode::OK, job.version, &ExportView::from(job)))
}

/// Download a finished export's archive, streamed from its file. It holds
/// the tenant's personal data, sealed: keep it as safe as the database. The
/// download is audited. 409 while the export is running or when it failed.
#[utoipa::path(
    tag = "lifecycle",
    params(("export_id" = String, Path, description = "Export id")),
    responses(
        (status = 200, description = "The archive (`kluis tenant import --file` reads it)", headers(("Content-Disposition" = String), ("Cache-Control" = String, description = "no-store")), content(
            (Vec<u8> = "application/octet-stream"),
        )),
        AuthErrors,
        NotFound,
        Conflict,
    ),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/exports/{export_id}/download")]
pub async fn download_export(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let (job, file) = kluis_app::archives::download(&state.app, &scoped, id).await?;
    let opened = web::block(move || std::fs::File::open(file).and_then(|f| f.metadata().map(|m| (f, m.len()))))
        .await
        .map_err(|e| ApiError::Internal(format!("blocking pool: {e}")))?
        .map_err(|e| ApiError::Internal(format!("archive file: {e}")))?;
    let (file, len) = opened;
    let name = format!("attachment; filename=\"kluis-{}-{}.kluis\"", scoped.tenant, job.id);
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/octet-stream"))
        .insert_header((CONTENT_DISPOSITION, name))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(SizedStream::new(len, file_stream(file))))
}

/// The file, 64 KiB at a time, read off the executor: never whole in memory.
pub(crate) fn file_stream(file: std::fs::File) -> impl Stream<Item = Result<web::Bytes, actix_web::Error>> {
    futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let read = web::block(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((file, buf))
        })
        .await;
        match read {
            Ok(Ok((_, buf))) if buf.is_empty() => None,
            Ok(Ok((file, buf))) => Some((Ok(web::Bytes::from(buf)), Some(file))),
            Ok(Err(e)) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
            Err(e) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
        }
    })
}
