//! What every handler shares: the use cases' [`App`], metrics and the
//! API's own settings.

use std::sync::Arc;
use std::time::Duration;

use kluis_app::App;
use kluis_store::db::DbPool;

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
    /// Request rates of the flows anyone can drive without a token.
    pub limits: kluis_app::limiter::Limits,
    /// The operator's webhook settings.
    pub webhooks: kluis_hooks::Policy,
    /// Where tenant export archives are written.
    pub archive_dir: std::path::PathBuf,
    /// Where backups are kept.
    pub backups: kluis_backup::store::Target,
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
            limits: kluis_app::limiter::Limits::default(),
            webhooks: kluis_hooks::Policy::default(),
            archive_dir: std::path::PathBuf::from("data/exports"),
            backups: kluis_backup::store::Target::Local(std::path::PathBuf::from("data/backups")),
        }
    }
}

impl ApiConfig {
    /// The use cases' share of these settings.
    pub fn app_settings(&self) -> kluis_app::Settings {
        kluis_app::Settings {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            access_token_ttl: self.access_token_ttl,
            max_auth_failures: self.max_auth_failures,
            auth_failure_window: self.auth_failure_window,
            limits: self.limits,
            webhooks: self.webhooks,
            archive_dir: self.archive_dir.clone(),
            backups: self.backups.clone(),
        }
    }
}

/// Shared state of the HTTP layer: the use cases' [`App`], the metrics and
/// the API's own settings.
pub struct AppState {
    /// The use cases.
    pub app: Arc<App>,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// The API's settings.
    pub config: ApiConfig,
    /// The scope each operation needs (from the OpenAPI document).
    pub required_scopes: crate::auth::RequiredScopes,
    /// The methods each documented path declares (from the OpenAPI document).
    pub allowed_methods: crate::methods::AllowedMethods,
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

impl AppState {
    /// Build the state; `master` opens the signing keys.
    pub fn new(
        pool: DbPool,
        master: Arc<kluis_store::MasterKey>,
        config: ApiConfig,
        holders: Vec<Arc<dyn kluis_store::personal::PersonalData>>,
    ) -> AppState {
        let app = Arc::new(App::new(pool, master, config.app_settings(), holders));
        let doc = crate::openapi();
        let required_scopes = crate::auth::RequiredScopes::from_openapi(&doc);
        let allowed_methods = crate::methods::AllowedMethods::from_openapi(&doc);
        AppState { app, metrics: Metrics::new(), config, required_scopes, allowed_methods }
    }
}
