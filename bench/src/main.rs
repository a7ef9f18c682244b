//! `kluis-bench`: what `make bench` runs. Starts a real `kluis` per backend
//! (SQLite, PostgreSQL), seeds a tenant over HTTP, drives each scenario with
//! `wrk` (64 connections, warm-up then a measured window), measures pgbench
//! and argon2 baselines on the same machine, and writes
//! `bench/results/latest.json` plus a table. Exits 1 when any measured
//! request failed. See `bench/README.md`.

mod bulk;
mod seed;
mod server;
mod wrk;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::{Database, PG_HOST, PG_PORT, PG_USER, Server};
use crate::wrk::{Measured, lua_list, lua_str, lua_table};

pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

const SCENARIOS: [&str; 11] = [
    "empty",
    "consent_check",
    "consent_check_batch",
    "person_read",
    "person_create",
    "consent_grant",
    "consent_grant_10_tenants",
    "login",
    "mixed",
    "check_during_login_storm",
    "check_during_sweep",
];

/// The scenarios whose p99 at 1M persons is held against the kept 10k run.
const SCALE_SCENARIOS: [&str; 2] = ["consent_check", "person_read"];

#[derive(Debug)]
struct Config {
    quick: bool,
    people: usize,
    accounts: usize,
    warmup: Duration,
    window: Duration,
    kluis: PathBuf,
    results: PathBuf,
    /// `BENCH_BACKENDS` / `BENCH_SCENARIOS` (comma-separated): run only
    /// these, to profile one thing; the report has `null` for the rest.
    backends: Vec<String>,
    scenarios: Vec<String>,
    /// `BENCH_SWEEP_ROWS`: stale devices a retention sweep removes while
    /// `check_during_sweep` measures (full: 1,000,000; quick: 2,000).
    sweep_rows: u64,
    /// `BENCH_EXPORT=0` skips the tenant export after the scenarios.
    export: bool,
}

fn list_env(name: &str, all: &[&str]) -> Res<Vec<String>> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => {
            let chosen: Vec<String> = v.split(',').map(|s| s.trim().to_owned()).collect();
            if let Some(unknown) = chosen.iter().find(|c| !all.contains(&c.as_str())) {
                return Err(format!("{name}: unknown `{unknown}` (one of {})", all.join(", ")).into());
            }
            Ok(chosen)
        }
        _ => Ok(all.iter().map(|s| (*s).to_owned()).collect()),
    }
}

impl Config {
    fn from_env() -> Res<Config> {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let people = match std::env::var("BENCH_PEOPLE") {
            Ok(v) if !v.is_empty() => v.parse().map_err(|e| format!("BENCH_PEOPLE: {e}"))?,
            _ if quick => 200,
            _ => 10_000,
        };
        if people == 0 {
            return Err("BENCH_PEOPLE must be at least 1".into());
        }
        let sweep_rows = match std::env::var("BENCH_SWEEP_ROWS") {
            Ok(v) if !v.is_empty() => v.parse().map_err(|e| format!("BENCH_SWEEP_ROWS: {e}"))?,
            _ if quick => 2_000,
            _ => 1_000_000,
        };
        let exe = std::env::current_exe()?;
        let kluis = exe.parent().ok_or("no directory for kluis-bench")?.join("kluis");
        let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
        Ok(Config {
            quick,
            people,
            // Enough accounts that 64 concurrent sign-ins do not pile 10 onto one
            // (the per-account throttle counts attempts in flight; it answered 429).
            accounts: people.min(if quick { 100 } else { 200 }),
            warmup: Duration::from_secs(if quick { 1 } else { 10 }),
            window: Duration::from_secs(if quick { 2 } else { 30 }),
            kluis,
            results,
            backends: list_env("BENCH_BACKENDS", &["sqlite", "postgres"])?,
            scenarios: list_env("BENCH_SCENARIOS", &SCENARIOS)?,
            sweep_rows,
            export: std::env::var("BENCH_EXPORT").map_or(true, |v| v != "0"),
        })
    }
}

/// One scenario's figures.
#[derive(Debug, Clone)]
struct Figures {
    measured: Measured,
    peak_rss_mib: f64,
    /// What ran beside the measured requests (the sweep), as reported.
    beside: Option<Value>,
}

impl Figures {
    fn json(&self) -> Value {
        let round = |x: f64, places: i32| (x * 10f64.powi(places)).round() / 10f64.powi(places);
        let mut figures = json!({
            "rps": round(self.measured.rps, 1),
            "p50_ms": round(self.measured.p50_ms, 3),
            "p99_ms": round(self.measured.p99_ms, 3),
            "p999_ms": round(self.measured.p999_ms, 3),
            "errors": self.measured.errors,
            "peak_rss_mib": round(self.peak_rss_mib, 1),
        });
        if let Some(beside) = &self.beside {
            figures["beside"] = beside.clone();
        }
        figures
    }
}

