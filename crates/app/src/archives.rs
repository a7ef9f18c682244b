//! Whole-tenant archives: an export started over HTTP runs in the
//! background into a file under the exports directory and is downloaded
//! when done; the CLI exports to and imports from a file directly. Starting,
//! downloading and importing are audited in the tenant's chain.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kluis_audit::{Action, Target};
use kluis_backup::archive::{self, ImportOptions, Imported, Manifest, Progress};
use kluis_backup::jobs::{self, ExportJob, JobState};
use kluis_backup::{ArchiveError, Secret};
use kluis_core::{DomainError, TenantId};
use kluis_store::db::{DbPool, checkout};
use kluis_store::error::from_pool;
use kluis_store::{Db, MasterKey};
use zeroize::Zeroizing;

use crate::{App, AppError, AppResult, Scoped};

/// A passphrase given for an archive: kept out of logs and zeroed on drop.
pub type Passphrase = Zeroizing<String>;

/// Shortest passphrase accepted for an archive.
pub const MIN_PASSPHRASE: usize = 12;

/// Where the archive of job `id` of `tenant` lives.
pub fn archive_path(dir: &Path, tenant: &TenantId, id: &str) -> PathBuf {
    dir.join(jobs::file_name(tenant, id))
}

/// Why an export cut off by a stop is failed, as its job shows it.
pub const INTERRUPTED: &str = "interrupted: kluis stopped while writing this archive; start a new export";

/// What a stop left of the exports being written. An export is written
/// through a `.part` file that exists from the job's first step to its
/// rename, and its writer holds an exclusive lock on it all along. So at
/// startup a `.part` whose lock can be taken has no live writer (replicas
/// sharing one volume keep theirs), and if its job is still `running` it
/// is an export cut off by a crash or a kill. Its job is marked failed
/// (otherwise it would show `running` for ever and its download answer 409
/// for ever) and the part file, which holds personal data, is removed, as
/// is an unlocked part file whose job ended or is gone. Returns the jobs
/// marked failed.
pub fn recover_interrupted(app: &App) -> usize {
    let Ok(tenants) = fs::read_dir(&app.settings.archive_dir) else { return 0 };
    let mut failed = 0;
    for part in tenants.flatten().filter_map(|t| fs::read_dir(t.path()).ok()).flatten().flatten() {
        let path = part.path();
        if path.extension().is_none_or(|e| e != "part") {
            continue;
        }
        // Kept until the part file is dealt with: no writer can be alive.
        let Ok(file) = fs::File::open(&path) else { continue };
        if file.try_lock().is_err() {
            continue;
        }
        let (Some(id), Some(tenant)) = (
            path.file_stem().and_then(|s| s.to_str()).map(str::to_owned),
            path.parent().and_then(|d| d.file_name()).and_then(|s| s.to_str()).map(|s| TenantId(s.to_owned())),
        ) else {
            continue;
        };
        let outcome =
            checkout(&app.pool).map_err(from_pool).and_then(|mut conn| match jobs::get(&mut conn, &tenant, &id) {
                Ok(job) if job.state == JobState::Running => {
                    jobs::finish(&mut conn, &tenant, &id, Err(INTERRUPTED)).map(|()| true)
                }
                Ok(_) | Err(DomainError::NotFound) => Ok(false),
                Err(e) => Err(e),
            });
        match outcome {
            Ok(marked) => {
                if marked {
                    failed += 1;
                    tracing::warn!(tenant.id = %tenant, export.id = %id, "tenant export interrupted by a stop: marked failed");
                }
                if let Err(e) = fs::remove_file(&path) {
                    tracing::warn!(export.id = %id, error = %e, "the part file of an interrupted export was not removed");
                }
            }
            Err(e) => tracing::warn!(export.id = %id, error = %e, "an interrupted export could not be checked"),
        }
    }
    failed
}

