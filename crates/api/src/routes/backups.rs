//! Backups (`retention:admin`): tenant archives kept by kluis, made by the
//! schedule (a day apart by default) or now with `POST /v1/backups`, rotated
//! under the tenant's policy (`GET|PATCH /v1/backup-policy`: 7 daily, 4
//! weekly, 3 monthly by default), downloaded, deleted, and restored with
//! `POST /v1/backups/{backup_id}/restore`, which erases again everyone
//! erased since the backup was made.

use actix_web::body::SizedStream;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, LOCATION};
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_app::backups::{PolicyPatch, Restore};
use kluis_backup::backups::{Backup, Origin, Schedule};
use kluis_backup::jobs::JobState;
use kluis_backup::store::Body;
use kluis_core::Scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json, ListQuery};
use crate::routes::exports::{ExportState, ManifestView, file_stream};
use crate::routes::{check_id, versioned};
use crate::state::AppState;

type Time = time::PrimitiveDateTime;

/// Why a backup was made.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupOrigin {
    /// Asked for with `POST /v1/backups`.
    Manual,
    /// Made by the schedule.
    Schedule,
}

/// Where a backup is kept.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupStorage {
    /// A file in the instance's data directory.
    Local,
    /// An object in the configured S3-compatible bucket.
    S3,
}

/// A backup: a sealed archive of the tenant's whole data, kept by kluis.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupView {
    /// Backup id.
    pub id: String,
    /// `running` while written, `done` once kept, `failed` (see `error`).
    pub state: ExportState,
    /// Why it was made.
    pub origin: BackupOrigin,
    /// The client or account that asked, or `backup-schedule`.
    pub actor_id: String,
    /// Where it is kept.
    pub storage: BackupStorage,
    /// Its size in bytes (0 until done).
    pub bytes: u64,
    /// What it holds, once done.
    pub manifest: Option<ManifestView>,
    /// Why it failed.
    pub error: Option<String>,
    /// Where to download it, once done.
    pub download_url: Option<String>,
    /// Moves on with every change.
    pub version: i64,
    /// When it was started: the moment of the data it holds.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// When it was done (or failed).
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Time>,
}

impl From<Backup> for BackupView {
    fn from(b: Backup) -> Self {
        let state = match b.state {
            JobState::Running => ExportState::Running,
            JobState::Done => ExportState::Done,
            JobState::Failed => ExportState::Failed,
        };
        let download_url = (b.state == JobState::Done).then(|| format!("/v1/backups/{}/download", b.id));
        BackupView {
            state,
            origin: match b.origin {
                Origin::Manual => BackupOrigin::Manual,
                Origin::Schedule => BackupOrigin::Schedule,
            },
            actor_id: b.actor_id,
            storage: if b.storage == "s3" { BackupStorage::S3 } else { BackupStorage::Local },
            bytes: b.bytes,
            manifest: b.manifest.map(ManifestView::from),
            error: b.error,
            download_url,
            version: b.version,
            created_at: b.created_at,
            finished_at: b.finished_at,
            id: b.id,
        }
    }
}

/// A page of backups.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupPage {
    /// Newest first.
    pub items: Vec<BackupView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// The tenant's backup rotation policy: after each backup, the newest
/// `keep_daily` backups of distinct days are kept, then, older than those,
/// the newest of `keep_weekly` distinct weeks, then of `keep_monthly`
/// distinct months; the others are deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupPolicyView {
    /// Backups of distinct days kept (default 7).
    pub keep_daily: u32,
    /// Then, of distinct ISO weeks (default 4).
    pub keep_weekly: u32,
    /// Then, of distinct months (default 3).
    pub keep_monthly: u32,
    /// When the schedule last backed the tenant up.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_scheduled_at: Option<Time>,
    /// Moves on with every change.
    pub version: i64,
    /// Last change.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
}

impl From<Schedule> for BackupPolicyView {
    fn from(s: Schedule) -> Self {
        BackupPolicyView {
            keep_daily: s.policy.daily,
            keep_weekly: s.policy.weekly,
            keep_monthly: s.policy.monthly,
            last_scheduled_at: s.last_run_at,
            version: s.version,
            updated_at: s.updated_at,
        }
    }
}

