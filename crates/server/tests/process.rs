//! The real `kluis` binary as a newcomer runs it: `make run` on a fresh
//! machine (no configuration), the files it writes, `kill -9` right after an
//! acknowledged write, graceful stop, and the CLI commands.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failure should panic")]

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_kluis");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `kluis` command in `dir` with no KLUIS_* variables but the given ones.
fn kluis(dir: &Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("KLUIS_") {
            command.env_remove(key);
        }
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(dir: &Path, port: u16) -> Server {
        let child = kluis(dir, &[("KLUIS_BIND", format!("127.0.0.1:{port}"))])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server { child, base: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        let client = reqwest::blocking::Client::new();
        loop {
            if let Ok(response) = client.get(format!("{}/health/ready", server.base)).send()
                && response.status().is_success()
            {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "kluis did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn operator_token(base: &str, creds: &Value) -> String {
    let response = reqwest::blocking::Client::new()
        .post(format!("{base}/v1/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds["client_id"].as_str().unwrap()),
            ("client_secret", creds["client_secret"].as_str().unwrap()),
        ])
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().unwrap()["access_token"].as_str().unwrap().to_owned()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_fresh_start_serves_on_sqlite_with_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut server = Server::start(dir.path(), free_port());
    assert!(started.elapsed() < Duration::from_secs(10), "serves within seconds");

    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("operator-client.json")), 0o600);
    assert_eq!(mode(&data.join("master.key")), 0o600);
    assert_eq!(mode(&data.join("kluis.db")), 0o600);
    let creds = read_json(&data.join("operator-client.json"));
    assert!(creds["client_secret"].as_str().unwrap().starts_with("ksec_"));
    operator_token(&server.base, &creds);

    // SIGTERM: a graceful stop, exit code 0.
    let status = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            assert!(exit.success(), "graceful stop exits 0, got {exit}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(35), "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }

    // A second start reuses everything and writes no new operator.
    let server = Server::start(dir.path(), free_port());
    assert_eq!(read_json(&data.join("operator-client.json")), creds);
    operator_token(&server.base, &creds);
}

#[test]
fn kill_9_right_after_a_201_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Server::start(dir.path(), port);
    let creds = read_json(&dir.path().join("data/operator-client.json"));
    let token = operator_token(&server.base, &creds);
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/tenants", server.base))
        .bearer_auth(&token)
        .json(&json!({"name": "Durable", "slug": "durable"}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    server.child.kill().unwrap(); // SIGKILL: no shutdown code runs
    server.child.wait().unwrap();
    let tenant: Value = response.json().unwrap();

    let server = Server::start(dir.path(), port);
    let token = operator_token(&server.base, &creds);
    let response = reqwest::blocking::Client::new()
        .get(format!("{}/v1/tenants/{}", server.base, tenant["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().unwrap()["slug"], "durable");
}

fn run(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    kluis(dir, env).args(args).output().unwrap()
}

#[test]
fn cli_commands() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(dir.path(), &["--help"], &[]);
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    for name in [
        "KLUIS_CONFIG",
        "KLUIS_DATA_DIR",
        "KLUIS_DATABASE_URL",
        "KLUIS_BIND",
        "KLUIS_MASTER_KEY",
        "KLUIS_CORS_ORIGINS",
        "KLUIS_LOG",
        "KLUIS_LOG_FORMAT",
        "KLUIS_SMTP_URL",
        "KLUIS_MAIL_DIR",
    ] {
        assert!(help.contains(name), "--help lists {name}");
    }
    for command in ["serve", "migrate", "openapi", "operator", "keys"] {
        assert!(help.contains(command), "--help lists {command}");
    }
    for sub in [&["operator", "--help"][..], &["keys", "--help"], &["migrate", "--help"]] {
        assert!(run(dir.path(), sub, &[]).status.success());
    }

    let bare = run(dir.path(), &["migrate"], &[("KLUIS_DATABASE_URL", "data/kluis.db".into())]);
    assert!(!bare.status.success(), "a bare path is refused");
    assert!(String::from_utf8_lossy(&bare.stderr).contains("no scheme"));
    assert!(!dir.path().join("data/kluis.db").exists(), "and nothing was created");

    assert!(run(dir.path(), &["migrate"], &[]).status.success());

    let spec = run(dir.path(), &["openapi"], &[]);
    let spec: Value = serde_json::from_slice(&spec.stdout).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));

    let created = run(dir.path(), &["operator", "create-client", "--name", "second operator"], &[]);
    assert!(created.status.success());
    let second: Value = serde_json::from_slice(&created.stdout).unwrap();
    assert!(second["client_id"].is_string() && second["client_secret"].is_string());

    let port = free_port();
    let server = Server::start(dir.path(), port);
    operator_token(&server.base, &second);
    let jwks = |base: &str| -> Vec<String> {
        let body: Value = reqwest::blocking::get(format!("{base}/.well-known/jwks.json")).unwrap().json().unwrap();
        body["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
    };
    let before = jwks(&server.base);
    let rotated = run(dir.path(), &["keys", "rotate"], &[]);
    assert!(rotated.status.success());
    let kid = serde_json::from_slice::<Value>(&rotated.stdout).unwrap()["kid"].as_str().unwrap().to_owned();
    let after = jwks(&server.base);
    assert_eq!(after, vec![kid, before[0].clone()], "the running server publishes the new key and keeps the old");
}

#[test]
fn audit_cli_verifies_and_exports_and_exits_1_when_broken() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), free_port());
    let creds = read_json(&dir.path().join("data/operator-client.json"));
    let token = operator_token(&server.base, &creds);
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/tenants", server.base))
        .bearer_auth(&token)
        .json(&json!({"name": "Audited", "slug": "audited"}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    drop(server);

    let verified = run(dir.path(), &["audit", "verify", "--tenant", "audited"], &[]);
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    let result: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(result["ok"], true);
    // tenant.create, the admin client's client.create, the 7 default
    // purposes and the 4 default retention policies, made in the same
    // transaction.
    assert_eq!(result["checked"], 13, "tenant.create, client.create, 7 purpose.create, 4 retention_policy.create");

    let exported = run(dir.path(), &["audit", "export", "--tenant", "audited"], &[]);
    assert!(exported.status.success());
    let lines: Vec<Value> =
        String::from_utf8(exported.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 13);
    assert_eq!(lines[0]["seq"], 1);
    assert_eq!(lines[0]["action"], "tenant.create");
    assert_eq!(lines[1]["prev_hash"], lines[0]["hash"]);

    // Tamper with the file directly, as an attacker with disk access would.
    let url = format!("sqlite://{}", dir.path().join("data/kluis.db").display());
    let pool = kluis_store::build_pool(&url, kluis_store::PoolOptions::default()).unwrap();
    let mut conn = pool.get().unwrap();
    use diesel::RunQueryDsl;
    diesel::sql_query("UPDATE audit_events SET action = 'tenant.read' WHERE seq = 2").execute(&mut *conn).unwrap();
    let broken = run(dir.path(), &["audit", "verify", "--tenant", "audited"], &[]);
    assert_eq!(broken.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&broken.stdout).unwrap();
    assert_eq!(result["first_broken_seq"], 2);

    let unknown = run(dir.path(), &["audit", "verify", "--tenant", "nobody"], &[]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no tenant"));
}

/// Start kluis with debug logs captured to a file.
fn start_logging(dir: &Path, port: u16, log: &Path) -> Server {
    let file = std::fs::File::create(log).unwrap();
    let child = kluis(dir, &[("KLUIS_BIND", format!("127.0.0.1:{port}")), ("KLUIS_LOG", "debug".into())])
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .unwrap();
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let client = reqwest::blocking::Client::new();
    let started = Instant::now();
    while !client.get(format!("{}/health/ready", server.base)).send().is_ok_and(|r| r.status().is_success()) {
        assert!(started.elapsed() < Duration::from_secs(20), "kluis did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn mailed_code(mail_dir: &Path, count: usize) -> String {
    let started = Instant::now();
    loop {
        let mut mails: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(mail_dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        Some((e.metadata().ok()?.modified().ok()?, std::fs::read_to_string(e.path()).ok()?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        mails.sort_by_key(|(at, _)| *at);
        if mails.len() >= count {
            return mails[count - 1].1.lines().find_map(|l| l.trim().strip_prefix("Code: ")).unwrap().trim().to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no mail #{count}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn no_log_line_holds_a_password_hash_token_or_secret() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("kluis.log");
    let port = free_port();
    let server = start_logging(dir.path(), port, &log);
    let http = reqwest::blocking::Client::new();
    let creds = read_json(&dir.path().join("data/operator-client.json"));
    let operator = operator_token(&server.base, &creds);
    let tenant: Value = http
        .post(format!("{}/v1/tenants", server.base))
        .bearer_auth(&operator)
        .json(&json!({"name": "Logged", "slug": "logged"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let admin_secret = tenant["admin_client"]["client_secret"].as_str().unwrap().to_owned();
    let admin = operator_token(&server.base, &tenant["admin_client"]);
    let person: Value = http
        .post(format!("{}/v1/people", server.base))
        .bearer_auth(&admin)
        .json(&json!({"first_name": "Lotte", "emails": [{"address": "lotte@example.nl", "label": "private"}]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let person_id = person["id"].as_str().unwrap();
    let password = "a very secret password 9";
    let response = http
        .post(format!("{}/v1/people/{person_id}/account", server.base))
        .bearer_auth(&admin)
        .json(&json!({"password": password}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    let mail_dir = dir.path().join("data/mail");
    let verification = mailed_code(&mail_dir, 1);
    let login = |pw: &str| {
        http.post(format!("{}/v1/auth/login", server.base))
            .json(&json!({"tenant": "logged", "identifier": "lotte@example.nl", "password": pw}))
            .send()
            .unwrap()
    };
    let session: Value = login(password).json().unwrap();
    let refresh = session["refresh_token"].as_str().unwrap().to_owned();
    let access = session["access_token"].as_str().unwrap().to_owned();
    let wrong = "wrong secret password 7";
    assert_eq!(login(wrong).status(), 401);
    let rotated: Value = http
        .post(format!("{}/v1/oauth/token", server.base))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())])
        .send()
        .unwrap()
        .json()
        .unwrap();
    http.post(format!("{}/v1/auth/password-reset", server.base))
        .json(&json!({"tenant": "logged", "email": "lotte@example.nl"}))
        .send()
        .unwrap();
    let reset = mailed_code(&mail_dir, 2);
    let new_password = "another secret password 8";
    let confirmed = http
        .post(format!("{}/v1/auth/password-reset/confirm", server.base))
        .json(&json!({"token": reset, "new_password": new_password}))
        .send()
        .unwrap();
    assert_eq!(confirmed.status(), 204);
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("served"), "the log has request lines");
    for secret in [
        password,
        wrong,
        new_password,
        "$argon2",
        &verification,
        &reset,
        &refresh,
        &access,
        rotated["refresh_token"].as_str().unwrap(),
        &admin_secret,
        creds["client_secret"].as_str().unwrap(),
        &operator,
        "lotte@example.nl",
        "Lotte",
    ] {
        assert!(!text.contains(secret), "a log line holds `{secret}`");
    }
    // The listen address is logged at start; a client's address never is.
    let bind = format!("127.0.0.1:{port}");
    assert!(!text.replace(&bind, "").contains("127.0.0.1"), "a log line holds a client IP");
}
