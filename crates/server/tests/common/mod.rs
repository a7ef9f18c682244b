//! What the fault tests share: the real `kluis` binary started with given
//! settings, tenants and tokens over HTTP, a write load of many concurrent
//! writers that records every answer, the read-back of every acknowledged
//! write, and PostgreSQL databases and clusters that clean up after
//! themselves.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    dead_code,
    reason = "tests: a failure should panic; each test target uses a part"
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_kluis");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn http() -> reqwest::blocking::Client {
    // A hang is a failure: no answer may take this long.
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).pool_max_idle_per_host(128).build().unwrap()
}

/// A running `kluis serve` in `dir`, its stderr in a log file there.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

static STARTS: AtomicUsize = AtomicUsize::new(0);

impl Server {
    /// Start kluis in `dir` with no KLUIS_* variables but `env` (and a free
    /// port); wait until `/health/ready` answers 200.
    pub fn start(dir: &Path, env: &[(&str, String)]) -> Server {
        let port = free_port();
        let log = dir.join(format!("kluis-{}.log", STARTS.fetch_add(1, Ordering::Relaxed)));
        let mut command = Command::new(BIN);
        command.current_dir(dir);
        for (key, _) in std::env::vars() {
            if key.starts_with("KLUIS_") {
                command.env_remove(key);
            }
        }
        command.env("KLUIS_BIND", format!("127.0.0.1:{port}")).env("KLUIS_LOG", "warn");
        for (key, value) in env {
            command.env(key, value);
        }
        let child =
            command.stdout(Stdio::null()).stderr(std::fs::File::create(&log).unwrap()).spawn().expect("start kluis");
        let mut server = Server { child, base: format!("http://127.0.0.1:{port}"), log };
        let started = Instant::now();
        let client = http();
        loop {
            if client.get(format!("{}/health/ready", server.base)).send().is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            if let Some(exit) = server.child.try_wait().unwrap() {
                panic!("kluis exited with {exit}:\n{}", std::fs::read_to_string(&server.log).unwrap_or_default());
            }
            assert!(started.elapsed() < Duration::from_secs(30), "kluis did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            // What kluis said about the failure: its errors, then its last lines.
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).take(20).collect();
            let lines: Vec<&str> = log.lines().collect();
            let last = &lines[lines.len().saturating_sub(10)..];
            eprintln!("--- {}: errors\n{}\n--- last lines\n{}", self.log.display(), errors.join("\n"), last.join("\n"));
        }
    }
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A client-credentials token for `{client_id, client_secret}`.
pub fn token(base: &str, creds: &Value) -> String {
    let response = http()
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

/// A tenant, its admin client's credentials and a token of that client.
#[derive(Clone)]
pub struct Tenant {
    pub slug: String,
    pub admin: Value,
    pub token: String,
}

impl Tenant {
    /// Create tenants `slug-0..n` with the operator client in `data_dir`.
    pub fn create(base: &str, data_dir: &Path, slug: &str, n: usize) -> Vec<Tenant> {
        let operator = token(base, &read_json(&data_dir.join("operator-client.json")));
        (0..n)
            .map(|i| {
                let slug = format!("{slug}-{i}");
                let response = http()
                    .post(format!("{base}/v1/tenants"))
                    .bearer_auth(&operator)
                    .json(&json!({"name": format!("Tenant {slug}"), "slug": slug}))
                    .send()
                    .unwrap();
                assert_eq!(response.status(), 201);
                let admin = response.json::<Value>().unwrap()["admin_client"].clone();
                Tenant { token: token(base, &admin), slug, admin }
            })
            .collect()
    }

    /// A fresh token (after a restart).
    pub fn refresh(&mut self, base: &str) {
        self.token = token(base, &self.admin);
    }
}

/// What a write was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// `POST /v1/people`.
    Person,
    /// `POST /v1/people/{id}/consents`.
    Consent,
}

/// One answered (or unanswered) write.
#[derive(Clone, Debug)]
pub struct Answer {
    pub write: Write,
    pub tenant: usize,
    /// `None`: no HTTP answer (connection refused or reset).
    pub status: Option<u16>,
    pub sent: Instant,
    pub took: Duration,
    pub retry_after: Option<String>,
    pub code: Option<String>,
    /// The id of what a 201 created.
    pub id: Option<String>,
    /// The person a consent was recorded for.
    pub person: Option<String>,
}

impl Answer {
    pub fn acknowledged(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

fn send(request: reqwest::blocking::RequestBuilder, write: Write, tenant: usize, person: Option<String>) -> Answer {
    let sent = Instant::now();
    let result = request.send();
    let took = sent.elapsed();
    match result {
        Err(_) => Answer { write, tenant, status: None, sent, took, retry_after: None, code: None, id: None, person },
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap_or_default().to_owned());
            let body: Value = response.json().unwrap_or(Value::Null);
            let took = sent.elapsed();
            let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
            let (code, id) = if (200..300).contains(&status) { (None, text("id")) } else { (text("code"), None) };
            Answer { write, tenant, status: Some(status), sent, took, retry_after, code, id, person }
        }
    }
}

/// `writers` threads writing people and consents to `tenants` (round robin)
/// until `stop` is set, counting acknowledged writes in `acked`; every
/// answer, in no particular order.
pub fn write_load(
    base: &str,
    tenants: &[Tenant],
    writers: usize,
    stop: &AtomicBool,
    acked: &AtomicUsize,
) -> Vec<Answer> {
    let answers = Mutex::new(Vec::new());
    let client = http();
    std::thread::scope(|scope| {
        for writer in 0..writers {
            let (client, answers) = (&client, &answers);
            scope.spawn(move || {
                let t = writer % tenants.len();
                let tenant = &tenants[t];
                let mut mine = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let request = client
                        .post(format!("{base}/v1/people"))
                        .bearer_auth(&tenant.token)
                        .json(&json!({"first_name": format!("Writer{writer}"), "last_name": format!("Nr{n}")}));
                    let person = send(request, Write::Person, t, None);
                    acked.fetch_add(usize::from(person.acknowledged()), Ordering::Relaxed);
                    let created = person.id.clone();
                    let failed = person.status.is_none();
                    mine.push(person);
                    if let Some(id) = created {
                        let request = client
                            .post(format!("{base}/v1/people/{id}/consents"))
                            .bearer_auth(&tenant.token)
                            .json(&json!({"purpose": "marketing_email", "action": "grant", "source": "web"}));
                        let consent = send(request, Write::Consent, t, Some(id));
                        acked.fetch_add(usize::from(consent.acknowledged()), Ordering::Relaxed);
                        mine.push(consent);
                    }
                    if failed {
                        // The server is down: do not spin.
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                answers.lock().unwrap().extend(mine);
            });
        }
    });
    answers.into_inner().unwrap()
}

/// Wait until `acked` reaches `at_least`, and `least` has passed; panics
/// after `most`.
pub fn load_for(acked: &AtomicUsize, at_least: usize, least: Duration, most: Duration) {
    let started = Instant::now();
    while started.elapsed() < least || acked.load(Ordering::Relaxed) < at_least {
        assert!(started.elapsed() < most, "only {} writes acknowledged in {most:?}", acked.load(Ordering::Relaxed));
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every acknowledged write reads back over HTTP, and every tenant's audit
/// chain verifies and holds at least one entry per acknowledged write.
pub fn assert_acknowledged_writes_are_there(base: &str, tenants: &[Tenant], answers: &[Answer]) {
    let acked: Vec<&Answer> = answers.iter().filter(|a| a.acknowledged()).collect();
    for (t, tenant) in tenants.iter().enumerate() {
        let response = http().get(format!("{base}/v1/audit/verify")).bearer_auth(&tenant.token).send().unwrap();
        assert_eq!(response.status(), 200);
        let result: Value = response.json().unwrap();
        assert_eq!(result["ok"], true, "tenant {} audit chain: {result}", tenant.slug);
        let writes = acked.iter().filter(|a| a.tenant == t).count();
        let checked = result["checked"].as_u64().unwrap();
        assert!(checked >= writes as u64, "tenant {}: {checked} audit entries for {writes} writes", tenant.slug);
    }
    // Each person once, with the consents recorded for them.
    let mut people: std::collections::BTreeMap<&str, (usize, Vec<&str>)> = std::collections::BTreeMap::new();
    for answer in &acked {
        match answer.write {
            Write::Person => {
                people.entry(answer.id.as_deref().unwrap()).or_default().0 = answer.tenant;
            }
            Write::Consent => {
                let entry = people.entry(answer.person.as_deref().unwrap()).or_default();
                entry.1.push(answer.id.as_deref().unwrap());
            }
        }
    }
    let people: Vec<_> = people.into_iter().collect();
    let client = http();
    std::thread::scope(|scope| {
        for chunk in people.chunks(people.len().div_ceil(8).max(1)) {
            let client = &client;
            scope.spawn(move || {
                for (person, (t, consents)) in chunk {
                    let token = &tenants[*t].token;
                    let response = client.get(format!("{base}/v1/people/{person}")).bearer_auth(token).send().unwrap();
                    assert_eq!(response.status(), 200, "acknowledged person {person} is gone");
                    if consents.is_empty() {
                        continue;
                    }
                    let history: Value = client
                        .get(format!("{base}/v1/people/{person}/consents/history?limit=200"))
                        .bearer_auth(token)
                        .send()
                        .unwrap()
                        .json()
                        .unwrap();
                    let stored: Vec<&str> =
                        history["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
                    for consent in consents {
                        assert!(stored.contains(consent), "acknowledged consent {consent} of {person} is gone");
                    }
                }
            });
        }
    });
}

/// No answer was a 500 (or any 5xx but 503), and every 503 is the
/// `unavailable` problem with a `Retry-After` of 1 to 5 seconds.
pub fn assert_only_503_with_retry_after(answers: &[Answer]) {
    for answer in answers {
        let Some(status) = answer.status else { continue };
        assert!(status < 500 || status == 503, "a write was answered {status}: {answer:?}");
        assert!(status < 400 || status == 503, "a write was refused {status}: {answer:?}");
        if status == 503 {
            assert_eq!(answer.code.as_deref(), Some("unavailable"), "{answer:?}");
            let secs: u64 = answer.retry_after.as_deref().and_then(|s| s.parse().ok()).expect("Retry-After");
            assert!((1..=5).contains(&secs), "{answer:?}");
        }
    }
}

pub fn require_postgres() -> bool {
    std::env::var("KLUIS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// A database on the shared test server (`KLUIS_TEST_DATABASE_URL`), dropped
/// at the end; `None` when no server answers and none is required.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> Option<PgDatabase> {
        let url = std::env::var("KLUIS_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let admin_url =
            if url.contains('?') { format!("{url}&sslmode=disable") } else { format!("{url}?sslmode=disable") };
        let mut conn = match PgConnection::establish(&admin_url) {
            Ok(conn) => conn,
            Err(e) => {
                assert!(!require_postgres(), "KLUIS_REQUIRE_POSTGRES=1 but PostgreSQL does not answer: {e}");
                eprintln!("\n!!!! SKIPPING the PostgreSQL half: no server at {admin_url} ({e}) !!!!\n");
                return None;
            }
        };
        let name = format!("kluis_chaos_{}_{}", std::process::id(), free_port());
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).unwrap();
        let (path, query) = admin_url.split_once('?').unwrap();
        let (host, _) = path.rsplit_once('/').unwrap();
        Some(PgDatabase { url: format!("{host}/{name}?{query}"), admin_url, name })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)).execute(&mut conn);
        }
    }
}

/// A private PostgreSQL cluster in a temporary directory, on a port of its
/// own, to be stopped and started at will (the shared server stays up for
/// the other tests). Run as the `postgres` user when the test runs as root
/// (PostgreSQL refuses root). Stopped and removed on drop, panics included.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    pub port: u16,
}

fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|b| b.join("initdb").exists()).collect())
        .unwrap_or_default();
    versions.sort_by_key(|p| {
        p.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok())
    });
    versions.pop().or_else(|| {
        let found = Command::new("pg_config").arg("--bindir").output().ok().filter(|o| o.status.success())?;
        let bin = PathBuf::from(String::from_utf8_lossy(&found.stdout).trim());
        bin.join("initdb").exists().then_some(bin)
    })
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `(uid, gid)` of the `postgres` user, from /etc/passwd.
fn postgres_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd.lines().find(|l| l.starts_with("postgres:")).expect("a postgres user");
    let fields: Vec<&str> = line.split(':').collect();
    (fields[2].parse().unwrap(), fields[3].parse().unwrap())
}

