//! Faults under write load, against the real `kluis` binary: `kill -9` in
//! the middle of 64 concurrent writers on SQLite and on PostgreSQL, a
//! PostgreSQL restart under the same load, and kill -9 between a change's
//! commit and its webhook delivery (the outbox). Nothing acknowledged may be
//! lost, the database must check out whole, every tenant's audit chain must
//! verify, during an outage every answer is a quick 503 with `Retry-After`,
//! and every event is delivered after a restart. These take some three
//! minutes: they run in `make chaos`, not in `make test` (this target has
//! `test = false`).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failure should panic")]

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Answer, PgCluster, PgDatabase, Server, Tenant, Write, http};
use diesel::{QueryableByName, RunQueryDsl};
use kluis_store::Db;

const WRITERS: usize = 64;
const TENANTS: usize = 4;
/// How long the writers run before the kill (or an outage) at least, and
/// how many writes they must have had acknowledged by then (a busy machine
/// takes longer).
const LOAD: Duration = Duration::from_secs(2);
const LOAD_ACKED: usize = 2 * WRITERS;
const LOAD_MOST: Duration = Duration::from_secs(60);

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

fn acknowledged(answers: &[Answer], write: Write) -> usize {
    answers.iter().filter(|a| a.write == write && a.acknowledged()).count()
}

/// Every table reads back in full (PostgreSQL: each row of each table; SQLite:
/// `PRAGMA integrity_check` first), and holds at least the acknowledged
/// people and consents.
fn assert_database_whole(url: &str, answers: &[Answer]) {
    let mut conn = Db::open(url).unwrap();
    let tables = match conn {
        Db::Sqlite(_) => {
            let check: Vec<Name> = diesel::sql_query("SELECT integrity_check AS name FROM pragma_integrity_check()")
                .load(&mut conn)
                .unwrap();
            let check: Vec<&str> = check.iter().map(|row| row.name.as_str()).collect();
            assert_eq!(check, ["ok"], "PRAGMA integrity_check");
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        }
        Db::Pg(_) => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        }
    };
    let tables: Vec<Name> = diesel::sql_query(tables).load(&mut conn).unwrap();
    assert!(tables.iter().any(|t| t.name == "people"));
    for table in &tables {
        // Reading every column of every row: a torn page fails here.
        let sql = format!("SELECT COUNT(*) AS n FROM (SELECT * FROM \"{}\") AS every_row", table.name);
        let count: Count = diesel::sql_query(sql).get_result(&mut conn).unwrap();
        let expected = match table.name.as_str() {
            "people" => acknowledged(answers, Write::Person),
            "consent_events" => acknowledged(answers, Write::Consent),
            _ => 0,
        };
        assert!(count.n >= expected as i64, "{}: {} rows, {expected} acknowledged", table.name, count.n);
    }
}

/// Start kluis, write with 64 writers, `kill -9` it after [`LOAD`], check
/// the database as the crash left it, restart it on the same database and
/// read back every acknowledged write.
fn kill_9_under_write_load(dir: &Path, database_url: &str, env: &[(&str, String)]) {
    let mut server = Server::start(dir, env);
    let mut tenants = Tenant::create(&server.base, &dir.join("data"), "chaos", TENANTS);
    let (stop, acked) = (AtomicBool::new(false), AtomicUsize::new(0));
    let base = server.base.clone();
    let started = Instant::now();
    let (answers, loaded) = std::thread::scope(|scope| {
        let load = scope.spawn(|| common::write_load(&base, &tenants, WRITERS, &stop, &acked));
        common::load_for(&acked, LOAD_ACKED, LOAD, LOAD_MOST);
        server.kill_9();
        let loaded = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        (load.join().unwrap(), loaded)
    });
    let acked = answers.iter().filter(|a| a.acknowledged()).count();
    let unanswered = answers.iter().filter(|a| a.status.is_none()).count();
    println!(
        "{database_url}: {acked} writes acknowledged ({} people, {} consents) in {:?} before kill -9; \
         {} answered otherwise, {unanswered} cut off",
        acknowledged(&answers, Write::Person),
        acknowledged(&answers, Write::Consent),
        loaded,
        answers.len() - acked - unanswered,
    );
    common::assert_only_503_with_retry_after(&answers);

    assert_database_whole(database_url, &answers);
    let server = Server::start(dir, env);
    for tenant in &mut tenants {
        tenant.refresh(&server.base);
    }
    common::assert_acknowledged_writes_are_there(&server.base, &tenants, &answers);
}

#[test]
fn kill_9_under_write_load_loses_no_acknowledged_write_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("data/kluis.db").display());
    kill_9_under_write_load(dir.path(), &url, &[]);
}

