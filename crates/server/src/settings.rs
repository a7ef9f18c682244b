//! Typed settings, built once at startup: defaults, then an optional TOML
//! file (`--config` / `KLUIS_CONFIG`), then `KLUIS_*` environment variables,
//! then command-line flags. The embedded SQLite default needs none of them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use kluis_app::limiter::{Limits, Rate};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for development.
    Pretty,
    /// One JSON object per line, for production.
    Json,
}

/// Every setting of the server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    /// Where kluis keeps its files (SQLite database, master key, operator credentials).
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; default `sqlite://<data_dir>/kluis.db`.
    pub database_url: Option<String>,
    /// Address to listen on.
    pub bind: String,
    /// Public base URL, the `iss` of tokens; default `http://<bind>`.
    pub public_url: Option<String>,
    /// Base64 of 32 random bytes; default: generated into `<data_dir>/master.key`.
    #[serde(serialize_with = "hide_secret")]
    pub master_key: Option<SecretString>,
    /// Origins allowed by CORS (comma-separated in the environment).
    #[serde(deserialize_with = "list_or_csv")]
    pub cors_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` gives the client's IP.
    #[serde(deserialize_with = "ip_list_or_csv")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log: String,
    /// `pretty` or `json`.
    pub log_format: LogFormat,
    /// Access-token lifetime in seconds (at most 900).
    pub access_token_ttl_secs: u64,
    /// Largest request body in bytes.
    pub body_limit: usize,
    /// Database connections in the pool.
    pub db_pool_size: u32,
    /// Milliseconds a request waits for a pooled connection before it is
    /// answered 503 (also libpq's connect timeout, rounded up to seconds).
    pub db_connection_timeout_ms: u64,
    /// SQLite: milliseconds a writer waits for the write lock before it is
    /// answered 503.
    pub db_busy_timeout_ms: u64,
    /// HTTP worker threads; default: one per core.
    pub workers: Option<usize>,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_timeout_secs: u64,
    /// SMTP server for outgoing mail, e.g. `smtps://user:pass@mail.example.nl`.
    #[serde(serialize_with = "hide_secret")]
    pub smtp_url: Option<SecretString>,
    /// Write outgoing mail as `.eml` files here instead; default `<data_dir>/mail` without SMTP.
    pub mail_dir: Option<PathBuf>,
    /// The sender of outgoing mail.
    pub mail_from: String,
    /// Password reset requests per tenant and e-mail address (`N/DURATION`).
    pub limit_password_reset_per_address: Rate,
    /// Password reset requests per client IP.
    pub limit_password_reset_per_ip: Rate,
    /// Answers to sign-in challenges (mailed codes, TOTP codes) per client IP.
    pub limit_challenge_answers_per_ip: Rate,
    /// E-mail verifications and password reset confirmations per client IP.
    pub limit_email_links_per_ip: Rate,
    /// Public policy reads per client IP.
    pub limit_public_reads_per_ip: Rate,
    /// Unsubscribe link requests (page and one-click POST) per client IP.
    pub limit_unsubscribe_per_ip: Rate,
    /// Data-subject requests from outside per tenant and e-mail address.
    pub limit_public_requests_per_address: Rate,
    /// Data-subject requests from outside per client IP.
    pub limit_public_requests_per_ip: Rate,
    /// Reveals of sealed customer credentials per caller (client or staff account).
    pub limit_credential_reveals_per_caller: Rate,
    /// Seconds between the sweeper worker's rounds over every tenant; 0 turns it off.
    pub retention_sweep_interval_secs: u64,
    /// Most rows per table a sweep removes in one transaction.
    pub retention_batch: u64,
    /// Seconds between the reminder worker's rounds over requests due soon or overdue; 0 turns it off.
    pub request_reminder_interval_secs: u64,
    /// Days a customer-data backup record may outlive its returned item
    /// before the privacy contact is reminded of it (in the same rounds).
    pub service_backup_reminder_days: u32,
    /// Webhook endpoints may use `http://` (else `https://` only).
    #[serde(deserialize_with = "flag")]
    pub webhooks_allow_http: bool,
    /// Webhook endpoints may reach loopback, private, link-local and
    /// metadata addresses (development and tests only: an SSRF hole otherwise).
    #[serde(deserialize_with = "flag")]
    pub webhooks_allow_private: bool,
    /// Seconds before a failed webhook delivery's first retry; each next waits twice as long.
    pub webhook_retry_base_secs: u64,
    /// Write a snapshot of the database to `<data_dir>/snapshots` before
    /// pending migrations run (PostgreSQL: needs `pg_dump`).
    #[serde(deserialize_with = "flag")]
    pub snapshot_before_migrate: bool,
    /// Seconds between a tenant's scheduled backups (a day); 0 turns the schedule off.
    pub backup_interval_secs: u64,
    /// `s3://bucket/prefix` to keep backups in an S3-compatible bucket; default `<data_dir>/backups`.
    pub backup_url: Option<String>,
    /// The bucket's endpoint (a non-AWS server); default `AWS_ENDPOINT_URL`.
    pub backup_s3_endpoint: Option<String>,
    /// The bucket's region; default `AWS_REGION` / `AWS_DEFAULT_REGION`.
    pub backup_s3_region: Option<String>,
    /// The access key id; default `AWS_ACCESS_KEY_ID`.
    pub backup_s3_access_key_id: Option<String>,
    /// The secret access key; default `AWS_SECRET_ACCESS_KEY`.
    #[serde(serialize_with = "hide_secret")]
    pub backup_s3_secret_access_key: Option<SecretString>,
}

