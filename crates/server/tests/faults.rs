//! Faults quick enough for `make test`, against the real `kluis` binary:
//! SQLite's write lock held by another process past the busy timeout. The
//! slow ones (kill -9 and a PostgreSQL restart under load) are in
//! `chaos.rs`, run by `make chaos`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failure should panic")]

mod common;

use std::time::{Duration, Instant};

use common::{Server, Tenant, http};
use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use serde_json::{Value, json};

#[test]
fn sqlite_locked_by_another_process_answers_503_then_writes_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("KLUIS_DB_BUSY_TIMEOUT_MS", "300".into())]);
    let tenant = Tenant::create(&server.base, &dir.path().join("data"), "locked", 1).remove(0);
    let client = http();
    let create = |name: &str| {
        client.post(format!("{}/v1/people", server.base)).bearer_auth(&tenant.token).json(&json!({"first_name": name}))
    };
    let before: Value = create("Voor").send().unwrap().json().unwrap();

    // Another process (this test) takes the write lock and keeps it.
    let path = dir.path().join("data/kluis.db");
    let mut other = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    other.batch_execute("PRAGMA busy_timeout = 5000; BEGIN EXCLUSIVE").unwrap();

    let started = Instant::now();
    let blocked = create("Tijdens").send().unwrap();
    let took = started.elapsed();
    assert_eq!(blocked.status(), 503);
    assert_eq!(blocked.headers()["retry-after"], "2");
    assert_eq!(blocked.headers()["content-type"], "application/problem+json");
    let problem: Value = blocked.json().unwrap();
    assert_eq!(problem["code"], "unavailable");
    assert!(problem.get("error_id").is_none(), "not an internal error: {problem}");
    assert!(took >= Duration::from_millis(300), "it waited the busy timeout first ({took:?})");
    // Reads go on beside the lock (WAL).
    let read = client
        .get(format!("{}/v1/people/{}", server.base, before["id"].as_str().unwrap()))
        .bearer_auth(&tenant.token)
        .send()
        .unwrap();
    assert_eq!(read.status(), 200);

    other.batch_execute("ROLLBACK").unwrap();
    let after = create("Na").send().unwrap();
    assert_eq!(after.status(), 201);
    let listed: Value = client
        .get(format!("{}/v1/people?q=Tijdens", server.base))
        .bearer_auth(&tenant.token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "the refused write left nothing: {listed}");
}
