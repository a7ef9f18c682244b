//! kluis-app: the use cases. One public function per operation, grouped by
//! resource (`people::create`, `signin::start`, `tokens::client_credentials`,
//! `erasure::erase_person`, ...), each taking a [`Context`] (who calls, from
//! where, in which request) or an [`Origin`] (before anyone is signed in),
//! and typed input, and returning a typed outcome. Use cases own their
//! transactions and the audit entries written with them, and compose domains
//! where an operation spans several. No HTTP here: the `api` crate parses a
//! request, calls one function and maps its outcome; the CLI calls the same
//! functions where it does the same thing.

pub mod auth;
pub mod context;
pub mod error;
pub mod fields;
pub mod limiter;
pub mod setup;

// The use cases, one module per resource.
pub mod accounts;
pub mod archives;
pub mod attributes;
pub mod audit_log;
pub mod backups;
pub mod breaches;
pub mod clients;
pub mod consent;
pub mod contacts;
pub mod devices;
pub mod erasure;
pub mod export;
pub mod holds;
pub mod me;
pub mod operations;
pub mod passkeys;
pub mod people;
pub mod policies;
pub mod processors;
pub mod purposes;
pub mod recipients;
pub mod references;
pub mod register;
pub mod requests;
pub mod restriction;
pub mod retention;
pub mod service;
pub mod signin;
pub mod tenants;
pub mod tokens;
pub mod unsubscribe;
pub mod visits;
pub mod webhooks;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use kluis_audit::{Action, Target};
use kluis_core::DomainError;
use kluis_store::db::{DbPool, PooledDb, checkout};
use kluis_store::error::{TxError, from_pool};
use kluis_store::personal::PersonalData;
use kluis_store::{Db, MasterKey, write_tx};

pub use context::{Context, Origin, Scoped};
pub use error::{AppError, AppResult};
pub use fields::AuditFields;

use crate::auth::{TokenService, TokenStates};
use crate::limiter::{FailureLimiter, Limits, RateLimits};

/// Settings of the use cases, taken from the server's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `iss` of issued tokens: the public base URL.
    pub issuer: String,
    /// `aud` of issued tokens.
    pub audience: String,
    /// Access-token lifetime (at most 15 minutes).
    pub access_token_ttl: Duration,
    /// Failed client authentications tolerated per window.
    pub max_auth_failures: u32,
    /// The window those failures are counted in.
    pub auth_failure_window: Duration,
    /// Request rates of the flows anyone can drive without a token.
    pub limits: Limits,
    /// The operator's webhook settings (http, private addresses, retry schedule).
    pub webhooks: kluis_hooks::Policy,
    /// Where the archives of tenant exports are written (`<data_dir>/exports`).
    pub archive_dir: std::path::PathBuf,
    /// Where backups are kept (`<data_dir>/backups`, or an S3 bucket).
    pub backups: kluis_backup::store::Target,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            issuer: "http://127.0.0.1:8080".to_owned(),
            audience: "kluis".to_owned(),
            access_token_ttl: Duration::from_secs(900),
            max_auth_failures: 10,
            auth_failure_window: Duration::from_secs(15 * 60),
            limits: Limits::default(),
            webhooks: kluis_hooks::Policy::default(),
            archive_dir: std::path::PathBuf::from("data/exports"),
            backups: kluis_backup::store::Target::Local(std::path::PathBuf::from("data/backups")),
        }
    }
}

/// Counters the use cases keep for the metrics endpoint.
#[derive(Debug, Default)]
pub struct Stats {
    /// Writes of a device's last activity.
    pub device_activity_writes: AtomicU64,
}