/// A boolean written as `true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off`
/// (`KLUIS_WEBHOOKS_ALLOW_PRIVATE=1`).
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Number(i64),
        Text(String),
    }
    match Flag::deserialize(d)? {
        Flag::Bool(b) => Ok(b),
        Flag::Number(n) => Ok(n != 0),
        Flag::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!("not a yes/no value: {other}"))),
        },
    }
}

fn hide_secret<S: serde::Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(secret) => s.serialize_some(secret.expose_secret()),
        None => s.serialize_none(),
    }
}

fn list_or_csv<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrCsv {
        List(Vec<String>),
        Csv(String),
    }
    Ok(match ListOrCsv::deserialize(d)? {
        ListOrCsv::List(list) => list,
        ListOrCsv::Csv(csv) => csv.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
    })
}

fn ip_list_or_csv<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<std::net::IpAddr>, D::Error> {
    list_or_csv(d)?.iter().map(|ip| ip.parse().map_err(serde::de::Error::custom)).collect()
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("./data"),
            database_url: None,
            bind: "127.0.0.1:8080".to_owned(),
            public_url: None,
            master_key: None,
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            log: "info".to_owned(),
            log_format: LogFormat::Pretty,
            access_token_ttl_secs: 900,
            body_limit: 256 * 1024,
            db_pool_size: 16,
            db_connection_timeout_ms: 5000,
            db_busy_timeout_ms: 10_000,
            workers: None,
            shutdown_timeout_secs: 30,
            smtp_url: None,
            mail_dir: None,
            mail_from: "kluis <no-reply@localhost>".to_owned(),
            limit_password_reset_per_address: LIMITS.password_reset_per_address,
            limit_password_reset_per_ip: LIMITS.password_reset_per_ip,
            limit_challenge_answers_per_ip: LIMITS.challenge_answers_per_ip,
            limit_email_links_per_ip: LIMITS.email_links_per_ip,
            limit_public_reads_per_ip: LIMITS.public_reads_per_ip,
            limit_unsubscribe_per_ip: LIMITS.unsubscribe_per_ip,
            limit_public_requests_per_address: LIMITS.public_requests_per_address,
            limit_public_requests_per_ip: LIMITS.public_requests_per_ip,
            limit_credential_reveals_per_caller: LIMITS.credential_reveals_per_caller,
            retention_sweep_interval_secs: 3600,
            retention_batch: 1000,
            request_reminder_interval_secs: 300,
            service_backup_reminder_days: kluis_app::service::BACKUP_REMINDER_DAYS,
            webhooks_allow_http: false,
            webhooks_allow_private: false,
            webhook_retry_base_secs: 5,
            snapshot_before_migrate: true,
            backup_interval_secs: 86_400,
            backup_url: None,
            backup_s3_endpoint: None,
            backup_s3_region: None,
            backup_s3_access_key_id: None,
            backup_s3_secret_access_key: None,
        }
    }
}

/// The rate limits' defaults (kept in `kluis_app`, next to the limiters).
const LIMITS: Limits = Limits::DEFAULT;

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A source could not be read or a value has the wrong type.
    #[error("configuration: {0}")]
    Figment(#[from] Box<figment::Error>),
    /// A value is out of range.
    #[error("configuration: {0}")]
    Invalid(String),
}