/// A change of the rotation policy; the tiers left out stay.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateBackupPolicy {
    /// Backups of distinct days kept, 1 to 366.
    #[validate(range(min = 1, max = 366))]
    #[schema(minimum = 1, maximum = 366)]
    pub keep_daily: Option<u32>,
    /// Then, of distinct weeks, 0 to 366.
    #[validate(range(max = 366))]
    #[schema(minimum = 0, maximum = 366)]
    pub keep_weekly: Option<u32>,
    /// Then, of distinct months, 0 to 366.
    #[validate(range(max = 366))]
    #[schema(minimum = 0, maximum = 366)]
    pub keep_monthly: Option<u32>,
}

impl From<UpdateBackupPolicy> for PolicyPatch {
    fn from(u: UpdateBackupPolicy) -> Self {
        PolicyPatch { daily: u.keep_daily, weekly: u.keep_weekly, monthly: u.keep_monthly }
    }
}

/// What a restore did.
#[derive(Debug, Serialize, ToSchema)]
pub struct RestoreView {
    /// The backup restored.
    pub backup: BackupView,
    /// People erased after the backup was made whom it brought back, erased
    /// again before the restore answered (each with a new receipt).
    pub re_erasures: u64,
    /// Rows of the tenant removed before the backup's went in.
    pub rows_removed: u64,
    /// Rows put back from the backup.
    pub rows_restored: u64,
}

impl From<Restore> for RestoreView {
    fn from(r: Restore) -> Self {
        RestoreView {
            backup: BackupView::from(r.backup),
            re_erasures: r.re_erasures,
            rows_removed: r.rows_removed,
            rows_restored: r.rows_restored,
        }
    }
}

/// Make a backup of the tenant now. Answers at once with the backup; poll
/// it until `state` is `done`. Once done, the tenant's backups are rotated
/// under its policy.
#[utoipa::path(
    tag = "lifecycle",
    responses(
        (status = 202, description = "The backup, started", body = BackupView, headers(("Location" = String), ("ETag" = String))),
        AuthErrors,
    ),
    security(("bearer" = ["retention:admin"]))
)]
#[post("/v1/backups")]
pub async fn create_backup(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let backup = kluis_app::backups::start(&state.app, &scoped).await?;
    let location = format!("/v1/backups/{}", backup.id);
    let version = backup.version;
    Ok(HttpResponse::Accepted()
        .insert_header((LOCATION, location))
        .insert_header((ETAG, IfMatch::etag(version)))
        .json(BackupView::from(backup)))
}

/// The tenant's backups, newest first.
#[utoipa::path(
    tag = "lifecycle",
    params(ListQuery),
    responses((status = 200, body = BackupPage, description = "A page of backups, newest first"), AuthErrors),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/backups")]
pub async fn list_backups(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let (limit, after) = query.page()?;
    let page = kluis_app::backups::list(&state.app, &scoped, limit, after).await?;
    let page = page.map(BackupView::from);
    Ok(HttpResponse::Ok().json(BackupPage { items: page.items, next_cursor: page.next_cursor }))
}

/// The tenant's backup rotation policy.
#[utoipa::path(
    tag = "lifecycle",
    responses((status = 200, body = BackupPolicyView, headers(("ETag" = String)), description = "The rotation policy"), AuthErrors),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/backup-policy")]
pub async fn get_backup_policy(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let schedule = kluis_app::backups::policy(&state.app, &scoped).await?;
    Ok(versioned(StatusCode::OK, schedule.version, &BackupPolicyView::from(schedule)))
}

