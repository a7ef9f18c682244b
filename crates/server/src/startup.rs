//! Startup: make the data directory, load or generate the master key, open
//! the pool, migrate, make sure a signing key exists, and on first start
//! create the operator client and write its credentials file. Then serve.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{HttpServer, web};
use kluis_api::{ApiConfig, AppState};
use kluis_store::tenancy::{keys, operator};
use kluis_store::{Db, DbPool, MasterKey, build_pool, migrate};
use secrecy::ExposeSecret;

use crate::settings::Settings;

/// Name of the operator credentials file in the data directory.
pub const OPERATOR_FILE: &str = "operator-client.json";
/// Name of the generated master key file in the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// Why kluis could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A file or directory could not be made or read.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The master key is malformed.
    #[error("master key: {0}")]
    MasterKey(String),
    /// The database could not be opened.
    #[error("database: {0}")]
    Database(String),
    /// A migration failed.
    #[error("migrations: {0}")]
    Migration(String),
    /// The snapshot before migrating could not be written (nothing was migrated).
    #[error("snapshot before migrating: {0}")]
    Snapshot(#[from] crate::snapshots::SnapshotError),
    /// The mail settings are unusable.
    #[error("mail: {0}")]
    Mail(String),
    /// The place for backups cannot be opened (a bad bucket URL or endpoint).
    #[error("backups: {0}")]
    Backups(String),
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StartupError + 'a {
    move |source| StartupError::Io { what, path: path.to_owned(), source }
}

/// Everything opened before serving; the CLI commands use it too.
pub struct Prepared {
    /// The database pool (migrated).
    pub pool: DbPool,
    /// The master key.
    pub master: Arc<MasterKey>,
}

/// Create `dir` (mode 0700, it holds keys and personal data) if missing.
fn ensure_data_dir(dir: &Path) -> Result<(), StartupError> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io("cannot create data directory", dir))?;
    }
    Ok(())
}

/// Write `contents` to a new file readable by the owner only.
fn write_private(path: &Path, contents: &[u8]) -> Result<(), StartupError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io("cannot write", path))?;
    // An existing file keeps its old mode through `open`: set it again.
    file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(io("cannot restrict", path))?;
    file.write_all(contents).map_err(io("cannot write", path))?;
    file.sync_all().map_err(io("cannot sync", path))?;
    Ok(())
}

fn load_master_key(settings: &Settings) -> Result<MasterKey, StartupError> {
    if let Some(key) = &settings.master_key {
        return MasterKey::from_base64(key.expose_secret()).map_err(|e| StartupError::MasterKey(e.to_string()));
    }
    let path = settings.data_dir.join(MASTER_KEY_FILE);
    if path.exists() {
        let text = zeroize::Zeroizing::new(fs::read_to_string(&path).map_err(io("cannot read", &path))?);
        return MasterKey::from_base64(&text).map_err(|e| StartupError::MasterKey(format!("{}: {e}", path.display())));
    }
    let key = MasterKey::generate().map_err(|e| StartupError::MasterKey(e.to_string()))?;
    write_private(&path, key.to_base64().as_bytes())?;
    tracing::info!(path = %path.display(), "generated a master key; back it up: without it the signing keys cannot be opened");
    Ok(key)
}

/// The SQLite file holds personal data: owner-only, like the key files
/// (SQLite gives its -wal and -shm files the database file's mode).
fn restrict_sqlite_files(url: &str) -> Result<(), StartupError> {
    let Some(path) = kluis_store::db::sqlite_path(url) else {
        return Ok(());
    };
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{path}{suffix}"));
        if file.exists() {
            fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).map_err(io("cannot restrict", &file))?;
        }
    }
    Ok(())
}

/// Open the pool and apply pending migrations.
pub fn open_database(settings: &Settings) -> Result<DbPool, StartupError> {
    let url = settings.database_url();
    if let Some(parent) = kluis_store::db::sqlite_path(&url).and_then(|p| Path::new(p).parent())
        && !parent.as_os_str().is_empty()
    {
        ensure_data_dir(parent)?;
    }
    let pool = build_pool(&url, settings.pool_options()).map_err(|e| StartupError::Database(e.to_string()))?;
    let mut conn = pool.get().map_err(|e| StartupError::Database(e.to_string()))?;
    restrict_sqlite_files(&url)?;
    one_at_a_time(&mut conn, |conn| {
        if settings.snapshot_before_migrate {
            crate::snapshots::before_migrations(conn, &url, &settings.data_dir)?;
        }
        let applied = migrate::run_pending(conn).map_err(|e| StartupError::Migration(e.to_string()))?;
        if !applied.is_empty() {
            tracing::info!(count = applied.len(), "applied migrations");
        }
        // Per-tenant setup that tenants made before a piece existed still lack.
        let tenants = kluis_app::setup::init_existing(conn).map_err(|e| StartupError::Migration(e.to_string()))?;
        tracing::debug!(tenants, "per-tenant setup checked");
        Ok(())
    })?;
    Ok(pool)
}