/// The variables `kluis --help` lists, with what they set.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("KLUIS_CONFIG", "TOML configuration file (same keys, lowercase)"),
    ("KLUIS_DATA_DIR", "data directory [default: ./data]"),
    ("KLUIS_DATABASE_URL", "sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://<data_dir>/kluis.db]"),
    ("KLUIS_BIND", "listen address [default: 127.0.0.1:8080]"),
    ("KLUIS_PUBLIC_URL", "public base URL, the token issuer [default: http://<bind>]"),
    ("KLUIS_MASTER_KEY", "base64 of 32 bytes sealing secrets at rest [default: generated <data_dir>/master.key]"),
    ("KLUIS_CORS_ORIGINS", "comma-separated origins allowed by CORS [default: none]"),
    ("KLUIS_TRUSTED_PROXIES", "comma-separated proxy IPs whose X-Forwarded-For is believed [default: none]"),
    ("KLUIS_LOG", "log filter, e.g. info or kluis_api=debug [default: info]"),
    ("KLUIS_LOG_FORMAT", "pretty or json [default: pretty]"),
    ("KLUIS_ACCESS_TOKEN_TTL_SECS", "access-token lifetime, at most 900 [default: 900]"),
    ("KLUIS_BODY_LIMIT", "largest request body in bytes [default: 262144]"),
    ("KLUIS_DB_POOL_SIZE", "database connections [default: 16]"),
    ("KLUIS_DB_CONNECTION_TIMEOUT_MS", "wait for a pooled connection before answering 503 [default: 5000]"),
    ("KLUIS_DB_BUSY_TIMEOUT_MS", "SQLite: wait for the write lock before answering 503 [default: 10000]"),
    ("KLUIS_WORKERS", "HTTP worker threads [default: one per core]"),
    ("KLUIS_SHUTDOWN_TIMEOUT_SECS", "seconds in-flight requests get on shutdown [default: 30]"),
    ("KLUIS_SMTP_URL", "SMTP server for outgoing mail, e.g. smtps://user:pass@mail.example.nl"),
    ("KLUIS_MAIL_DIR", "write outgoing mail as .eml files here instead [default without SMTP: <data_dir>/mail]"),
    ("KLUIS_MAIL_FROM", "sender of outgoing mail [default: kluis <no-reply@localhost>]"),
    ("KLUIS_LIMIT_PASSWORD_RESET_PER_ADDRESS", "password reset requests per address, N/DURATION [default: 5/1h]"),
    ("KLUIS_LIMIT_PASSWORD_RESET_PER_IP", "password reset requests per client IP [default: 20/1h]"),
    ("KLUIS_LIMIT_CHALLENGE_ANSWERS_PER_IP", "sign-in challenge answers (mailed, TOTP codes) per IP [default: 60/15m]"),
    ("KLUIS_LIMIT_EMAIL_LINKS_PER_IP", "e-mail verifications and reset confirmations per IP [default: 60/1h]"),
    ("KLUIS_LIMIT_PUBLIC_READS_PER_IP", "public policy reads per client IP [default: 300/1m]"),
    ("KLUIS_LIMIT_UNSUBSCRIBE_PER_IP", "unsubscribe link requests per client IP [default: 120/1m]"),
    ("KLUIS_LIMIT_PUBLIC_REQUESTS_PER_ADDRESS", "data-subject requests from outside per address [default: 3/1d]"),
    ("KLUIS_LIMIT_PUBLIC_REQUESTS_PER_IP", "data-subject requests from outside per client IP [default: 10/1h]"),
    (
        "KLUIS_LIMIT_CREDENTIAL_REVEALS_PER_CALLER",
        "reveals of sealed customer credentials per client or staff account [default: 10/15m]",
    ),
    ("KLUIS_RETENTION_SWEEP_INTERVAL_SECS", "seconds between retention sweeps of every tenant; 0: off [default: 3600]"),
    ("KLUIS_RETENTION_BATCH", "most rows per table a sweep removes in one transaction [default: 1000]"),
    (
        "KLUIS_REQUEST_REMINDER_INTERVAL_SECS",
        "seconds between reminders of requests due soon or overdue; 0: off [default: 300]",
    ),
    (
        "KLUIS_SERVICE_BACKUP_REMINDER_DAYS",
        "days a customer-data backup may outlive its returned item before the privacy contact is reminded [default: 30]",
    ),
    ("KLUIS_WEBHOOKS_ALLOW_HTTP", "1: webhook endpoints may use http:// [default: https only]"),
    (
        "KLUIS_WEBHOOKS_ALLOW_PRIVATE",
        "1: webhook endpoints may reach loopback/private addresses (development) [default: 0]",
    ),
    ("KLUIS_WEBHOOK_RETRY_BASE_SECS", "first retry interval of a failed webhook delivery, doubling after [default: 5]"),
    (
        "KLUIS_SNAPSHOT_BEFORE_MIGRATE",
        "0: migrate without first writing <data_dir>/snapshots/ (PostgreSQL: needs pg_dump) [default: 1]",
    ),
    ("KLUIS_BACKUP_INTERVAL_SECS", "seconds between a tenant's scheduled backups; 0: off [default: 86400]"),
    ("KLUIS_BACKUP_URL", "s3://bucket/prefix: keep backups in an S3-compatible bucket [default: <data_dir>/backups]"),
    ("KLUIS_BACKUP_S3_ENDPOINT", "the bucket's endpoint, e.g. http://127.0.0.1:9000 [default: AWS_ENDPOINT_URL]"),
    ("KLUIS_BACKUP_S3_REGION", "the bucket's region [default: AWS_REGION]"),
    ("KLUIS_BACKUP_S3_ACCESS_KEY_ID", "the bucket's access key id [default: AWS_ACCESS_KEY_ID]"),
    ("KLUIS_BACKUP_S3_SECRET_ACCESS_KEY", "the bucket's secret access key [default: AWS_SECRET_ACCESS_KEY]"),
];

