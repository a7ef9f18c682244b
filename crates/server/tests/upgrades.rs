//! Upgrades that can be undone, against the real `kluis` binary on both
//! backends: pending migrations find a snapshot of the database written
//! before the first of them runs (holding the old schema version and the
//! data), `kluis snapshots list|delete` manage them, and `kluis backup --out`
//! copies the whole database while the server takes writes, losing none.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failure should panic")]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{BIN, PgDatabase, Server, Tenant};
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use kluis_store::{Db, migrate};
use serde_json::Value;

/// `kluis ARGS` in `dir` with no KLUIS_* variables but `env`.
fn run(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("KLUIS_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    command.args(args).output().unwrap()
}

fn ok(output: &Output) -> String {
    assert!(output.status.success(), "kluis failed:\n{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn listed(dir: &Path, env: &[(&str, String)]) -> Vec<Value> {
    ok(&run(dir, &["snapshots", "list"], env)).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

const NEWEST: &str = "SELECT version FROM __diesel_schema_migrations ORDER BY version DESC LIMIT 1";
const PEOPLE: &str = "SELECT COUNT(*) AS n FROM people";

/// What a snapshot holds: its newest migration and how many people.
enum Backend {
    Sqlite,
    Postgres,
}

fn read_snapshot(backend: &Backend, path: &Path) -> (String, i64) {
    match backend {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            let version = diesel::sql_query(NEWEST).get_result::<Version>(&mut conn).unwrap().version;
            let people = diesel::sql_query(PEOPLE).get_result::<Count>(&mut conn).unwrap().n;
            (version, people)
        }
        Backend::Postgres => {
            // Restored into a database of its own, as an operator would.
            let target = PgDatabase::create().expect("PostgreSQL");
            let restored = Command::new("pg_restore")
                .args(["--no-owner", "--exit-on-error", "--dbname", &target.url])
                .arg(path)
                .output()
                .unwrap();
            assert!(restored.status.success(), "pg_restore: {}", String::from_utf8_lossy(&restored.stderr));
            let mut conn = PgConnection::establish(&target.url).unwrap();
            let version = diesel::sql_query(NEWEST).get_result::<Version>(&mut conn).unwrap().version;
            let people = diesel::sql_query(PEOPLE).get_result::<Count>(&mut conn).unwrap().n;
            (version, people)
        }
    }
}

fn newest_applied(url: &str) -> String {
    let mut conn = Db::open(url).unwrap();
    migrate::applied(&mut conn).unwrap().pop().unwrap()
}

/// A fresh database gets no snapshot; one a migration behind gets one
/// before migrating, holding the old version and every row; the flag turns
/// it off; list and delete manage them.
fn snapshot_before_migrating(backend: Backend, url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let env = [("KLUIS_DATABASE_URL", url.to_owned())];
    ok(&run(dir.path(), &["migrate"], &env));
    assert!(listed(dir.path(), &env).is_empty(), "a new database has nothing to keep");
    let newest = newest_applied(url);

    // Some data, written over HTTP.
    let server = Server::start(dir.path(), &env);
    let tenants = Tenant::create(&server.base, &dir.path().join("data"), "snap", 1);
    for n in 0..3 {
        let response = common::http()
            .post(format!("{}/v1/people", server.base))
            .bearer_auth(&tenants[0].token)
            .json(&serde_json::json!({"first_name": "Ada", "last_name": format!("Nr{n}")}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    drop(server);

    // One migration behind, as after installing a newer kluis.
    let reverted = migrate::revert_last(&mut Db::open(url).unwrap()).unwrap();
    assert_eq!(reverted, newest);
    let behind = newest_applied(url);
    assert!(behind < newest);

    let migrated = run(dir.path(), &["migrate"], &env);
    ok(&migrated);
    assert!(
        String::from_utf8_lossy(&migrated.stderr).contains("wrote a snapshot of the database before migrating"),
        "the log says where: {}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    assert_eq!(newest_applied(url), newest, "and then it migrated");
    let snapshots = listed(dir.path(), &env);
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    let snapshot = &snapshots[0];
    assert_eq!(snapshot["schema_version"], behind.as_str(), "named for the version it holds");
    assert!(snapshot["bytes"].as_u64().unwrap() > 0);
    let name = Path::new(snapshot["path"].as_str().unwrap()).file_name().unwrap().to_owned();
    let path = dir.path().join("data/snapshots").join(name);
    assert!(path.exists(), "under <data_dir>/snapshots: {snapshot}");
    // Written before the first pending migration ran: it holds the old schema.
    assert_eq!(read_snapshot(&backend, &path), (behind.clone(), 3));

    // Turned off: no snapshot.
    migrate::revert_last(&mut Db::open(url).unwrap()).unwrap();
    let off = [env[0].clone(), ("KLUIS_SNAPSHOT_BEFORE_MIGRATE", "0".to_owned())];
    ok(&run(dir.path(), &["migrate"], &off));
    assert_eq!(newest_applied(url), newest);
    assert_eq!(listed(dir.path(), &env).len(), 1);

    // Never deleted by kluis; deleted by hand.
    let id = snapshot["id"].as_str().unwrap();
    ok(&run(dir.path(), &["snapshots", "delete", id], &env));
    assert!(!path.exists());
    assert!(listed(dir.path(), &env).is_empty());
    let again = run(dir.path(), &["snapshots", "delete", id], &env);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no snapshot"), "{again:?}");
}

/// `kluis backup --out` while 8 writers write: the server loses no
/// acknowledged write, and the copy is a whole, readable database.
fn backup_while_writing(backend: Backend, url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let env = [("KLUIS_DATABASE_URL", url.to_owned())];
    let server = Server::start(dir.path(), &env);
    let tenants = Tenant::create(&server.base, &dir.path().join("data"), "bak", 2);
    let (stop, acked) = (AtomicBool::new(false), AtomicUsize::new(0));
    let out = dir.path().join(match backend {
        Backend::Sqlite => "copy.sqlite",
        Backend::Postgres => "copy.pgdump",
    });
    let answers = std::thread::scope(|scope| {
        let load = scope.spawn(|| common::write_load(&server.base, &tenants, 8, &stop, &acked));
        common::load_for(&acked, 50, Duration::from_millis(500), Duration::from_secs(60));
        let copied = run(dir.path(), &["backup", "--out", out.to_str().unwrap()], &env);
        let before = acked.load(Ordering::Relaxed);
        common::load_for(&acked, before + 50, Duration::from_millis(300), Duration::from_secs(60));
        stop.store(true, Ordering::Relaxed);
        ok(&copied);
        load.join().unwrap()
    });
    common::assert_only_503_with_retry_after(&answers);
    common::assert_acknowledged_writes_are_there(&server.base, &tenants, &answers);
    let (version, people) = read_snapshot(&backend, &out);
    assert_eq!(version, newest_applied(url));
    assert!(people > 0, "the copy holds the people written before it");

    // A copy never overwrites a file.
    let refused = run(dir.path(), &["backup", "--out", out.to_str().unwrap()], &env);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("exists"), "{refused:?}");
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("kluis.db").display())
}

#[test]
fn sqlite_snapshot_before_migrating() {
    let db = tempfile::tempdir().unwrap();
    snapshot_before_migrating(Backend::Sqlite, &sqlite_url(&db));
}

#[test]
fn postgres_snapshot_before_migrating() {
    let Some(db) = PgDatabase::create() else { return };
    snapshot_before_migrating(Backend::Postgres, &db.url);
}

#[test]
fn sqlite_backup_while_writing() {
    let db = tempfile::tempdir().unwrap();
    backup_while_writing(Backend::Sqlite, &sqlite_url(&db));
}

#[test]
fn postgres_backup_while_writing() {
    let Some(db) = PgDatabase::create() else { return };
    backup_while_writing(Backend::Postgres, &db.url);
}