/// The key of the PostgreSQL advisory lock instances take at start ("kluis" + 1).
const STARTUP_LOCK: i64 = 0x006b_6c75_6973_0001;

/// Run `f` while no other kluis starting on the same PostgreSQL database
/// runs its own: instances that start together (replicas of one
/// deployment) take turns at what must happen once (the snapshot, the
/// migrations, the per-tenant setup, the signing key, the first operator),
/// and the later ones find it done. A session-level advisory lock on
/// `conn`, released after `f`, or by the server when the connection dies
/// with a killed instance. SQLite has one instance: `f` just runs.
fn one_at_a_time<T>(conn: &mut Db, f: impl FnOnce(&mut Db) -> Result<T, StartupError>) -> Result<T, StartupError> {
    kluis_store::db::lock(conn, STARTUP_LOCK)
        .map_err(|e| StartupError::Database(format!("waiting for other instances' start: {e}")))?;
    let result = f(conn);
    if let Err(e) = kluis_store::db::unlock(conn, STARTUP_LOCK) {
        // Closing the connection releases it too; say so and go on.
        tracing::warn!(error = %e, "could not release the start-up lock");
    }
    result
}

/// Data directory, master key, database, signing key and first-start operator.
pub fn prepare(settings: &Settings) -> Result<Prepared, StartupError> {
    ensure_data_dir(&settings.data_dir)?;
    let master = load_master_key(settings)?;
    let pool = open_database(settings)?;
    let mut conn = pool.get().map_err(|e| StartupError::Database(e.to_string()))?;
    one_at_a_time(&mut conn, |conn| {
        keys::ensure_current(conn, &master).map_err(|e| StartupError::Database(e.to_string()))?;
        if operator::none_exist(conn).map_err(|e| StartupError::Database(e.to_string()))? {
            let issued = operator::create(conn, "operator").map_err(|e| StartupError::Database(e.to_string()))?;
            let path = settings.data_dir.join(OPERATOR_FILE);
            let json = zeroize::Zeroizing::new(
                serde_json::json!({"client_id": issued.client_id.as_str(), "client_secret": issued.secret.as_str()})
                    .to_string(),
            );
            write_private(&path, json.as_bytes())?;
            tracing::info!(path = %path.display(), client.id = %issued.client_id, "first start: wrote the operator client's credentials");
        }
        Ok(())
    })?;
    drop(conn);
    Ok(Prepared { pool, master: Arc::new(master) })
}

/// Every domain that holds personal data; retention and rights requests
/// reach that data only through these. Erasure orders them by their
/// `ErasureStage` (what hangs off the person's row, the row, the audit
/// subject key), not by their place here.
pub fn holders() -> Vec<Arc<dyn kluis_store::personal::PersonalData>> {
    vec![
        Arc::new(kluis_consent::ConsentData),
        Arc::new(kluis_people::PeopleData),
        Arc::new(kluis_devices::DevicesData),
        Arc::new(kluis_retention::RetentionData),
        Arc::new(kluis_rights::RightsData),
        Arc::new(kluis_hooks::HooksData),
        Arc::new(kluis_service::ServiceData),
        Arc::new(kluis_audit::AuditSubjects),
    ]
}

/// The API settings derived from the server's.
pub fn api_config(settings: &Settings) -> ApiConfig {
    ApiConfig {
        issuer: settings.public_url(),
        access_token_ttl: settings.access_token_ttl(),
        body_limit: settings.body_limit,
        cors_origins: settings.cors_origins.clone(),
        trusted_proxies: settings.trusted_proxies.clone(),
        limits: settings.limits(),
        webhooks: settings.webhooks(),
        archive_dir: settings.data_dir.join("exports"),
        backups: settings.backup_target(),
        ..ApiConfig::default()
    }
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    mail: crate::mail::MailWorker,
    erasures: crate::erasures::ErasureWorker,
    sweeper: Option<crate::sweeper::SweepWorker>,
    reminders: Option<crate::reminders::ReminderWorker>,
    webhooks: crate::webhooks::WebhookWorker,
    backups: Option<crate::backups::BackupWorker>,
}