/// Start an export of the caller's tenant: a job row now (answered 202),
/// the archive written in the background. With a passphrase the archive
/// opens on any kluis given it; without, only where this master key is.
pub async fn start(app: &App, caller: &Scoped<'_>, passphrase: Option<Passphrase>) -> AppResult<ExportJob> {
    if passphrase.as_ref().is_some_and(|p| p.chars().count() < MIN_PASSPHRASE) {
        return Err(AppError::invalid("passphrase", format!("at least {MIN_PASSPHRASE} characters")));
    }
    let tenant = caller.tenant.clone();
    let actor = caller.actor().id.clone();
    let kind = if passphrase.is_some() { "passphrase" } else { "master" };
    let job = app
        .audited(caller.audit(), Action::TenantExport, Vec::new(), move |conn| {
            let job = jobs::create(conn, &tenant, kind, &actor)?;
            let target = Target::resource("tenant_export", &job.id);
            Ok((job, target))
        })
        .await?;
    let runner = Runner {
        pool: app.pool.clone(),
        master: app.master.clone(),
        dir: app.settings.archive_dir.clone(),
        tenant: caller.tenant.clone(),
        id: job.id.clone(),
    };
    let spawned = std::thread::Builder::new().name("kluis-export".into()).spawn(move || runner.run(passphrase));
    if let Err(e) = spawned {
        let (tenant, id) = (caller.tenant.clone(), job.id.clone());
        let message = format!("could not start: {e}");
        app.with_conn(move |conn| jobs::finish(conn, &tenant, &id, Err(&message))).await?;
    }
    Ok(job)
}

/// Export job `id` of the caller's tenant (404 for another tenant's).
pub async fn get(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<ExportJob> {
    let tenant = caller.tenant.clone();
    if !kluis_core::ids::is_uuid(&id) {
        return Err(DomainError::NotFound.into());
    }
    app.read(move |conn| jobs::get(conn, &tenant, &id)).await
}

/// The archive of a finished job, to stream to the caller; the download is
/// audited. 409 while it is still being written or when it failed.
pub async fn download(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<(ExportJob, PathBuf)> {
    let job = get(app, caller, id).await?;
    if job.state != JobState::Done {
        return Err(DomainError::Conflict {
            code: "export_not_ready",
            message: format!("the export is {}: download it once it is done", job.state.as_str()),
        }
        .into());
    }
    let path = archive_path(&app.settings.archive_dir, &caller.tenant, &job.id);
    if !path.exists() {
        return Err(DomainError::NotFound.into());
    }
    let target = Target::resource("tenant_export", &job.id);
    app.audited(caller.audit(), Action::TenantExportDownload, Vec::new(), move |_| Ok(((), target))).await?;
    Ok((job, path))
}

/// Runs one export job on its own thread.
struct Runner {
    pool: DbPool,
    master: Arc<MasterKey>,
    dir: PathBuf,
    tenant: TenantId,
    id: String,
}

/// Writes a job's progress at most every 10 000 rows and at each table's end.
struct JobProgress {
    pool: DbPool,
    tenant: TenantId,
    id: String,
    tables: (u64, u64),
    rows: (u64, u64),
    unsaved: u64,
}

impl JobProgress {
    fn save(&mut self) {
        self.unsaved = 0;
        let saved = checkout(&self.pool)
            .map_err(from_pool)
            .and_then(|mut conn| jobs::progress(&mut conn, &self.tenant, &self.id, self.tables, self.rows));
        if let Err(e) = saved {
            tracing::warn!(export.id = %self.id, error = %e, "export progress not saved");
        }
    }
}

impl Progress for JobProgress {
    fn start(&mut self, tables: u64, rows: u64) {
        self.tables.0 = tables;
        self.rows.0 = rows;
        self.save();
    }
    fn rows(&mut self, n: u64) {
        self.rows.1 += n;
        self.unsaved += n;
        if self.unsaved >= 10_000 {
            self.save();
        }
    }
    fn table_done(&mut self, _name: &str, _rows: u64) {
        self.tables.1 += 1;
        self.save();
    }
}

impl Runner {
    fn run(self, passphrase: Option<Passphrase>) {
        let secret = match &passphrase {
            Some(p) => Secret::Passphrase(p.as_str()),
            None => Secret::Master(&self.master),
        };
        let path = archive_path(&self.dir, &self.tenant, &self.id);
        let mut progress = JobProgress {
            pool: self.pool.clone(),
            tenant: self.tenant.clone(),
            id: self.id.clone(),
            tables: (0, 0),
            rows: (0, 0),
            unsaved: 0,
        };
        let outcome = checkout(&self.pool)
            .map_err(|e| ArchiveError::Domain(from_pool(e)))
            .and_then(|mut conn| write_file(&mut conn, &self.tenant, &path, &secret, &mut progress));
        let saved = checkout(&self.pool).map_err(from_pool).and_then(|mut conn| match &outcome {
            Ok((manifest, bytes)) => jobs::finish(&mut conn, &self.tenant, &self.id, Ok((manifest, *bytes))),
            Err(e) => jobs::finish(&mut conn, &self.tenant, &self.id, Err(&e.to_string())),
        });
        match (&outcome, saved) {
            (Ok((_, bytes)), Ok(())) => {
                tracing::info!(tenant.id = %self.tenant, export.id = %self.id, bytes, "tenant export done")
            }
            (Err(e), Ok(())) => {
                tracing::error!(tenant.id = %self.tenant, export.id = %self.id, error = %e, "tenant export failed")
            }
            (_, Err(e)) => {
                tracing::error!(tenant.id = %self.tenant, export.id = %self.id, error = %e, "tenant export: job not updated")
            }
        }
    }
}

/// Write `tenant`'s archive to `path` through a `.part` file renamed when
/// complete (mode 0600: it holds personal data); returns its manifest and size.
fn write_file(
    conn: &mut Db,
    tenant: &TenantId,
    path: &Path,
    secret: &Secret<'_>,
    progress: &mut dyn Progress,
) -> Result<(Manifest, u64), ArchiveError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(parent) = path.parent() {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(parent)?;
    }
    let part = path.with_extension("part");
    let file = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&part)?;
    // Held until the file is closed: it tells an instance starting on the
    // same (shared) exports directory that this export is alive.
    file.lock()?;
    let result = archive::export(conn, tenant, BufWriter::with_capacity(256 * 1024, file), secret, progress);
    let (manifest, out, bytes) = match result {
        Ok(done) => done,
        Err(e) => {
            let _ = fs::remove_file(&part);
            return Err(e);
        }
    };
    let file = out.into_inner().map_err(|e| ArchiveError::Io(e.into_error()))?;
    file.sync_all()?;
    fs::rename(&part, path)?;
    Ok((manifest, bytes))
}

