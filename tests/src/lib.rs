//! The test harness: [`TestApp::spawn`] starts the real app on a free port
//! over SQLite (a temporary file) or PostgreSQL (a database created for the
//! test and dropped after it), and [`both_backends!`] runs each test on both.
//!
//! PostgreSQL comes from `KLUIS_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When none answers, the
//! PostgreSQL half is skipped with a loud line, unless
//! `KLUIS_REQUIRE_POSTGRES=1`, which turns the skip into a failure (CI).
//! `TEST_LOG=1` shows the app's logs.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test harness: a failure should panic")]

use std::path::Path;

use actix_web::web;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::{Connection, PgConnection, RunQueryDsl};
use figment::Figment;
use kluis_api::AppState;
use kluis_server::settings::{LogFormat, Settings};
use kluis_server::{Application, telemetry};
use serde_json::{Value, json};

pub use reqwest::StatusCode;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// Run each `async fn name(app) { .. }` as `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[actix_web::test]
                async fn sqlite() {
                    let $app = $crate::TestApp::spawn($crate::Backend::Sqlite).await.unwrap();
                    $body
                }

                #[actix_web::test]
                async fn postgres() {
                    let Some($app) = $crate::TestApp::spawn($crate::Backend::Postgres).await else {
                        return;
                    };
                    $body
                }
            }
        )*
    };
}

/// Client credentials.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
}

/// A tenant made for one test, with its admin client and a token for it.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Tenant id.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// The admin client.
    pub admin: Credentials,
    /// An admin access token.
    pub token: String,
}

/// A PostgreSQL database that exists for one test.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)).execute(&mut conn);
        }
    }
}