impl Settings {
    /// Defaults < `config_file` < `KLUIS_*` environment < `overrides`.
    pub fn load(config_file: Option<&Path>, overrides: Figment) -> Result<Settings, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config_file {
            if !path.exists() {
                return Err(SettingsError::Invalid(format!("config file {} does not exist", path.display())));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("KLUIS_").ignore(&["CONFIG"])).merge(overrides);
        let settings: Settings = figment.extract().map_err(Box::new)?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        if self.access_token_ttl_secs == 0 || self.access_token_ttl_secs > 900 {
            return Err(SettingsError::Invalid("access_token_ttl_secs must be 1 to 900".into()));
        }
        if self.body_limit < 1024 {
            return Err(SettingsError::Invalid("body_limit must be at least 1024 bytes".into()));
        }
        if self.db_pool_size == 0 {
            return Err(SettingsError::Invalid("db_pool_size must be at least 1".into()));
        }
        if self.db_connection_timeout_ms < 100 {
            return Err(SettingsError::Invalid("db_connection_timeout_ms must be at least 100".into()));
        }
        if self.webhook_retry_base_secs == 0 {
            return Err(SettingsError::Invalid("webhook_retry_base_secs must be at least 1".into()));
        }
        if self.retention_batch == 0 {
            return Err(SettingsError::Invalid("retention_batch must be at least 1".into()));
        }
        kluis_store::Backend::of(&self.database_url()).map_err(|e| SettingsError::Invalid(e.to_string()))?;
        if let Some(url) = &self.backup_url {
            kluis_backup::store::parse_s3_url(url).map_err(|e| SettingsError::Invalid(format!("backup_url: {e}")))?;
        }
        self.mail_from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| SettingsError::Invalid(format!("mail_from: {e}")))?;
        Ok(())
    }

    /// Where backups are kept: the bucket of `backup_url`, or `<data_dir>/backups`.
    pub fn backup_target(&self) -> kluis_backup::store::Target {
        use kluis_backup::store::{S3Target, Target};
        match &self.backup_url {
            None => Target::Local(self.data_dir.join("backups")),
            Some(url) => Target::S3(S3Target {
                url: url.clone(),
                endpoint: self.backup_s3_endpoint.clone(),
                region: self.backup_s3_region.clone(),
                access_key_id: self.backup_s3_access_key_id.clone(),
                secret_access_key: self.backup_s3_secret_access_key.as_ref().map(|s| s.expose_secret().to_owned()),
                staging: self.data_dir.join("backups").join(".staging"),
            }),
        }
    }

    /// The database URL, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("kluis.db").display()))
    }

    /// The token issuer.
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.bind)).trim_end_matches('/').to_owned()
    }

    /// Where mail goes: SMTP when configured, else a directory of `.eml` files.
    pub fn mail_dir(&self) -> Option<PathBuf> {
        match (&self.smtp_url, &self.mail_dir) {
            (_, Some(dir)) => Some(dir.clone()),
            (Some(_), None) => None,
            (None, None) => Some(self.data_dir.join("mail")),
        }
    }

    /// The pool's sizes and timeouts.
    pub fn pool_options(&self) -> kluis_store::PoolOptions {
        kluis_store::PoolOptions {
            max_size: self.db_pool_size,
            connection_timeout: Duration::from_millis(self.db_connection_timeout_ms),
            busy_timeout: Duration::from_millis(self.db_busy_timeout_ms),
        }
    }

    /// The access-token lifetime.
    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs)
    }

    /// The request rates of the flows anyone can drive without a token.
    pub fn limits(&self) -> Limits {
        Limits {
            password_reset_per_address: self.limit_password_reset_per_address,
            password_reset_per_ip: self.limit_password_reset_per_ip,
            challenge_answers_per_ip: self.limit_challenge_answers_per_ip,
            email_links_per_ip: self.limit_email_links_per_ip,
            public_reads_per_ip: self.limit_public_reads_per_ip,
            unsubscribe_per_ip: self.limit_unsubscribe_per_ip,
            public_requests_per_address: self.limit_public_requests_per_address,
            public_requests_per_ip: self.limit_public_requests_per_ip,
            credential_reveals_per_caller: self.limit_credential_reveals_per_caller,
        }
    }
}