#[test]
fn kill_9_under_write_load_loses_no_acknowledged_write_on_postgres() {
    let Some(database) = PgDatabase::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    kill_9_under_write_load(dir.path(), &database.url, &[("KLUIS_DATABASE_URL", database.url.clone())]);
}

/// `/health/ready` every 100 ms until `stop`: when it was asked, what it answered.
fn probe_ready(base: &str, stop: &AtomicBool) -> Vec<(Instant, Option<u16>)> {
    let client = http();
    let mut probes = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        let status = client.get(format!("{base}/health/ready")).send().ok().map(|r| r.status().as_u16());
        probes.push((sent, status));
        std::thread::sleep(Duration::from_millis(100));
    }
    probes
}

fn percentile(mut values: Vec<Duration>, p: usize) -> Duration {
    values.sort();
    values.get((values.len() * p / 100).min(values.len().saturating_sub(1))).copied().unwrap_or_default()
}

#[test]
fn postgres_restart_under_load_answers_503_quickly_and_recovers_by_itself() {
    const CONNECTION_TIMEOUT_MS: u64 = 2000;
    const OUTAGE: Duration = Duration::from_secs(3);
    const AFTER: Duration = Duration::from_secs(8);
    let Some(cluster) = PgCluster::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let env =
        [("KLUIS_DATABASE_URL", cluster.url()), ("KLUIS_DB_CONNECTION_TIMEOUT_MS", CONNECTION_TIMEOUT_MS.to_string())];
    let server = Server::start(dir.path(), &env);
    let tenants = Tenant::create(&server.base, &dir.path().join("data"), "outage", TENANTS);
    let (stop, acked) = (AtomicBool::new(false), AtomicUsize::new(0));
    let (answers, probes, down, up) = std::thread::scope(|scope| {
        let load = scope.spawn(|| common::write_load(&server.base, &tenants, WRITERS, &stop, &acked));
        let probe = scope.spawn(|| probe_ready(&server.base, &stop));
        common::load_for(&acked, LOAD_ACKED, LOAD, LOAD_MOST);
        let down = Instant::now();
        cluster.stop_immediately();
        std::thread::sleep(OUTAGE);
        cluster.start_again();
        let up = Instant::now();
        std::thread::sleep(AFTER);
        stop.store(true, Ordering::Relaxed);
        (load.join().unwrap(), probe.join().unwrap(), down, up)
    });

    // kluis never stopped answering, never with a 500, and every refusal was
    // a 503 with Retry-After, answered within the connection timeout.
    assert!(answers.iter().all(|a| a.status.is_some()), "every request got an answer");
    common::assert_only_503_with_retry_after(&answers);
    let refused: Vec<&Answer> = answers.iter().filter(|a| a.status == Some(503)).collect();
    let in_outage = refused.iter().filter(|a| a.sent > down && a.sent < up).count();
    assert!(in_outage > 0, "requests during the outage were answered 503");
    let slowest = refused.iter().map(|a| a.took).max().unwrap();
    assert!(slowest < Duration::from_millis(CONNECTION_TIMEOUT_MS), "a 503 took {slowest:?}");

    // Ready said so, both ways.
    assert!(probes.iter().any(|(at, s)| *at > down && *at < up && *s == Some(503)), "ready reported the outage");
    let ready_again = probes.iter().find(|(at, s)| *at > up && *s == Some(200)).map(|(at, _)| *at - up);
    assert!(ready_again.is_some(), "ready answered 200 again within {AFTER:?}");
    assert!(probes.last().unwrap().1 == Some(200), "and stayed ready");

    // Writes went on by themselves: the first write sent after the return
    // that was acknowledged, and how long after the return it completed.
    let recovered = answers.iter().filter(|a| a.sent > up && a.acknowledged()).map(|a| a.sent + a.took - up).min();
    let recovered = recovered.expect("writes were acknowledged again within seconds of PostgreSQL's return");
    let outage_latency: Vec<Duration> =
        refused.iter().filter(|a| a.sent > down && a.sent < up).map(|a| a.took).collect();
    println!(
        "postgres restart: {} writes acknowledged, {} answered 503 ({in_outage} during the {OUTAGE:?} outage: \
         latency p50 {:?}, p99 {:?}, max {:?}); ready again {:?} and writes again {recovered:?} after the return",
        answers.iter().filter(|a| a.acknowledged()).count(),
        refused.len(),
        percentile(outage_latency.clone(), 50),
        percentile(outage_latency.clone(), 99),
        outage_latency.iter().max().unwrap(),
        ready_again.unwrap(),
    );

    assert_database_whole(&cluster.url(), &answers);
    common::assert_acknowledged_writes_are_there(&server.base, &tenants, &answers);
}