/// Change the tenant's backup rotation policy; the next rotation (after the
/// next backup) applies it.
#[utoipa::path(
    tag = "lifecycle",
    params(("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on")),
    request_body = UpdateBackupPolicy,
    responses(
        (status = 200, body = BackupPolicyView, headers(("ETag" = String)), description = "The rotation policy, changed"),
        BodyErrors,
        Precondition,
    ),
    security(("bearer" = ["retention:admin"]))
)]
#[patch("/v1/backup-policy")]
pub async fn update_backup_policy(
    state: web::Data<AppState>,
    caller: Caller,
    if_match: IfMatch,
    body: Json<UpdateBackupPolicy>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    body.0.validate()?;
    let schedule = kluis_app::backups::set_policy(&state.app, &scoped, body.0.into(), if_match.0).await?;
    Ok(versioned(StatusCode::OK, schedule.version, &BackupPolicyView::from(schedule)))
}

/// One backup: where it stands and, once done, its manifest.
#[utoipa::path(
    tag = "lifecycle",
    params(("backup_id" = String, Path, description = "Backup id")),
    responses((status = 200, description = "The backup", body = BackupView, headers(("ETag" = String))), AuthErrors, NotFound),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/backups/{backup_id}")]
pub async fn get_backup(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let backup = kluis_app::backups::get(&state.app, &scoped, id).await?;
    Ok(versioned(StatusCode::OK, backup.version, &BackupView::from(backup)))
}

/// Download a finished backup's archive (sealed under this instance's
/// master key; `kluis tenant import --file` reads it where that key is).
/// Audited. 409 while it is being written or when it failed.
#[utoipa::path(
    tag = "lifecycle",
    params(("backup_id" = String, Path, description = "Backup id")),
    responses(
        (status = 200, description = "The archive", headers(("Content-Disposition" = String), ("Cache-Control" = String, description = "no-store")), content(
            (Vec<u8> = "application/octet-stream"),
        )),
        AuthErrors,
        NotFound,
        Conflict,
    ),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/backups/{backup_id}/download")]
pub async fn download_backup(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let (backup, body) = kluis_app::backups::download(&state.app, &scoped, id).await?;
    let name = format!("attachment; filename=\"kluis-{}-backup-{}.kluis\"", scoped.tenant, backup.id);
    let mut response = HttpResponse::Ok();
    response
        .insert_header((CONTENT_TYPE, "application/octet-stream"))
        .insert_header((CONTENT_DISPOSITION, name))
        .insert_header((CACHE_CONTROL, "no-store"));
    Ok(match body {
        Body::File(path) => {
            let file = web::block(move || std::fs::File::open(path))
                .await
                .map_err(|e| ApiError::Internal(format!("blocking pool: {e}")))?
                .map_err(|e| ApiError::Internal(format!("backup file: {e}")))?;
            response.body(SizedStream::new(backup.bytes, file_stream(file)))
        }
        Body::Stream(stream) => response.body(SizedStream::new(backup.bytes, stream)),
    })
}

/// Delete a backup and its archive. Audited. 409 while it is being written.
#[utoipa::path(
    tag = "lifecycle",
    params(("backup_id" = String, Path, description = "Backup id")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, Conflict),
    security(("bearer" = ["retention:admin"]))
)]
#[delete("/v1/backups/{backup_id}")]
pub async fn delete_backup(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    kluis_app::backups::delete(&state.app, &scoped, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the tenant's data with a backup's, in one transaction, then
/// erase again everyone erased since the backup was made (the erasure
/// ledger): a restore never brings an erased person back. The audit chain,
/// the erasure ledger and receipts, the API clients and the tenant's own
/// settings are kept as they are. Audited (`tenant.restore`, with
/// `re_erasures=N`). 409 `backup_not_ready` for an unfinished backup, 409
/// `backup_refused` (nothing changed) when its archive was altered or cut short.
#[utoipa::path(
    tag = "lifecycle",
    params(("backup_id" = String, Path, description = "Backup id")),
    responses((status = 200, description = "Restored", body = RestoreView), AuthErrors, NotFound, Conflict),
    security(("bearer" = ["retention:admin"]))
)]
#[post("/v1/backups/{backup_id}/restore")]
pub async fn restore_backup(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let restored = kluis_app::backups::restore(&state.app, &scoped, id).await?;
    Ok(HttpResponse::Ok().json(RestoreView::from(restored)))
}