fn mail_worker(settings: &Settings, state: &AppState) -> Result<crate::mail::MailWorker, StartupError> {
    use crate::mail::Delivery;
    let delivery = match (settings.mail_dir(), &settings.smtp_url) {
        (Some(dir), _) => {
            ensure_data_dir(&dir)?;
            Delivery::Directory(dir)
        }
        (None, Some(url)) => Delivery::smtp(url.expose_secret()).map_err(StartupError::Mail)?,
        (None, None) => Delivery::Directory(settings.data_dir.join("mail")),
    };
    let from =
        settings.mail_from.parse().map_err(|e: lettre::address::AddressError| StartupError::Mail(e.to_string()))?;
    Ok(crate::mail::MailWorker::start(state.pool.clone(), state.master.clone(), delivery, from))
}

impl Application {
    /// Prepare everything and bind the listen address (port 0 picks one).
    pub fn build(settings: &Settings) -> Result<Application, StartupError> {
        let prepared = prepare(settings)?;
        let state = web::Data::new(AppState::new(prepared.pool, prepared.master, api_config(settings), holders()));
        if let Err(e) = &state.app.backups {
            return Err(StartupError::Backups(e.clone()));
        }
        // Before this instance can start an export: what a stop cut off.
        kluis_app::archives::recover_interrupted(&state.app);
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|source| StartupError::Bind { addr: settings.bind.clone(), source })?;
        let port =
            listener.local_addr().map_err(|source| StartupError::Bind { addr: settings.bind.clone(), source })?.port();
        let app_state = state.clone();
        let mut server = HttpServer::new(move || kluis_api::app(app_state.clone()))
            .shutdown_timeout(settings.shutdown_timeout_secs)
            .client_request_timeout(Duration::from_secs(30));
        let workers = settings.workers.map_or_else(physical_workers, |w| w.max(1));
        // Database work runs on each worker's blocking pool; more threads
        // than connections would only wait for one (and cost memory).
        let blocking = usize::try_from(settings.db_pool_size).unwrap_or(16).div_ceil(workers).max(2);
        server = server.workers(workers).worker_max_blocking_threads(blocking);
        let server =
            server.listen(listener).map_err(|source| StartupError::Bind { addr: settings.bind.clone(), source })?.run();
        let mail = mail_worker(settings, &state)?;
        let erasures = crate::erasures::ErasureWorker::start(&state.app);
        let sweeper = crate::sweeper::SweepWorker::start(
            state.pool.clone(),
            state.app.holders.clone(),
            Duration::from_secs(settings.retention_sweep_interval_secs),
            settings.sweep_options(false),
        );
        let reminders = crate::reminders::ReminderWorker::start(
            &state.app,
            Duration::from_secs(settings.request_reminder_interval_secs),
            settings.service_backup_reminder_days,
        );
        let webhooks = crate::webhooks::WebhookWorker::start(&state.app);
        let backups =
            crate::backups::BackupWorker::start(&state.app, Duration::from_secs(settings.backup_interval_secs));
        kluis_people::accounts::password::warm_up();
        tracing::info!(port, "listening");
        Ok(Application { port, server, state, mail, erasures, sweeper, reminders, webhooks, backups })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests reach the pool and token service through it).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serve until SIGINT/SIGTERM; in-flight requests get the shutdown
    /// timeout to finish, then queued audit entries are written.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        let (state, mail, erasures, sweeper) = (self.state, self.mail, self.erasures, self.sweeper);
        let (reminders, webhooks, backups) = (self.reminders, self.webhooks, self.backups);
        let _ = web::block(move || {
            if let Some(backups) = backups {
                backups.stop();
            }
            webhooks.stop();
            erasures.stop();
            if let Some(reminders) = reminders {
                reminders.stop();
            }
            if let Some(sweeper) = sweeper {
                sweeper.stop();
            }
            state.app.shutdown();
            mail.stop();
        })
        .await;
        tracing::info!("stopped");
        result
    }
}

/// actix's default worker count: one per available core.
fn physical_workers() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}