/// The CLI's export: `tenant`'s archive written to `out` (a file path or
/// `-` for stdout), audited as done by the system.
pub fn export_to(
    conn: &mut Db,
    tenant: &TenantId,
    out: &Path,
    secret: &Secret<'_>,
    progress: &mut dyn Progress,
) -> Result<(Manifest, u64), ArchiveError> {
    let done = if out == Path::new("-") {
        let stdout = std::io::stdout();
        let (manifest, mut out, bytes) = archive::export(conn, tenant, stdout.lock(), secret, progress)?;
        out.flush()?;
        (manifest, bytes)
    } else {
        write_file(conn, tenant, out, secret, progress)?
    };
    let audit = crate::retention::system_audit(tenant);
    let fields = vec!["cli"];
    kluis_store::write_tx(conn, |conn| {
        kluis_audit::record(conn, &audit, Action::TenantExport, Target::tenant(tenant), &fields, None)
            .map_err(ArchiveError::Domain)
    })?;
    Ok(done)
}

/// The CLI's import: the archive at `file` as a new tenant, in one
/// transaction with the per-tenant setup this binary adds and the audit
/// entry of the import (appended to the archive's chain, which verifies).
pub fn import_from(
    conn: &mut Db,
    file: &Path,
    secret: &Secret<'_>,
    options: &ImportOptions,
    progress: &mut dyn Progress,
) -> Result<Imported, ArchiveError> {
    let input = fs::File::open(file)?;
    archive::import(
        conn,
        std::io::BufReader::with_capacity(256 * 1024, input),
        secret,
        options,
        progress,
        |conn, tenant, _| {
            crate::setup::init_tenant(conn, tenant).map_err(ArchiveError::Domain)?;
            let audit = crate::retention::system_audit(tenant);
            kluis_audit::record(conn, &audit, Action::TenantImport, Target::tenant(tenant), &["cli"], None)
                .map_err(ArchiveError::Domain)?;
            Ok(())
        },
    )
}

/// The key kind a file's archive is sealed with (`master` or `passphrase`).
pub fn key_kind_of(file: &Path) -> Result<&'static str, ArchiveError> {
    use std::io::Read;
    let mut header = [0u8; 64];
    let mut input = fs::File::open(file)?;
    let n = input.read(&mut header)?;
    kluis_backup::seal::key_kind(&header[..n])
}