/// The tenants `consent_grant_10_tenants` spreads its grants over: the
/// seeded one and [`SPREAD_TENANTS`] - 1 more, like TPC-B's 10 branches.
const SPREAD_TENANTS: usize = 10;

/// The Lua of `consent_grant_10_tenants`: a grant to a random person of a
/// random one of the tenants, with that tenant's token (`tokens[0]` is the
/// seeded tenant's, the rest are `seeded.others`' in order).
fn spread_script(dir: &Path, seeded: &seed::Seeded, tokens: &[String]) -> Res<String> {
    let auths: Vec<String> = tokens.iter().map(|t| format!("Bearer {t}")).collect();
    let mut lists = vec![lua_list(dir, "spread_ids_0", &seeded.person_ids)?];
    for (i, other) in seeded.others.iter().enumerate() {
        lists.push(lua_list(dir, &format!("spread_ids_{}", i + 1), &other.person_ids)?);
    }
    Ok(format!(
        r#"
local spread_auth = {auths}
local spread_ids = {{{lists}}}
function request()
  local t = math.random(#spread_auth)
  local list = spread_ids[t]
  return wrk.format("POST", "/v1/people/" .. list[math.random(#list)] .. "/consents",
    {{["Authorization"] = spread_auth[t], ["Content-Type"] = "application/json"}},
    '{{"purpose":"marketing_email","action":"grant","source":"web"}}')
end
"#,
        auths = lua_table(&auths),
        lists = lists.join(", "),
    ))
}

/// The Lua body of each scenario's script.
fn script(dir: &Path, name: &str, token: &str, seeded: &seed::Seeded, spread: &[String]) -> Res<String> {
    let auth = lua_str(&format!("Bearer {token}"));
    let ids = lua_list(dir, "ids", &seeded.person_ids)?;
    let emails = lua_list(dir, "emails", &seeded.account_emails)?;
    let slug = lua_str(&seeded.tenant_slug);
    let password = lua_str(seed::PASSWORD);
    let purposes = lua_table(&seed::PURPOSES.map(str::to_owned));
    let head = format!(
        r#"
local auth = {auth}
local ids = {ids}
local emails = {emails}
local slug = {slug}
local password = {password}
local purposes = {purposes}
local read_headers = {{["Authorization"] = auth}}
local write_headers = {{["Authorization"] = auth, ["Content-Type"] = "application/json"}}
local function pick() return ids[math.random(#ids)] end
local function check() return wrk.format("GET", "/v1/consents/check?person_id=" .. pick() .. "&purpose=marketing_email", read_headers) end
local function read() return wrk.format("GET", "/v1/people/" .. pick(), read_headers) end
local function grant()
  return wrk.format("POST", "/v1/people/" .. pick() .. "/consents", write_headers,
    '{{"purpose":"marketing_email","action":"grant","source":"web"}}')
end
local function login()
  local body = '{{"tenant":"' .. slug .. '","identifier":"' .. emails[math.random(#emails)] .. '","password":"' .. password .. '"}}'
  return wrk.format("POST", "/v1/auth/login", {{["Content-Type"] = "application/json"}}, body)
end
"#
    );
    let body = match name {
        "empty" => r#"function request() return wrk.format("GET", "/health/live") end"#,
        "consent_check" | "check_during_login_storm" | "check_during_sweep" => "function request() return check() end",
        "consent_check_batch" => {
            r#"
local bodies = {}
function prepare()
  for b = 1, 64 do
    local items = {}
    for i = 1, 100 do
      items[i] = '{"person_id":"' .. pick() .. '","purpose":"' .. purposes[math.random(#purposes)] .. '"}'
    end
    bodies[b] = '{"checks":[' .. table.concat(items, ",") .. ']}'
  end
end
function request() return wrk.format("POST", "/v1/consents/check", write_headers, bodies[math.random(#bodies)]) end
"#
        }
        "person_read" => "function request() return read() end",
        "person_create" => {
            r#"
function request()
  counter = counter + 1
  local tag = phase .. (tid or 0) .. "n" .. counter .. "." .. slug
  local body = '{"first_name":"New","last_name":"Person","emails":[{"address":"c' .. tag .. '@bench.example","label":"private"},'
    .. '{"address":"c' .. tag .. '@work.bench.example","label":"work"}],'
    .. '"phones":[{"number":"+31612345678","label":"home"}],'
    .. '"addresses":[{"street":"Dorpsstraat","house_number":"12","postal_code":"1234 AB","city":"Utrecht","country":"NL","label":"private"}]}'
  return wrk.format("POST", "/v1/people", write_headers, body)
end
"#
        }
        "consent_grant" => "function request() return grant() end",
        "consent_grant_10_tenants" => return Ok(format!("{head}\n{}", spread_script(dir, seeded, spread)?)),
        "login" => "function request() return login() end",
        "mixed" => {
            r#"
function request()
  local r = math.random(100)
  if r <= 40 then return check() elseif r <= 80 then return read() else return grant() end
end
"#
        }
        _ => "",
    };
    Ok(format!("{head}\n{body}"))
}

/// Warm up, then measure one scenario (two wrk at once for the storm).
fn run_scenario(
    config: &Config,
    server: &Server,
    dir: &Path,
    name: &str,
    token: &str,
    seeded: &seed::Seeded,
    spread: &[String],
) -> Res<(Figures, Option<Measured>)> {
    let url = server.base.clone();
    let main = wrk::write_script(dir, name, &script(dir, name, token, seeded, spread)?)?;
    let storm = if name == "check_during_login_storm" {
        Some(wrk::write_script(dir, "login_storm", &script(dir, "login", token, seeded, spread)?)?)
    } else {
        None
    };
    if name == "check_during_sweep" {
        println!("   adding {} stale devices for the sweep", config.sweep_rows);
        crate::bulk::stale_devices(&server.database_url, &seeded.tenant_id, config.sweep_rows)?;
    }
    let mut outcome = None;
    for (phase, duration) in [("w", config.warmup), ("m", config.window)] {
        if phase == "m" {
            server.reset_peak_rss();
        }
        // The sweep starts half a second before the measured window (warm-up
        // runs without one) and is waited for after it.
        let sweep = if name == "check_during_sweep" && phase == "m" {
            let sweep = sweep_in_background(&url, token);
            std::thread::sleep(Duration::from_millis(500));
            Some(sweep)
        } else {
            None
        };
        // The storm gets a one-second head start so that it saturates first.
        let background = match &storm {
            Some(path) => {
                let child = wrk::spawn(path, &url, duration + Duration::from_secs(2), phase)?;
                std::thread::sleep(Duration::from_secs(1));
                Some(child)
            }
            None => None,
        };
        let mut measured = wrk::finish(wrk::spawn(&main, &url, duration, phase)?)?;
        let background = background.map(wrk::finish).transpose()?;
        let beside = match sweep {
            Some(sweep) => {
                let swept = sweep.join().map_err(|_| "the sweep thread panicked")??;
                if !swept.ok {
                    measured.errors += 1;
                }
                // It started half a second before the window.
                let share = ((swept.seconds - 0.5).max(0.0) / duration.as_secs_f64()).min(1.0);
                println!(
                    "   the sweep: {} rows in {:.1} s ({}); it ran during {:.0} % of the {} s window",
                    swept.rows,
                    swept.seconds,
                    swept.status,
                    share * 100.0,
                    duration.as_secs()
                );
                Some(json!({"sweep": {
                    "rows": swept.rows,
                    "seconds": (swept.seconds * 10.0).round() / 10.0,
                    "status": swept.status,
                    "share_of_window": (share * 100.0).round() / 100.0,
                }}))
            }
            None => None,
        };
        if phase == "w" {
            let errors = measured.errors + background.as_ref().map_or(0, |b| b.errors);
            if errors > 0 {
                eprintln!("bench: {name}: {errors} errors during warm-up; kluis logged:\n{}", server.log_tail(20));
            }
            continue;
        }
        outcome = Some((Figures { measured, peak_rss_mib: server.peak_rss_mib()?, beside }, background));
    }
    outcome.ok_or_else(|| "no measured window".into())
}

/// What `POST /v1/retention/sweeps` answered, and how long it took.
struct Swept {
    ok: bool,
    status: u16,
    rows: u64,
    seconds: f64,
}

/// Run one sweep of the tenant over HTTP on a thread of its own (the
/// request lasts as long as the sweep).
fn sweep_in_background(base: &str, token: &str) -> std::thread::JoinHandle<Result<Swept, String>> {
    let (url, token) = (format!("{base}/v1/retention/sweeps"), token.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async {
            let http =
                reqwest::Client::builder().timeout(Duration::from_secs(3600)).build().map_err(|e| e.to_string())?;
            let started = Instant::now();
            let response = http.post(&url).bearer_auth(&token).send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let seconds = started.elapsed().as_secs_f64();
            if !status.is_success() {
                eprintln!("bench: the sweep answered {status}: {body}");
            }
            Ok(Swept {
                ok: status.is_success(),
                status: status.as_u16(),
                rows: body["total"].as_u64().unwrap_or(0),
                seconds,
            })
        })
    })
}

/// What one backend's run measured.
struct BackendRun {
    scenarios: BTreeMap<String, Figures>,
    /// The seeded tenant's whole export (`POST /v1/exports`), once the
    /// scenarios are done.
    export: Option<Value>,
}

/// Export the seeded tenant over HTTP, as an operator would, and download
/// the archive: its time, size and rows, and kluis's peak RSS meanwhile
/// (the archive is written and streamed in chunks, never whole in memory).
/// The token is renewed while it waits: a large tenant's export outlasts one.
async fn tenant_export(server: &Server, admin: &mut seed::Credentials) -> Res<Value> {
    // A client of its own: the scenarios' pooled connections may have been
    // closed by kluis's keep-alive timeout while the last one ran.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
    server.reset_peak_rss();
    let rss_before = server.rss_mib()?;
    let started = Instant::now();
    let token = admin.token(&http, &server.base).await?;
    let response = http.post(format!("{}/v1/exports", server.base)).bearer_auth(&token).json(&json!({})).send().await?;
    if response.status() != reqwest::StatusCode::ACCEPTED {
        return Err(format!("POST /v1/exports answered {}: {}", response.status(), response.text().await?).into());
    }
    let job: Value = response.json().await?;
    let id = job["id"].as_str().ok_or("no export id")?.to_owned();
    let job = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let token = admin.token(&http, &server.base).await?;
        let job: Value =
            http.get(format!("{}/v1/exports/{id}", server.base)).bearer_auth(&token).send().await?.json().await?;
        match job["state"].as_str() {
            Some("running") => continue,
            Some("done") => break job,
            _ => return Err(format!("the export did not finish: {job}").into()),
        }
    };
    let written = started.elapsed().as_secs_f64();
    let token = admin.token(&http, &server.base).await?;
    let mut download = http.get(format!("{}/v1/exports/{id}/download", server.base)).bearer_auth(&token).send().await?;
    if !download.status().is_success() {
        return Err(format!("the download answered {}", download.status()).into());
    }
    let mut bytes = 0u64;
    while let Some(chunk) = download.chunk().await? {
        bytes += chunk.len() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    let round = |x: f64| (x * 10.0).round() / 10.0;
    Ok(json!({
        "rows": job["rows_total"],
        "tables": job["tables_total"],
        "bytes": bytes,
        "written_s": round(written),
        "with_download_s": round(seconds),
        "rows_per_s": (job["rows_total"].as_f64().unwrap_or(0.0) / written.max(0.001)).round(),
        "peak_rss_mib": round(server.peak_rss_mib()?),
        "rss_before_mib": round(rss_before),
    }))
}

/// Seed and run every scenario on one backend.
fn run_backend(config: &Config, backend: &str, rt: &tokio::runtime::Runtime) -> Res<BackendRun> {
    let database = if backend == "postgres" { Some(Database::create("kluis_bench")?) } else { None };
    println!("== {backend}: starting kluis");
    let mut server = Server::start(&config.kluis, database)?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    println!("== {backend}: seeding {} persons ({} with an account)", config.people, config.accounts);
    let started = Instant::now();
    let mut seeded = rt.block_on(seed::seed(&http, &server, config.people, config.accounts))?;
    if config.scenarios.iter().any(|n| n == "consent_grant_10_tenants") {
        let each = (config.people / SPREAD_TENANTS).max(100);
        println!("== {backend}: seeding {} more tenants of {each} persons", SPREAD_TENANTS - 1);
        for _ in 1..SPREAD_TENANTS {
            let other = rt.block_on(seed::seed(&http, &server, each, 0))?;
            seeded.others.push(other);
        }
    }
    println!("== {backend}: seeded in {:.1} s", started.elapsed().as_secs_f64());
    let dir = tempfile::Builder::new().prefix("kluis-bench-lua-").tempdir()?;
    let mut results = BTreeMap::new();
    for name in SCENARIOS.into_iter().filter(|n| config.scenarios.iter().any(|c| c == n)) {
        // A fresh token per scenario: it lives 15 minutes, a scenario less than one.
        let token = rt.block_on(seeded.admin.token(&http, &server.base))?;
        let mut spread = Vec::new();
        if name == "consent_grant_10_tenants" {
            spread.push(token.clone());
            for other in &mut seeded.others {
                spread.push(rt.block_on(other.admin.token(&http, &server.base))?);
            }
        }
        let (figures, storm) = run_scenario(config, &server, dir.path(), name, &token, &seeded, &spread)?;
        let m = &figures.measured;
        println!(
            "   {backend:<8} {name:<26} {:>9.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  p99.9 {:>7.2} ms  errors {}  peak RSS {:.1} MiB",
            m.rps, m.p50_ms, m.p99_ms, m.p999_ms, m.errors, figures.peak_rss_mib
        );
        let mut figures = figures;
        if let Some(storm) = storm {
            println!(
                "   {backend:<8} {:<26} {:>9.1} req/s  p99 {:>7.2} ms  errors {} (the storm beside it)",
                "  login storm", storm.rps, storm.p99_ms, storm.errors
            );
            figures.measured.errors += storm.errors;
        }
        if figures.measured.errors > 0 {
            eprintln!(
                "bench: {backend} {name}: {} failed requests; kluis logged:\n{}",
                figures.measured.errors,
                server.log_tail(20)
            );
        }
        if !server.alive() {
            return Err(format!("kluis ({backend}) died during {name}").into());
        }
        results.insert(name.to_owned(), figures);
    }
    let export = if config.export {
        println!("== {backend}: exporting the tenant");
        let export = rt.block_on(tenant_export(&server, &mut seeded.admin))?;
        println!(
            "   {backend:<8} {:<26} {} rows, {} bytes, written in {} s ({} with the download), RSS {} MiB before, peak {} MiB",
            "tenant_export",
            export["rows"],
            export["bytes"],
            export["written_s"],
            export["with_download_s"],
            export["rss_before_mib"],
            export["peak_rss_mib"]
        );
        Some(export)
    } else {
        None
    };
    Ok(BackendRun { scenarios: results, export })
}

/// `tps = 1234.56 (without initial connection time)`
fn pgbench_tps(output: &str) -> Option<f64> {
    output.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("tps = ")?;
        if !rest.contains("without initial connection time") {
            return None;
        }
        rest.split_whitespace().next()?.parse().ok()
    })
}

fn pgbench(args: &[&str], db: &str) -> Res<String> {
    let output = Command::new("pgbench")
        .args(["-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER])
        .args(args)
        .arg(db)
        .output()
        .map_err(|e| format!("cannot run pgbench: {e}"))?;
    if !output.status.success() {
        return Err(format!("pgbench {args:?}: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// pgbench -S and TPC-B-like, scale 10, 8 clients, over the measured window.
fn pgbench_baselines(config: &Config) -> Res<(f64, f64)> {
    let database = Database::create("kluis_bench_pgbench")?;
    println!("== baseline: pgbench -i -s 10");
    pgbench(&["-i", "-s", "10", "-q"], &database.name)?;
    let secs = config.window.as_secs().to_string();
    let select = pgbench_run(&["-S", "-c", "8", "-j", "2", "-T", &secs], &database.name)?;
    println!("   pgbench -S            {select:>9.1} tps");
    let tpcb = pgbench_run(&["-c", "8", "-j", "2", "-T", &secs], &database.name)?;
    println!("   pgbench (TPC-B-like)  {tpcb:>9.1} tps");
    Ok((select, tpcb))
}

/// One pgbench measurement; a run that printed no tps (seen once on a
/// machine under heavy load) is tried once more before it fails the bench.
fn pgbench_run(args: &[&str], db: &str) -> Res<f64> {
    let mut last = String::new();
    for _ in 0..2 {
        last = pgbench(args, db)?;
        if let Some(tps) = pgbench_tps(&last) {
            return Ok(tps);
        }
        eprintln!("bench: pgbench {args:?} printed no tps, once more");
    }
    Err(format!("pgbench {args:?} printed no tps:\n{last}").into())
}

/// Mean time of one argon2id hash with kluis's parameters, in ms.
fn argon2_ms(config: &Config) -> Res<f64> {
    let rounds = if config.quick { 3 } else { 10 };
    kluis_people::accounts::password::hash("warm up the allocator")?;
    let started = Instant::now();
    for i in 0..rounds {
        kluis_people::accounts::password::hash(&format!("bench password {i}"))?;
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds))
}

fn machine() -> Value {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| l.strip_prefix("MemTotal:")).and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .map(|kib: f64| (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|k| k.trim().to_owned()).ok();
    json!({"cores": cores, "memory_gib": memory_gib, "kernel": kernel})
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Value {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => json!((a / b * 1000.0).round() / 1000.0),
        _ => Value::Null,
    }
}

fn target(value: &Value, op: &str, limit: f64) -> Value {
    let met = value.as_f64().map(|v| if op == ">=" { v >= limit } else { v < limit || (op == "<=" && v <= limit) });
    json!({"value": value, "target": format!("{op} {limit}"), "met": met})
}

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("bench: FAILED: some requests failed (errors > 0); see the table");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(1);
        }
    }
}

fn run() -> Res<bool> {
    let config = Config::from_env()?;
    if !config.kluis.exists() {
        return Err(format!("{} is missing: build it first (make bench does)", config.kluis.display()).into());
    }
    std::fs::create_dir_all(&config.results)?;
    let machine = machine();
    let cores = machine["cores"].as_f64().unwrap_or(1.0);
    println!(
        "kluis-bench: {} run, {} persons, warm-up {} s, window {} s, 64 connections",
        if config.quick { "quick" } else { "full" },
        config.people,
        config.warmup.as_secs(),
        config.window.as_secs()
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let hash_ms = argon2_ms(&config)?;
    let argon2_limit = cores * 1000.0 / hash_ms;
    println!("== baseline: argon2id hash {hash_ms:.1} ms, limit {argon2_limit:.1} logins/s on {cores} cores");
    let (pgbench_s, pgbench_tpcb) = if config.backends.iter().any(|b| b == "postgres") {
        let (s, tpcb) = pgbench_baselines(&config)?;
        (Some(s), Some(tpcb))
    } else {
        (None, None)
    };

    let mut scenarios = BTreeMap::new();
    let mut exports = serde_json::Map::new();
    for backend in ["sqlite", "postgres"] {
        if config.backends.iter().any(|b| b == backend) {
            let run = run_backend(&config, backend, &rt)?;
            scenarios.insert(backend, run.scenarios);
            if let Some(export) = run.export {
                exports.insert(backend.to_owned(), export);
            }
        }
    }

    let get = |backend: &str, name: &str| scenarios.get(backend).and_then(|s| s.get(name));
    let rps = |backend: &str, name: &str| get(backend, name).map(|f| f.measured.rps);
    let p99 = |backend: &str, name: &str| get(backend, name).map(|f| f.measured.p99_ms);

    // The scale figure: this run's consent-check and person-read p99 at
    // >= 1M persons against a kept full run at 10k, per backend run; the
    // ratio is the worst of them.
    let ten_k = config.results.join("people-10000.json");
    let base: Option<Value> = std::fs::read_to_string(&ten_k).ok().and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let mut scale_detail = serde_json::Map::new();
    if config.people >= 1_000_000 {
        for backend in ["sqlite", "postgres"] {
            let mut per_scenario = serde_json::Map::new();
            for name in SCALE_SCENARIOS {
                let at_10k = base.as_ref().and_then(|b| b["scenarios"][backend][name]["p99_ms"].as_f64());
                if let (Some(at_10k), Some(at_1m)) = (at_10k, p99(backend, name)) {
                    per_scenario.insert(
                        name.to_owned(),
                        json!({"p99_10k_ms": at_10k, "p99_1M_ms": at_1m, "ratio": ratio(Some(at_1m), Some(at_10k))}),
                    );
                }
            }
            if !per_scenario.is_empty() {
                scale_detail.insert(backend.to_owned(), Value::Object(per_scenario));
            }
        }
    }
    let scale = scale_detail
        .values()
        .filter_map(Value::as_object)
        .flat_map(|per_scenario| per_scenario.values())
        .filter_map(|d| d["ratio"].as_f64())
        .fold(None, |worst: Option<f64>, r| Some(worst.map_or(r, |w| w.max(r))));
    let scale = scale.map_or(Value::Null, |r| json!(r));
    let ratios = json!({
        "consent_check/empty": ratio(rps("sqlite", "consent_check"), rps("sqlite", "empty")),
        "consent_check/pgbench_S": ratio(rps("postgres", "consent_check"), pgbench_s),
        "person_read/pgbench_S": ratio(rps("postgres", "person_read"), pgbench_s),
        "login/argon2_limit": ratio(rps("sqlite", "login"), Some(argon2_limit)),
        "consent_grant/pgbench_tpcb": ratio(rps("postgres", "consent_grant"), pgbench_tpcb),
        "consent_grant_10_tenants/pgbench_tpcb": ratio(rps("postgres", "consent_grant_10_tenants"), pgbench_tpcb),
        "p99_1M/p99_10k": scale,
    });
    let max_rss = |backend: &str| {
        scenarios
            .get(backend)
            .map(|s| s.values().map(|f| f.peak_rss_mib).fold(0.0, f64::max))
            .map(|m| json!((m * 10.0).round() / 10.0))
    };
    let num = |x: Option<f64>| x.map_or(Value::Null, |x| json!((x * 1000.0).round() / 1000.0));
    let targets = json!({
        "sqlite consent_check/empty >= 0.6": target(&ratios["consent_check/empty"], ">=", 0.6),
        "sqlite person_read/empty >= 0.6": target(&ratio(rps("sqlite", "person_read"), rps("sqlite", "empty")), ">=", 0.6),
        "postgres consent_check/pgbench_S >= 0.5": target(&ratios["consent_check/pgbench_S"], ">=", 0.5),
        "postgres person_read/pgbench_S >= 0.5": target(&ratios["person_read/pgbench_S"], ">=", 0.5),
        "sqlite consent_check p99 < 10 ms": target(&num(p99("sqlite", "consent_check")), "<", 10.0),
        "sqlite person_read p99 < 10 ms": target(&num(p99("sqlite", "person_read")), "<", 10.0),
        "postgres consent_check p99 < 10 ms": target(&num(p99("postgres", "consent_check")), "<", 10.0),
        "postgres person_read p99 < 10 ms": target(&num(p99("postgres", "person_read")), "<", 10.0),
        "sqlite login/argon2_limit >= 0.9": target(&ratios["login/argon2_limit"], ">=", 0.9),
        "postgres login/argon2_limit >= 0.9": target(&ratio(rps("postgres", "login"), Some(argon2_limit)), ">=", 0.9),
        "sqlite check_during_sweep p99 < 20 ms": target(&num(p99("sqlite", "check_during_sweep")), "<", 20.0),
        "postgres check_during_sweep p99 < 20 ms": target(&num(p99("postgres", "check_during_sweep")), "<", 20.0),
        "sqlite check_during_login_storm p99 < 20 ms": target(&num(p99("sqlite", "check_during_login_storm")), "<", 20.0),
        "postgres check_during_login_storm p99 < 20 ms": target(&num(p99("postgres", "check_during_login_storm")), "<", 20.0),
        "postgres consent_grant_10_tenants/pgbench_tpcb >= 0.5": target(&ratios["consent_grant_10_tenants/pgbench_tpcb"], ">=", 0.5),
        "postgres consent_grant/pgbench_tpcb (one tenant) >= 0.25": target(&ratios["consent_grant/pgbench_tpcb"], ">=", 0.25),
        "sqlite consent_grant errors at 64 writers < 1": target(&get("sqlite", "consent_grant").map_or(Value::Null, |f| json!(f.measured.errors)), "<", 1.0),
        "p99_1M/p99_10k <= 1.5": target(&ratios["p99_1M/p99_10k"], "<=", 1.5),
        "sqlite peak RSS < 64 MiB": target(&max_rss("sqlite").unwrap_or(Value::Null), "<", 64.0),
        "postgres peak RSS < 64 MiB": target(&max_rss("postgres").unwrap_or(Value::Null), "<", 64.0),
    });
    let mut scenarios_json = serde_json::Map::new();
    for (backend, figures) in &scenarios {
        let entries: serde_json::Map<String, Value> = figures.iter().map(|(n, f)| (n.clone(), f.json())).collect();
        scenarios_json.insert((*backend).to_owned(), Value::Object(entries));
    }
    let date = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?;
    let report = json!({
        "date": date,
        "machine": machine,
        "quick": config.quick,
        "people": config.people,
        "scenarios": scenarios_json,
        "baselines": {
            "pgbench_S_tps": pgbench_s.map(|x| (x * 10.0).round() / 10.0),
            "pgbench_tpcb_tps": pgbench_tpcb.map(|x| (x * 10.0).round() / 10.0),
            "argon2_hash_ms": (hash_ms * 100.0).round() / 100.0,
            "argon2_limit_per_s": (argon2_limit * 10.0).round() / 10.0,
        },
        "ratios": ratios,
        "scale": scale_detail,
        "exports": exports,
        "targets": targets,
    });
    let text = serde_json::to_string_pretty(&report)?;
    let latest = config.results.join("latest.json");
    std::fs::write(&latest, format!("{text}\n"))?;
    // A full run at 10k keeps its figures per backend, for a later run at 1M.
    if !config.quick && config.people == 10_000 {
        let mut kept = base.filter(|b| b["scenarios"].is_object()).unwrap_or_else(|| json!({"scenarios": {}}));
        let mut changed = false;
        for (backend, figures) in &scenarios {
            if SCALE_SCENARIOS.iter().all(|name| figures.contains_key(*name)) {
                kept["scenarios"][*backend] = report["scenarios"][*backend].clone();
                kept["dates"][*backend] = json!(date);
                kept["baselines"][*backend] = report["baselines"].clone();
                changed = true;
            }
        }
        if changed {
            std::fs::write(&ten_k, format!("{}\n", serde_json::to_string_pretty(&kept)?))?;
        }
    }

    print_table(&report);
    let markdown = config.results.join("latest.md");
    std::fs::write(&markdown, markdown_report(&report))?;
    println!("\nwritten: {} and {}", latest.display(), markdown.display());
    let errors: u64 = scenarios.values().flat_map(|s| s.values()).map(|f| f.measured.errors).sum();
    Ok(errors == 0)
}

/// The report as the Markdown tables `bench/README.md` shows.
fn markdown_report(report: &Value) -> String {
    let mut md = format!(
        "Date {}; machine: {} cores, {} GiB, kernel {}; {} persons; {} run.\n\n",
        report["date"].as_str().unwrap_or("?"),
        report["machine"]["cores"],
        report["machine"]["memory_gib"],
        report["machine"]["kernel"].as_str().unwrap_or("?"),
        report["people"],
        if report["quick"].as_bool() == Some(true) { "quick" } else { "full" },
    );
    md.push_str("| backend | scenario | req/s | p50 ms | p99 ms | p99.9 ms | errors | peak RSS MiB |\n");
    md.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for backend in ["sqlite", "postgres"] {
        for name in SCENARIOS {
            let f = &report["scenarios"][backend][name];
            if f.is_null() {
                continue;
            }
            md.push_str(&format!(
                "| {backend} | `{name}` | {} | {} | {} | {} | {} | {} |\n",
                f["rps"], f["p50_ms"], f["p99_ms"], f["p999_ms"], f["errors"], f["peak_rss_mib"]
            ));
        }
    }
    let b = &report["baselines"];
    md.push_str(&format!(
        "\nBaselines: `pgbench -S` {} TPS, TPC-B-like pgbench {} TPS (scale 10, 8 clients), \
         argon2id hash {} ms, so the login limit is {} logins/s.\n",
        b["pgbench_S_tps"], b["pgbench_tpcb_tps"], b["argon2_hash_ms"], b["argon2_limit_per_s"]
    ));
    if let Some(exports) = report["exports"].as_object().filter(|e| !e.is_empty()) {
        md.push_str(
            "\n| backend | tenant export rows | archive bytes | written s | with download s | RSS before MiB | peak RSS MiB |\n",
        );
        md.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
        for (backend, e) in exports {
            md.push_str(&format!(
                "| {backend} | {} | {} | {} | {} | {} | {} |\n",
                e["rows"], e["bytes"], e["written_s"], e["with_download_s"], e["rss_before_mib"], e["peak_rss_mib"]
            ));
        }
    }
    if let Some(scale) = report["scale"].as_object().filter(|s| !s.is_empty()) {
        md.push_str(
            "\n| backend | scenario | p99 ms at 10k | p99 ms at 1M | p99 1M / 10k |\n|---|---|---:|---:|---:|\n",
        );
        for (backend, per_scenario) in scale {
            for (name, d) in per_scenario.as_object().into_iter().flatten() {
                md.push_str(&format!(
                    "| {backend} | `{name}` | {} | {} | {} |\n",
                    d["p99_10k_ms"], d["p99_1M_ms"], d["ratio"]
                ));
            }
        }
    }
    md.push_str("\n| ratio | value |\n|---|---:|\n");
    if let Some(ratios) = report["ratios"].as_object() {
        for (k, v) in ratios {
            md.push_str(&format!("| `{k}` | {v} |\n"));
        }
    }
    md.push_str("\n| target | value | where it stands |\n|---|---:|---|\n");
    if let Some(targets) = report["targets"].as_object() {
        for (k, v) in targets {
            let met = match v["met"].as_bool() {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "not measured",
            };
            md.push_str(&format!("| {k} | {} | {met} |\n", v["value"]));
        }
    }
    md
}

fn print_table(report: &Value) {
    println!(
        "\n{:<9} {:<26} {:>10} {:>9} {:>9} {:>9} {:>7} {:>9}",
        "backend", "scenario", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "RSS MiB"
    );
    for backend in ["sqlite", "postgres"] {
        for name in SCENARIOS {
            let f = &report["scenarios"][backend][name];
            if f.is_null() {
                continue;
            }
            let n = |k: &str| f[k].as_f64().unwrap_or(f64::NAN);
            println!(
                "{backend:<9} {name:<26} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>9.1}",
                n("rps"),
                n("p50_ms"),
                n("p99_ms"),
                n("p999_ms"),
                f["errors"],
                n("peak_rss_mib")
            );
        }
    }
    println!("\nbaselines: {}", report["baselines"]);
    if let Some(exports) = report["exports"].as_object().filter(|e| !e.is_empty()) {
        println!("\ntenant export:");
        for (backend, e) in exports {
            println!("  {backend:<9} {e}");
        }
    }
    println!("\nratios:");
    if let Some(ratios) = report["ratios"].as_object() {
        for (k, v) in ratios {
            println!("  {k:<28} {v}");
        }
    }
    println!("\ntargets:");
    if let Some(targets) = report["targets"].as_object() {
        for (k, v) in targets {
            let met = match v["met"].as_bool() {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "n/a",
            };
            println!("  {met:<6} {k:<48} value {}", v["value"]);
        }
    }
}