impl Settings {
    /// The operator's webhook settings.
    pub fn webhooks(&self) -> kluis_hooks::Policy {
        kluis_hooks::Policy {
            allow_http: self.webhooks_allow_http,
            allow_private: self.webhooks_allow_private,
            retry_base: Duration::from_secs(self.webhook_retry_base_secs),
        }
    }

    /// How the sweeper worker and `kluis retention sweep` run a sweep.
    pub fn sweep_options(&self, dry_run: bool) -> kluis_retention::sweeper::Options {
        kluis_retention::sweeper::Options { batch: self.retention_batch, dry_run, ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_configuration() {
        let s = Settings::load(None, Figment::new()).unwrap();
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert!(s.database_url().starts_with("sqlite://"));
        assert!(s.database_url().ends_with("kluis.db"));
        assert_eq!(s.public_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn file_then_overrides_and_bare_paths_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kluis.toml");
        std::fs::write(&file, "bind = \"0.0.0.0:9000\"\ncors_origins = [\"https://a.example\"]\n").unwrap();
        let s = Settings::load(Some(&file), Figment::new()).unwrap();
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.cors_origins, vec!["https://a.example".to_owned()]);
        let over = Figment::from(Serialized::default("cors_origins", "https://b.example, https://c.example"));
        let s = Settings::load(Some(&file), over).unwrap();
        assert_eq!(s.cors_origins.len(), 2);
        let bare = Figment::from(Serialized::default("database_url", "data/kluis.db"));
        assert!(Settings::load(None, bare).is_err());
        let ttl = Figment::from(Serialized::default("access_token_ttl_secs", 3600));
        assert!(Settings::load(None, ttl).is_err());
        let instant = Figment::from(Serialized::default("db_connection_timeout_ms", 0));
        assert!(Settings::load(None, instant).is_err());
        let quick = Figment::from(Serialized::default("db_busy_timeout_ms", 250));
        let options = Settings::load(None, quick).unwrap().pool_options();
        assert_eq!(options.busy_timeout, Duration::from_millis(250));
        assert_eq!(options.connection_timeout, Duration::from_secs(5));
    }

    #[test]
    fn limits_default_as_documented_and_read_as_rates() {
        let s = Settings::load(None, Figment::new()).unwrap();
        assert_eq!(s.limits(), Limits::default());
        assert_eq!(s.limit_password_reset_per_address.to_string(), "5/1h");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kluis.toml");
        std::fs::write(&file, "limit_public_reads_per_ip = \"10/1s\"\n").unwrap();
        let s = Settings::load(Some(&file), Figment::new()).unwrap();
        assert_eq!(s.limits().public_reads_per_ip, Rate::new(10, Duration::from_secs(1)));
        let bad = Figment::from(Serialized::default("limit_unsubscribe_per_ip", "many"));
        assert!(Settings::load(None, bad).is_err());
    }

    #[test]
    fn webhook_flags_read_as_yes_or_no() {
        let s = Settings::load(None, Figment::new()).unwrap();
        assert_eq!(s.webhooks(), kluis_hooks::Policy::default());
        let on = Figment::from(Serialized::default("webhooks_allow_private", "1"))
            .merge(Serialized::default("webhooks_allow_http", true))
            .merge(Serialized::default("webhook_retry_base_secs", 1));
        let policy = Settings::load(None, on).unwrap().webhooks();
        assert!(policy.allow_private && policy.allow_http);
        assert_eq!(policy.retry_base, Duration::from_secs(1));
        let bad = Figment::from(Serialized::default("webhooks_allow_private", "perhaps"));
        assert!(Settings::load(None, bad).is_err());
    }
}