fn pg_admin_url() -> String {
    let url = std::env::var("KLUIS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    without_tls(&url)
}

/// The local test server needs no TLS, and without it libpq never touches
/// OpenSSL: a test process that exits while an app's worker threads still
/// hold connections cannot crash in OpenSSL's exit-time cleanup.
fn without_tls(url: &str) -> String {
    match (url.contains("sslmode="), url.contains('?')) {
        (true, _) => url.to_owned(),
        (false, true) => format!("{url}&sslmode=disable"),
        (false, false) => format!("{url}?sslmode=disable"),
    }
}

fn require_postgres() -> bool {
    std::env::var("KLUIS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn create_pg_database() -> Option<(PgDatabase, String)> {
    let admin_url = pg_admin_url();
    let mut conn = match PgConnection::establish(&admin_url) {
        Ok(conn) => conn,
        Err(e) => {
            assert!(!require_postgres(), "KLUIS_REQUIRE_POSTGRES=1 but PostgreSQL at {admin_url} does not answer: {e}");
            eprintln!(
                "\n!!!! SKIPPING the PostgreSQL half: no server at {admin_url} ({e}); set KLUIS_TEST_DATABASE_URL !!!!\n"
            );
            return None;
        }
    };
    let name = format!("kluis_test_{}", uuid::Uuid::now_v7().simple());
    diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).expect("create test database");
    let (path, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
    let (base, _) = path.rsplit_once('/').expect("database URL with a path");
    let url = format!("{base}/{name}?{query}");
    Some((PgDatabase { admin_url, name }, url))
}

/// A running app for one test.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// Which database it runs on.
    pub backend: Backend,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// The app's shared state (pool, token service).
    pub state: web::Data<AppState>,
    /// The settings it runs with.
    pub settings: Settings,
    /// The operator client written on first start.
    pub operator: Credentials,
    _data_dir: tempfile::TempDir,
    // Dropped last: the database outlives the app's connections.
    _pg: Option<PgDatabase>,
}

impl TestApp {
    /// Start an app on `backend`; `None` when PostgreSQL is unavailable and not required.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Start an app with adjusted settings.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Option<TestApp> {
        if std::env::var("TEST_LOG").is_ok() {
            telemetry::init("info", LogFormat::Pretty);
        }
        let data_dir = tempfile::tempdir().expect("temp dir");
        let (pg, database_url) = match backend {
            Backend::Sqlite => (None, format!("sqlite://{}", data_dir.path().join("kluis.db").display())),
            Backend::Postgres => {
                let (pg, url) = create_pg_database()?;
                (Some(pg), url)
            }
        };
        let mut settings = Settings::load(None, Figment::new()).expect("settings");
        settings.data_dir = data_dir.path().to_owned();
        settings.database_url = Some(database_url);
        settings.bind = "127.0.0.1:0".to_owned();
        settings.workers = Some(2);
        settings.db_pool_size = 8;
        // Opening the pool makes its connections within this time; on a
        // machine busy with builds, PostgreSQL's 5 s default was too short
        // for a test's start (tests of the fail-fast checkout set their own).
        settings.db_connection_timeout_ms = 30_000;
        // Webhook tests deliver to a receiver of their own on 127.0.0.1 over
        // http, and want a retry within a second.
        settings.webhooks_allow_private = true;
        settings.webhooks_allow_http = true;
        settings.webhook_retry_base_secs = 1;
        // Backups are made by the tests that want them (the schedule's
        // rounds are driven by hand: kluis_app::backups::run_schedule).
        settings.backup_interval_secs = 0;
        adjust(&mut settings);
        let app = Application::build(&settings).expect("app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state();
        actix_web::rt::spawn(app.run_until_stopped());
        let operator = read_credentials(&data_dir.path().join("operator-client.json"));
        Some(TestApp {
            address,
            backend,
            // Idle connections are dropped well before the server's 5 s
            // keep-alive ends them, so a request never races a closing
            // connection (a POST on one fails with IncompleteMessage).
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_idle_timeout(std::time::Duration::from_secs(1))
                .build()
                .unwrap(),
            state,
            settings,
            operator,
            _data_dir: data_dir,
            _pg: pg,
        })
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A pooled connection to the app's database.
    pub fn conn(&self) -> kluis_store::db::PooledDb {
        self.state.pool.get().expect("connection")
    }

    /// The raw token response for a client-credentials request (form body).
    pub async fn request_token(&self, creds: &Credentials, scope: Option<&str>) -> reqwest::Response {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.client_secret.as_str()),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.client.post(self.url("/v1/oauth/token")).form(&form).send().await.unwrap()
    }

    /// An access token for `creds`; panics unless it is issued.
    pub async fn token(&self, creds: &Credentials) -> String {
        let response = self.request_token(creds, None).await;
        assert_eq!(response.status(), StatusCode::OK, "token request failed");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// An operator access token.
    pub async fn operator_token(&self) -> String {
        self.token(&self.operator.clone()).await
    }

    /// GET with a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    /// POST JSON with a bearer token.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(token).json(body).send().await.unwrap()
    }

    /// PATCH JSON with a bearer token.
    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client.patch(self.url(path)).bearer_auth(token).json(body).send().await.unwrap()
    }

    /// DELETE with a bearer token.
    pub async fn delete(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.delete(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    /// Create a tenant through the API with a unique slug; returns it with an admin token.
    pub async fn new_tenant(&self) -> Tenant {
        let operator = self.operator_token().await;
        let random = uuid::Uuid::now_v7().simple().to_string();
        let slug = format!("t-{}", &random[random.len() - 16..]);
        let response = self.post("/v1/tenants", &operator, &json!({"name": "Test tenant", "slug": slug})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        let admin = Credentials {
            client_id: body["admin_client"]["client_id"].as_str().unwrap().to_owned(),
            client_secret: body["admin_client"]["client_secret"].as_str().unwrap().to_owned(),
        };
        let token = self.token(&admin).await;
        Tenant { id: body["id"].as_str().unwrap().to_owned(), slug, admin, token }
    }

    /// Create a client in `tenant` with `scopes`; returns its credentials.
    pub async fn new_client(&self, tenant: &Tenant, scopes: &[&str]) -> Credentials {
        let response = self.post("/v1/clients", &tenant.token, &json!({"name": "test client", "scopes": scopes})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        Credentials {
            client_id: body["client_id"].as_str().unwrap().to_owned(),
            client_secret: body["client_secret"].as_str().unwrap().to_owned(),
        }
    }
}

impl TestApp {
    /// Where this app writes its mail.
    pub fn mail_dir(&self) -> std::path::PathBuf {
        self.settings.data_dir.join("mail")
    }

    /// Every mail delivered to `to` so far, oldest first (`.eml` texts).
    pub fn mails_to(&self, to: &str) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.mail_dir()) else { return Vec::new() };
        let mut mails: Vec<(std::time::SystemTime, String)> = dir
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .filter_map(|e| {
                let text = quoted_printable_body(&std::fs::read_to_string(e.path()).ok()?);
                let modified = e.metadata().ok()?.modified().ok()?;
                Some((modified, text))
            })
            .filter(|(_, text)| text.lines().any(|l| l.starts_with("To:") && l.contains(to)))
            .collect();
        mails.sort_by_key(|(at, _)| *at);
        mails.into_iter().map(|(_, text)| text).collect()
    }

    /// Wait (up to 10 s) until `to` has received `count` mails; the newest one's code.
    pub async fn mailed_code(&self, to: &str, count: usize) -> String {
        let started = std::time::Instant::now();
        loop {
            let mails = self.mails_to(to);
            if mails.len() >= count {
                let mail = &mails[count - 1];
                let code = mail.lines().find_map(|l| l.trim().strip_prefix("Code: ")).expect("a code in the mail");
                return code.trim().to_owned();
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "no mail #{count} to {to}");
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// A mail with its quoted-printable soft line breaks and escapes undone, as
/// a mail client shows it (long lines such as links are wrapped in transit).
fn quoted_printable_body(mail: &str) -> String {
    let unfolded = mail.replace("=\r\n", "").replace("=\n", "");
    let mut out = String::with_capacity(unfolded.len());
    let mut rest = unfolded.as_str();
    while let Some(at) = rest.find('=') {
        out.push_str(&rest[..at]);
        let hex = rest.get(at + 1..at + 3).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) if byte.is_ascii() => {
                out.push(byte as char);
                rest = &rest[at + 3..];
            }
            _ => {
                out.push('=');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The interpreter of `.venv-ci` (tests/schemathesis/requirements.txt),
/// checked to import `module`. Under CI it must exist (.ci/run makes it);
/// elsewhere it is made on first use.
pub fn venv_python(module: &str) -> std::path::PathBuf {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv-ci/bin/python");
    let has_module = || {
        std::process::Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has_module() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but .venv-ci lacks {module}: .ci/run makes it with tests/schemathesis/venv.sh"
        );
        let status =
            std::process::Command::new("bash").args(["-c", ". tests/schemathesis/venv.sh"]).current_dir(&root).status();
        assert!(status.is_ok_and(|s| s.success()) && has_module(), "could not make .venv-ci with {module}");
    }
    python
}

/// Read a `{"client_id","client_secret"}` file.
pub fn read_credentials(path: &Path) -> Credentials {
    let value: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("credentials file")).unwrap();
    Credentials {
        client_id: value["client_id"].as_str().unwrap().to_owned(),
        client_secret: value["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// The claims of a JWT, decoded without verification (to inspect what was issued).
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

/// The header of a JWT.
pub fn header_of(token: &str) -> Value {
    let header = token.split('.').next().expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON header")
}

/// Assert an RFC 9457 problem with `status` and `code`; returns the body.
pub async fn assert_problem(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "problem code in {body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string());
    body
}
