//! What every handler shares: the pool, the token service, the failure
//! limiter, metrics and the API's own settings.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use kluis_core::DomainError;
use kluis_store::db::{DbPool, PooledDb};
use kluis_store::error::{TxError, from_pool};
use kluis_store::write_tx;

use crate::auth::TokenService;
use crate::error::ApiError;
use crate::limiter::FailureLimiter;
use crate::metrics::Metrics;

/// Settings of the HTTP layer, taken from the server's configuration.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `iss` of issued tokens: the public base URL.
    pub issuer: String,
    /// `aud` of issued tokens.
    pub audience: String,
    /// Access-token lifetime (at most 15 minutes).
    pub access_token_ttl: Duration,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Origins allowed by CORS; empty allows none.
    pub cors_origins: Vec<String>,
    /// Failed client authentications tolerated per window.
    pub max_auth_failures: u32,
    /// The window those failures are counted in.
    pub auth_failure_window: Duration,
    /// Proxies whose `X-Forwarded-For` is believed for the client's IP.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            issuer: "http://127.0.0.1:8080".to_owned(),
            audience: "kluis".to_owned(),
            access_token_ttl: Duration::from_secs(900),
            body_limit: 256 * 1024,
            cors_origins: Vec::new(),
            max_auth_failures: 10,
            auth_failure_window: Duration::from_secs(15 * 60),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Shared state of the app.
pub struct AppState {
    /// The database pool.
    pub pool: DbPool,
    /// Issues and verifies access tokens.
    pub tokens: TokenService,
    /// Whether recent tokens are still live (revocations move it on).
    pub liveness: crate::auth::Liveness,
    /// Counts failed client authentications.
    pub limiter: FailureLimiter,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Writes the audit entries of reads in groups.
    pub audit: kluis_audit::Appender,
    /// Counts consent checks and feed pages per client and day, in memory
    /// between writes.
    pub usage: kluis_consent::usage::Counter,
    /// The API's settings.
    pub config: ApiConfig,
    /// Every domain holding personal data, for export and erasure.
    pub holders: Vec<Arc<dyn kluis_store::personal::PersonalData>>,
    /// The master key (sealing TOTP seeds and outgoing messages).
    pub master: Arc<kluis_store::MasterKey>,
    /// Bounds how many argon2 hashes run at once (each takes 19 MiB and a core).
    pub hashing: tokio::sync::Semaphore,
    /// When each device's activity was last written (at most once a minute).
    pub activity: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl AppState {
    /// Build the state; `master` opens the signing keys.
    pub fn new(
        pool: DbPool,
        master: Arc<kluis_store::MasterKey>,
        config: ApiConfig,
        holders: Vec<Arc<dyn kluis_store::personal::PersonalData>>,
    ) -> AppState {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        AppState {
            tokens: TokenService::new(master.clone(), &config),
            liveness: crate::auth::Liveness::default(),
            master,
            hashing: tokio::sync::Semaphore::new(cores),
            activity: std::sync::Mutex::new(std::collections::HashMap::new()),
            limiter: FailureLimiter::new(config.max_auth_failures, config.auth_failure_window),
            metrics: Metrics::new(),
            audit: kluis_audit::Appender::start(pool.clone()),
            usage: kluis_consent::usage::Counter::start(pool.clone()),
            pool,
            config,
            holders,
        }
    }

    /// Run blocking database work off the async executor, inside the
    /// caller's tracing span.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PooledDb) -> Result<T, DomainError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        web::block(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(from_pool)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("blocking pool: {e}")))?
        .map_err(ApiError::from)
    }

    /// Run CPU-heavy password work (argon2) off the executor, at most one
    /// per core at a time, on a thread of its own: never on the blocking
    /// pool, so a sign-in storm cannot take the threads database work runs on.
    pub async fn hash<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self.hashing.acquire().await.map_err(|e| ApiError::Internal(e.to_string()))?;
        let (done, result) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        std::thread::Builder::new()
            .name("kluis-hash".into())
            .spawn(move || {
                let _entered = span.enter();
                let _ = done.send(f());
            })
            .map_err(|e| ApiError::Internal(format!("hashing thread: {e}")))?;
        result.await.map_err(|e| ApiError::Internal(format!("hashing thread: {e}")))
    }

    /// The client's IP: the connection's, or, when the connection comes from
    /// a trusted proxy, the last address in `X-Forwarded-For` it did not add
    /// itself.
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<std::net::IpAddr> {
        let peer = req.peer_addr().map(|a| a.ip())?;
        if !self.config.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()).unwrap_or("");
        forwarded
            .split(',')
            .rev()
            .filter_map(|hop| hop.trim().parse::<std::net::IpAddr>().ok())
            .find(|ip| !self.config.trusted_proxies.contains(ip))
            .or(Some(peer))
    }

    /// Whether a device's activity is due to be written (once a minute).
    pub fn activity_due(&self, device: &str) -> bool {
        let mut seen = self.activity.lock().unwrap_or_else(|p| p.into_inner());
        let due = seen.get(device).is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(60));
        if due {
            if seen.len() > 100_000 {
                seen.retain(|_, at| at.elapsed() < std::time::Duration::from_secs(60));
            }
            seen.insert(device.to_owned(), std::time::Instant::now());
        }
        due
    }

    /// [`AppState::db`] inside one write transaction: a change and its audit
    /// entry commit together or not at all.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut kluis_store::Db) -> Result<T, TxError> + Send + 'static,
        T: Send + 'static,
    {
        self.db(move |conn| write_tx(conn, f).map_err(DomainError::from)).await
    }
}
