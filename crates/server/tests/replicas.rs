//! Replicas of one deployment starting together on one PostgreSQL database
//! (the Helm chart's `replicaCount: 3`) take turns at what must happen once:
//! the migrations run once, one signing key and one operator client are
//! made, and every replica comes up and accepts the one operator.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failure should panic")]

mod common;

use common::{PgDatabase, Server, read_json, token};
use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(url: &str, sql: &str) -> i64 {
    let mut conn = PgConnection::establish(url).unwrap();
    diesel::sql_query(sql).get_result::<Count>(&mut conn).unwrap().n
}

#[test]
fn replicas_starting_together_on_one_postgresql_migrate_once_and_make_one_operator() {
    let Some(db) = PgDatabase::create() else { return };
    // Replicas share the master key (from a Secret) and the public URL
    // (the tokens' issuer), never a data directory.
    let env = [
        ("KLUIS_DATABASE_URL", db.url.clone()),
        ("KLUIS_PUBLIC_URL", "https://kluis.example.nl".to_owned()),
        ("KLUIS_MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned()),
    ];
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let servers: Vec<Server> = std::thread::scope(|scope| {
        let starting: Vec<_> = dirs.iter().map(|dir| scope.spawn(|| Server::start(dir.path(), &env))).collect();
        starting.into_iter().map(|s| s.join().expect("a replica came up")).collect()
    });

    let written: Vec<_> =
        dirs.iter().map(|d| d.path().join("data/operator-client.json")).filter(|p| p.exists()).collect();
    assert_eq!(written.len(), 1, "one replica made the first operator: {written:?}");
    assert_eq!(count(&db.url, "SELECT COUNT(*) AS n FROM operator_clients"), 1);
    assert_eq!(count(&db.url, "SELECT COUNT(*) AS n FROM signing_keys"), 1);
    let migrations =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/postgres")).unwrap().count();
    assert_eq!(count(&db.url, "SELECT COUNT(*) AS n FROM __diesel_schema_migrations"), migrations as i64);
    // Every replica signs tokens the others accept: one key, one operator.
    let creds = read_json(&written[0]);
    for server in &servers {
        let access = token(&server.base, &creds);
        for other in &servers {
            let tenants = common::http().get(format!("{}/v1/tenants", other.base)).bearer_auth(&access).send().unwrap();
            assert_eq!(tenants.status(), 200, "{} accepts a token of {}", other.base, server.base);
        }
    }
}
