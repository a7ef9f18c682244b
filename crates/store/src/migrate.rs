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

/// The versions applied to `conn`, oldest first.
pub fn applied(conn: &mut Db) -> Result<Vec<String>, MigrationError> {
    let mut versions: Vec<String> = conn.applied_migrations()?.iter().map(|v| v.to_string()).collect();
    versions.sort();
    Ok(versions)
}

/// How many migrations are still to be applied to `conn`.
pub fn pending_count(conn: &mut Db) -> Result<usize, MigrationError> {
    let set = set_for(conn);
    let known = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&set).map(|m| m.len());
    let known = match conn {
        Db::Pg(_) => known?,
        Db::Sqlite(_) => diesel::migration::MigrationSource::<diesel::sqlite::Sqlite>::migrations(&set)?.len(),
    };
    let applied = conn.applied_migrations()?.len();
    Ok(known.saturating_sub(applied))
}

/// Revert the newest applied migration (tests: a database one version behind).
pub fn revert_last(conn: &mut Db) -> Result<String, MigrationError> {
    let set = set_for(conn);
    Ok(conn.revert_last_migration(set)?.to_string())
}