/// The webhook deliveries of `hook`, by event id: (status, attempts).
fn deliveries(base: &str, token: &str, hook: &str) -> std::collections::BTreeMap<String, (String, u64)> {
    let body: serde_json::Value = http()
        .get(format!("{base}/v1/webhooks/{hook}/deliveries?limit=100"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let status = d["status"].as_str().unwrap().to_owned();
            (d["event_id"].as_str().unwrap().to_owned(), (status, d["attempts"].as_u64().unwrap()))
        })
        .collect()
}

fn new_person(base: &str, token: &str, n: usize) {
    let response = http()
        .post(format!("{base}/v1/people"))
        .bearer_auth(token)
        .json(&serde_json::json!({"first_name": "Hook", "last_name": format!("Nr{n}")}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
}

/// The webhooks' outbox under kill -9: an event whose delivery was in
/// flight, and events committed a moment before the kill, all reach the
/// receiver after the restart; each attempt kluis made arrives once, and an
/// acknowledged event never again.
fn kill_9_between_commit_and_delivery(dir: &Path, env: &[(&str, String)]) {
    let mut env: Vec<(&str, String)> = env.to_vec();
    env.extend([
        ("KLUIS_WEBHOOKS_ALLOW_HTTP", "1".to_owned()),
        ("KLUIS_WEBHOOKS_ALLOW_PRIVATE", "1".to_owned()),
        ("KLUIS_WEBHOOK_RETRY_BASE_SECS", "1".to_owned()),
    ]);
    let receiver = common::Receiver::start();
    let mut server = Server::start(dir, &env);
    let mut tenant = Tenant::create(&server.base, &dir.join("data"), "hooks", 1).remove(0);
    let hook: serde_json::Value = http()
        .post(format!("{}/v1/webhooks", server.base))
        .bearer_auth(&tenant.token)
        .json(&serde_json::json!({"url": receiver.url, "event_types": ["person.created"]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let hook = hook["id"].as_str().expect("a webhook").to_owned();

    // 1. A delivery in flight when kluis dies: the receiver has the request
    //    and has not answered.
    receiver.holding.store(true, Ordering::SeqCst);
    new_person(&server.base, &tenant.token, 0);
    receiver.wait_for(Duration::from_secs(30), "the first delivery", |got| got.len() == 1);
    server.kill_9();
    let held = receiver.got.lock().unwrap()[0].clone();
    receiver.holding.store(false, Ordering::SeqCst);

    // 2. After the restart the claim runs out (30 s) and it is sent again.
    let mut server = Server::start(dir, &env);
    tenant.refresh(&server.base);
    receiver.wait_for(Duration::from_secs(90), "the held event again", |got| {
        got.iter().filter(|g| **g == held).count() == 2
    });

    // 3. Events committed just before a kill: the 201s are in, deliveries
    //    may or may not have started.
    const BURST: usize = 20;
    for n in 1..=BURST {
        new_person(&server.base, &tenant.token, n);
    }
    server.kill_9();
    let server = Server::start(dir, &env);
    tenant.refresh(&server.base);
    let started = Instant::now();
    let log = loop {
        let log = deliveries(&server.base, &tenant.token, &hook);
        if log.len() == BURST + 1 && log.values().all(|(status, _)| status == "succeeded") {
            break log;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "deliveries not done: {log:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    // Nothing more comes once all are acknowledged.
    std::thread::sleep(Duration::from_secs(3));
    let cut_off: usize = log
        .iter()
        .map(|(event, (_, attempts))| {
            let arrived = receiver.count(event);
            let attempts = usize::try_from(*attempts).unwrap();
            assert!(arrived >= 1, "event {event} never arrived");
            // Each recorded attempt arrived once; at most one more, the
            // attempt a kill cut off before its answer was recorded.
            assert!(
                arrived == attempts || arrived == attempts + 1,
                "event {event}: {arrived} arrivals, {attempts} attempts"
            );
            arrived - attempts
        })
        .sum();
    assert_eq!(log[&held], ("succeeded".to_owned(), 1), "the held event: one recorded attempt (the one answered)");
    assert_eq!(receiver.count(&held), 2);
    println!("webhooks: {} events delivered across two kills; {cut_off} attempts cut off by a kill", log.len());
    assert_eq!(receiver.got.lock().unwrap().len(), log.values().map(|(_, a)| *a as usize).sum::<usize>() + cut_off);
}

#[test]
fn kill_9_between_commit_and_delivery_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    kill_9_between_commit_and_delivery(dir.path(), &[]);
}

#[test]
fn kill_9_between_commit_and_delivery_on_postgres() {
    let Some(database) = PgDatabase::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    kill_9_between_commit_and_delivery(dir.path(), &[("KLUIS_DATABASE_URL", database.url.clone())]);
}
