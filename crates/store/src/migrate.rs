//! Embedded migrations, one set per backend with the same names.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::db::Db;

/// SQLite migrations.
pub const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
/// PostgreSQL migrations.
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Why migrating failed.
pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

fn set_for(conn: &Db) -> EmbeddedMigrations {
    match conn {
        Db::Pg(_) => POSTGRES,
        Db::Sqlite(_) => SQLITE,
    }
}

/// Apply every pending migration; returns the versions applied.
pub fn run_pending(conn: &mut Db) -> Result<Vec<String>, MigrationError> {
    let set = set_for(conn);
    let applied = conn.run_pending_migrations(set)?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// True when a migration is still to be applied (readiness check).
pub fn has_pending(conn: &mut Db) -> Result<bool, MigrationError> {
    let set = set_for(conn);
    conn.has_pending_migration(set)
}

/// Revert every applied migration (tests: up, down, up again).
pub fn revert_all(conn: &mut Db) -> Result<Vec<String>, MigrationError> {
    let set = set_for(conn);
    let reverted = conn.revert_all_migrations(set)?;
    Ok(reverted.iter().map(|v| v.to_string()).collect())
}