impl PgCluster {
    /// initdb and start; `None` when PostgreSQL is not installed and not required.
    pub fn start() -> Option<PgCluster> {
        let Some(bin) = postgres_bin() else {
            assert!(!require_postgres(), "KLUIS_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries (initdb)");
            eprintln!("\n!!!! SKIPPING: no PostgreSQL server binaries (initdb) !!!!\n");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = running_as_root();
        if as_postgres {
            let (uid, gid) = postgres_ids();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let cluster = PgCluster { dir, bin, as_postgres, port: free_port() };
        let data = cluster.data();
        let out = cluster
            .run("initdb", &["-D", &data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"]);
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        cluster.start_again();
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let tool = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&tool);
            c
        } else {
            Command::new(&tool)
        };
        command.args(args).current_dir(self.dir.path()).stdin(Stdio::null()).output().unwrap()
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable", self.port)
    }

    /// Start (again) and wait until it accepts connections.
    pub fn start_again(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.path().display());
        let log = self.dir.path().join("postgres.log").display().to_string();
        let out = self.run("pg_ctl", &["-D", &self.data(), "-l", &log, "-o", &options, "-w", "-t", "60", "start"]);
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stop at once, as a crash would: no checkpoint, connections cut.
    pub fn stop_immediately(&self) {
        let out = self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
        assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }
}

/// A webhook receiver on a free local port, one thread per connection:
/// records each request's `webhook-id`, then answers 204, or, while
/// `holding`, answers nothing and keeps the connection open (a delivery in
/// flight).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    /// The `webhook-id` of every request, in order of arrival.
    pub got: std::sync::Arc<Mutex<Vec<String>>>,
    pub holding: std::sync::Arc<AtomicBool>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let receiver = Receiver {
            url: format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port()),
            got: Default::default(),
            holding: Default::default(),
        };
        let shared = receiver.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || shared.serve(stream));
            }
        });
        receiver
    }

    fn serve(&self, mut stream: std::net::TcpStream) {
        use std::io::{BufRead, BufReader, Read, Write as _};
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        loop {
            let (mut id, mut length) = (String::new(), 0usize);
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let header = line.trim_end();
                if header.is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    match name.trim().to_ascii_lowercase().as_str() {
                        "webhook-id" => id = value.trim().to_owned(),
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            self.got.lock().unwrap().push(id);
            if self.holding.load(Ordering::SeqCst) {
                // Never answer: the sender is killed meanwhile.
                std::thread::sleep(Duration::from_secs(120));
                return;
            }
            if stream.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n").is_err() {
                return;
            }
        }
    }

    /// How many requests carried `id`.
    pub fn count(&self, id: &str) -> usize {
        self.got.lock().unwrap().iter().filter(|g| *g == id).count()
    }

    /// Wait until `done` holds of what arrived; panics after `most`.
    pub fn wait_for(&self, most: Duration, what: &str, done: impl Fn(&[String]) -> bool) {
        let started = Instant::now();
        while !done(&self.got.lock().unwrap()) {
            assert!(started.elapsed() < most, "receiver: {what} not within {most:?}: {:?}", self.got.lock().unwrap());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