/// What every use case shares: the pool, the token service, the failure
/// and rate limiters, the audit appender for reads, the personal-data registry.
pub struct App {
    /// The database pool.
    pub pool: DbPool,
    /// Issues and verifies access tokens.
    pub tokens: TokenService,
    /// Whether recent tokens are still live (revocations move it on).
    pub token_states: TokenStates,
    /// Counts failed authentications per key.
    pub limiter: FailureLimiter,
    /// Counts requests per flow and key (client IP, e-mail address).
    pub rates: RateLimits,
    /// Writes the audit entries of reads in groups.
    pub audit_reads: kluis_audit::Appender,
    /// Counts consent checks and feed pages per client and day, in memory
    /// between writes.
    pub usage: kluis_consent::usage::Counter,
    /// The settings.
    pub settings: Settings,
    /// Every domain holding personal data, for export and erasure.
    pub holders: Vec<Arc<dyn PersonalData>>,
    /// The master key (sealing TOTP seeds and outgoing messages).
    pub master: Arc<MasterKey>,
    /// Counters for the metrics endpoint.
    pub stats: Stats,
    /// Where backups are kept, or why that place could not be opened.
    pub backups: Result<Arc<kluis_backup::store::BackupStore>, String>,
    /// Bounds how many argon2 hashes run at once (each takes 19 MiB and a core).
    hashing: tokio::sync::Semaphore,
    /// When each device's activity was last written (at most once a minute).
    activity: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl App {
    /// Build the use cases' shared state; `master` opens the signing keys.
    pub fn new(pool: DbPool, master: Arc<MasterKey>, settings: Settings, holders: Vec<Arc<dyn PersonalData>>) -> App {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        App {
            tokens: TokenService::new(master.clone(), &settings),
            token_states: TokenStates::default(),
            master,
            hashing: tokio::sync::Semaphore::new(cores),
            activity: std::sync::Mutex::new(std::collections::HashMap::new()),
            limiter: FailureLimiter::new(settings.max_auth_failures, settings.auth_failure_window),
            rates: RateLimits::new(&settings.limits),
            audit_reads: kluis_audit::Appender::start(pool.clone()),
            usage: kluis_consent::usage::Counter::start(pool.clone()),
            stats: Stats::default(),
            backups: kluis_backup::store::BackupStore::open(&settings.backups).map(Arc::new),
            pool,
            settings,
            holders,
        }
    }

    /// Flush what is kept in memory (read audit entries, usage counts); on shutdown.
    pub fn shutdown(&self) {
        self.audit_reads.shutdown();
        self.usage.shutdown();
    }

    /// Run blocking database work on a pooled connection, off the async
    /// executor and inside the caller's tracing span; no transaction.
    pub async fn with_conn<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut PooledDb) -> Result<T, DomainError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = checkout(&pool).map_err(from_pool)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| AppError::internal(format!("blocking pool: {e}")))?
        .map_err(AppError::from)
    }

    /// Alias of [`App::with_conn`] for the reads of the hot paths.
    pub async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut PooledDb) -> Result<T, DomainError> + Send + 'static,
        T: Send + 'static,
    {
        self.with_conn(f).await
    }

    /// [`App::with_conn`] inside one write transaction: a change and its
    /// audit entries commit together or not at all.
    pub async fn in_transaction<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut Db) -> Result<T, TxError> + Send + 'static,
        T: Send + 'static,
    {
        self.with_conn(move |conn| write_tx(conn, f).map_err(DomainError::from)).await
    }

    /// One change and its audit entry, in one transaction. `change` returns
    /// its result and what it acted on; `fields` names what it touched
    /// (from the input's [`AuditFields`]).
    pub async fn audited<T, F>(
        &self,
        ctx: kluis_audit::Context,
        action: Action,
        fields: Vec<&'static str>,
        change: F,
    ) -> AppResult<T>
    where
        F: FnOnce(&mut Db) -> Result<(T, Target), TxError> + Send + 'static,
        T: Send + 'static,
    {
        self.in_transaction(move |conn| {
            let (value, target) = change(conn)?;
            kluis_audit::record(conn, &ctx, action, target, &fields, None)?;
            Ok(value)
        })
        .await
    }

    /// Run CPU-heavy password work (argon2) off the executor, at most one
    /// per core at a time, on a thread of its own: never on the blocking
    /// pool, so a sign-in storm cannot take the threads database work runs on.
    pub async fn hash<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self.hashing.acquire().await.map_err(|e| AppError::internal(e.to_string()))?;
        let (done, result) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        std::thread::Builder::new()
            .name("kluis-hash".into())
            .spawn(move || {
                let _entered = span.enter();
                let _ = done.send(f());
            })
            .map_err(|e| AppError::internal(format!("hashing thread: {e}")))?;
        result.await.map_err(|e| AppError::internal(format!("hashing thread: {e}")))
    }

    /// Whether a device's activity is due to be written (once a minute).
    pub fn activity_due(&self, device: &str) -> bool {
        let mut seen = self.activity.lock().unwrap_or_else(|p| p.into_inner());
        let due = seen.get(device).is_none_or(|at| at.elapsed() >= Duration::from_secs(60));
        if due {
            if seen.len() > 100_000 {
                seen.retain(|_, at| at.elapsed() < Duration::from_secs(60));
            }
            seen.insert(device.to_owned(), std::time::Instant::now());
        }
        due
    }
}
