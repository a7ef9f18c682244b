//! Migrations run up, down and up again, and every foreign key is indexed.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use kluis_store::{Db, migrate};
use kluis_tests::{Backend, TestApp, both_backends};

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct ForeignKey {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    from: String,
}

#[derive(QueryableByName)]
struct IndexColumn {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct PgForeignKey {
    #[diesel(sql_type = Text)]
    constraint_name: String,
    #[diesel(sql_type = Bool)]
    indexed: bool,
}

/// Foreign keys (table.constraint) not led by some index's columns.
fn unindexed_foreign_keys(app: &TestApp) -> Vec<String> {
    let mut conn = app.conn();
    let conn: &mut Db = &mut conn;
    match app.backend {
        Backend::Postgres => {
            let rows: Vec<PgForeignKey> = diesel::sql_query(
                "SELECT c.conrelid::regclass::text || '.' || c.conname AS constraint_name,
                        EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
                                AND (i.indkey::text || ' ') LIKE array_to_string(c.conkey, ' ') || ' %') AS indexed
                   FROM pg_constraint c WHERE c.contype = 'f'",
            )
            .load(conn)
            .unwrap();
            rows.into_iter().filter(|r| !r.indexed).map(|r| r.constraint_name).collect()
        }
        Backend::Sqlite => {
            let tables: Vec<Name> =
                diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                    .load(conn)
                    .unwrap();
            let mut missing = Vec::new();
            for table in tables {
                let fks: Vec<ForeignKey> =
                    diesel::sql_query(format!("SELECT id, \"from\" FROM pragma_foreign_key_list('{}')", table.name))
                        .load(conn)
                        .unwrap();
                let mut by_fk: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
                for fk in fks {
                    by_fk.entry(fk.id).or_default().push(fk.from);
                }
                let indexes: Vec<Name> =
                    diesel::sql_query(format!("SELECT name FROM pragma_index_list('{}')", table.name))
                        .load(conn)
                        .unwrap();
                let mut leading: Vec<Vec<String>> = Vec::new();
                for index in indexes {
                    let cols: Vec<IndexColumn> = diesel::sql_query(format!(
                        "SELECT name FROM pragma_index_info('{}') ORDER BY seqno",
                        index.name
                    ))
                    .load(conn)
                    .unwrap();
                    leading.push(cols.into_iter().map(|c| c.name).collect());
                }
                let pk: Vec<IndexColumn> = diesel::sql_query(format!(
                    "SELECT name FROM pragma_table_info('{}') WHERE pk > 0 ORDER BY pk",
                    table.name
                ))
                .load(conn)
                .unwrap();
                leading.push(pk.into_iter().map(|c| c.name).collect());
                for (id, cols) in by_fk {
                    if !leading.iter().any(|index| index.starts_with(&cols)) {
                        missing.push(format!("{}.fk{id}({})", table.name, cols.join(",")));
                    }
                }
            }
            missing
        }
    }
}

both_backends! {
    async fn migrations_run_up_down_up(app) {
        let mut conn = app.conn();
        let reverted = migrate::revert_all(&mut conn).unwrap();
        assert!(!reverted.is_empty());
        assert!(migrate::has_pending(&mut conn).unwrap());
        let applied = migrate::run_pending(&mut conn).unwrap();
        assert_eq!(applied.len(), reverted.len());
        assert!(!migrate::has_pending(&mut conn).unwrap());
    }

    async fn every_foreign_key_is_indexed(app) {
        assert_eq!(unindexed_foreign_keys(&app), Vec::<String>::new());
    }

    async fn migration_sets_have_the_same_names(app) {
        let _ = app;
        let names = |dir: &str| {
            let mut names: Vec<String> = std::fs::read_dir(format!("{}/../migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names
        };
        assert_eq!(names("sqlite"), names("postgres"));
    }
}

/// Tables that have a `person_id` column.
pub(crate) fn tables_with_person_id(app: &TestApp) -> Vec<String> {
    let mut conn = app.conn();
    let conn: &mut Db = &mut conn;
    let mut tables: Vec<String> = match app.backend {
        Backend::Postgres => diesel::sql_query(
            "SELECT table_name AS name FROM information_schema.columns
              WHERE table_schema = 'public' AND column_name = 'person_id'",
        )
        .load::<Name>(conn)
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect(),
        Backend::Sqlite => {
            let tables: Vec<Name> =
                diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                    .load(conn)
                    .unwrap();
            tables
                .into_iter()
                .filter(|t| {
                    let columns: Vec<Name> =
                        diesel::sql_query(format!("SELECT name FROM pragma_table_info('{}')", t.name))
                            .load(conn)
                            .unwrap();
                    columns.iter().any(|c| c.name == "person_id")
                })
                .map(|t| t.name)
                .collect()
        }
    };
    tables.sort();
    tables
}

both_backends! {
    async fn every_table_holding_a_person_id_is_erased_by_some_holder(app) {
        let person_tables = tables_with_person_id(&app);
        assert!(person_tables.contains(&"person_emails".to_owned()), "{person_tables:?}");
        let covered: std::collections::BTreeSet<&str> =
            app.state.holders.iter().flat_map(|h| h.tables().iter().copied()).collect();
        let uncovered: Vec<&String> = person_tables.iter().filter(|t| !covered.contains(t.as_str())).collect();
        assert!(uncovered.is_empty(), "tables with person_id that no PersonalData holder erases: {uncovered:?}");
        // `people` itself holds persons by `id`.
        assert!(covered.contains("people"));
    }

    async fn every_table_holding_a_person_id_is_exported_by_some_holder(app) {
        let tenant = app.new_tenant().await;
        let body = serde_json::json!({"first_name": "Export", "emails": [{"address": "x@example.nl", "label": "work"}]});
        let person: serde_json::Value = app.post("/v1/people", &tenant.token, &body).await.json().await.unwrap();
        let person_id = kluis_core::PersonId(person["id"].as_str().unwrap().to_owned());
        let tenant_id = kluis_core::TenantId(tenant.id.clone());
        let mut conn = app.conn();
        let mut export = kluis_store::personal::Export::default();
        for holder in &app.state.holders {
            export.merge(holder.export(&mut conn, &tenant_id, &person_id).unwrap());
        }
        let unreached: Vec<String> =
            tables_with_person_id(&app).into_iter().filter(|t| !export.tables.contains_key(t.as_str())).collect();
        assert!(unreached.is_empty(), "tables with person_id that no PersonalData holder exports: {unreached:?}");
        assert_eq!(export.tables["people"][0]["first_name"], "Export");
        assert_eq!(export.tables["person_emails"][0]["address"], "x@example.nl");
        assert!(export.tables["person_references"].is_empty());
        assert!(export.tables["subject_keys"][0]["subject_ref"].is_string(), "the audit subject key exists after person.create");
        assert_eq!(export.tables["audit_events"][0]["action"], "person.create");
    }
}
