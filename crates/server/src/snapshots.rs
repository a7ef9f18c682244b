//! Whole-database snapshots: one is written before pending migrations run
//! (an upgrade can always be undone), and `kluis backup --out FILE` writes
//! one by hand while the server runs. SQLite: `VACUUM INTO`, a consistent
//! copy read inside one transaction while writers go on. PostgreSQL:
//! `pg_dump --format=custom` (restored with `pg_restore`).
//!
//! Snapshots live in `<data_dir>/snapshots/`, named for the UTC time and the
//! schema version they hold (`20261203T131500Z_v20261203000070.sqlite`).
//! kluis never deletes one by itself: `kluis snapshots delete ID` does.

use std::path::{Path, PathBuf};
use std::process::Command;

use kluis_store::Db;
use kluis_store::migrate;
use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;

/// The directory under the data directory that holds snapshots.
pub const DIR: &str = "snapshots";

/// Why a snapshot could not be written, listed or deleted.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A file or directory could not be made, read or removed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The database refused the copy or the version query.
    #[error("database: {0}")]
    Database(String),
    /// `pg_dump` is not installed or failed.
    #[error("pg_dump: {0}")]
    PgDump(String),
    /// The target file is already there (a snapshot is never overwritten).
    #[error("{0} exists; a snapshot never overwrites a file")]
    Exists(PathBuf),
    /// No snapshot has this id.
    #[error("no snapshot `{0}`")]
    Unknown(String),
}

/// A snapshot on disk.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// The file name without its extension.
    pub id: String,
    /// Where it is.
    pub path: PathBuf,
    /// `sqlite` or `pgdump`.
    pub format: &'static str,
    /// When it was taken (RFC 3339, from its name).
    pub taken_at: String,
    /// The newest migration it holds.
    pub schema_version: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Where the snapshots of a data directory are.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join(DIR)
}

/// The newest migration applied to `conn`, or `None` on an empty database.
pub fn schema_version(conn: &mut Db) -> Result<Option<String>, SnapshotError> {
    let applied = migrate::applied(conn).map_err(|e| SnapshotError::Database(e.to_string()))?;
    Ok(applied.into_iter().max())
}

/// Before migrating: when migrations are pending on a database that already
/// holds a schema, write a snapshot and return where. A new, empty database
/// has nothing to keep and gets none.
pub fn before_migrations(conn: &mut Db, url: &str, data_dir: &Path) -> Result<Option<PathBuf>, SnapshotError> {
    let pending = migrate::has_pending(conn).map_err(|e| SnapshotError::Database(e.to_string()))?;
    if !pending {
        return Ok(None);
    }
    let Some(version) = schema_version(conn)? else {
        return Ok(None);
    };
    let pending = migrate::pending_count(conn).map_err(|e| SnapshotError::Database(e.to_string()))?;
    let dir = dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(|source| SnapshotError::Io {
        what: "creating",
        path: dir.clone(),
        source,
    })?;
    restrict(&dir, 0o700)?;
    let path = dir.join(file_name(OffsetDateTime::now_utc(), &version, conn));
    write(conn, url, &path)?;
    tracing::info!(path = %path.display(), schema.version = %version, pending, "wrote a snapshot of the database before migrating");
    Ok(Some(path))
}

fn file_name(at: OffsetDateTime, version: &str, conn: &Db) -> String {
    let stamp = at
        .format(format_description!("[year][month][day]T[hour][minute][second]Z"))
        .unwrap_or_else(|_| at.unix_timestamp().to_string());
    format!("{stamp}_v{version}.{}", extension(conn))
}

fn extension(conn: &Db) -> &'static str {
    match conn {
        Db::Pg(_) => "pgdump",
        Db::Sqlite(_) => "sqlite",
    }
}

/// Write a snapshot of the whole database to `out`, which must not exist.
/// SQLite is copied online (`VACUUM INTO` reads one consistent state while
/// writers go on in the WAL); PostgreSQL through `pg_dump`, which reads in
/// one repeatable-read transaction.
pub fn write(conn: &mut Db, url: &str, out: &Path) -> Result<(), SnapshotError> {
    if out.exists() {
        return Err(SnapshotError::Exists(out.to_path_buf()));
    }
    let target = out.to_str().ok_or_else(|| SnapshotError::Io {
        what: "naming",
        path: out.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not UTF-8"),
    })?;
    let copied = kluis_store::db::sqlite_copy_into(conn, target).map_err(|e| SnapshotError::Database(e.to_string()))?;
    if !copied {
        pg_dump(url, out)?;
    }
    restrict(out, 0o600)
}

/// The URL without its password, and the password: the password goes to
/// `pg_dump` through `PGPASSWORD`, never on its command line (which every
/// local user can read in the process list).
fn split_password(url: &str) -> (String, Option<String>) {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let password = parsed.password().map(|p| {
                url::form_urlencoded::parse(format!("p={}", p.replace('+', "%2B")).as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            });
            let _ = parsed.set_password(None);
            (parsed.to_string(), password)
        }
        _ => (url.to_owned(), None),
    }
}

fn pg_dump(url: &str, out: &Path) -> Result<(), SnapshotError> {
    let (url, password) = split_password(url);
    let mut command = Command::new("pg_dump");
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command
        .arg("--format=custom")
        .arg("--no-owner")
        .arg("--file")
        .arg(out)
        .arg("--dbname")
        .arg(&url)
        .output()
        .map_err(|e| {
            SnapshotError::PgDump(format!(
                "cannot run it ({e}); install the PostgreSQL client tools of the server's major version, \
                 or set KLUIS_SNAPSHOT_BEFORE_MIGRATE=0 to migrate without a snapshot"
            ))
        })?;
    if !output.status.success() {
        let _ = std::fs::remove_file(out);
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(SnapshotError::PgDump(format!(
            "{} (pg_dump must be of the server's major version or newer; \
             KLUIS_SNAPSHOT_BEFORE_MIGRATE=0 migrates without a snapshot)",
            stderr.trim()
        )));
    }
    Ok(())
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> Result<(), SnapshotError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| SnapshotError::Io {
        what: "restricting",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> Result<(), SnapshotError> {
    Ok(())
}

/// The snapshots in `data_dir`, oldest first.
pub fn list(data_dir: &Path) -> Result<Vec<Snapshot>, SnapshotError> {
    let dir = dir(data_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SnapshotError::Io { what: "reading", path: dir, source }),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SnapshotError::Io { what: "reading", path: dir.clone(), source })?;
        let path = entry.path();
        if let Some(snapshot) = parse(&path) {
            let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
            found.push(Snapshot { bytes, ..snapshot });
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// A snapshot's fields from its file name; `None` for any other file.
fn parse(path: &Path) -> Option<Snapshot> {
    let format = match path.extension()?.to_str()? {
        "sqlite" => "sqlite",
        "pgdump" => "pgdump",
        _ => return None,
    };
    let id = path.file_stem()?.to_str()?.to_owned();
    let (stamp, version) = id.split_once("_v")?;
    let taken =
        time::PrimitiveDateTime::parse(stamp, format_description!("[year][month][day]T[hour][minute][second]Z"))
            .ok()?
            .assume_utc();
    let taken_at = taken.format(&time::format_description::well_known::Rfc3339).ok()?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Snapshot { schema_version: version.to_owned(), id, path: path.to_path_buf(), format, taken_at, bytes: 0 })
}

/// Delete the snapshot `id`; returns what was deleted.
pub fn delete(data_dir: &Path, id: &str) -> Result<Snapshot, SnapshotError> {
    let snapshot =
        list(data_dir)?.into_iter().find(|s| s.id == id).ok_or_else(|| SnapshotError::Unknown(id.to_owned()))?;
    std::fs::remove_file(&snapshot.path).map_err(|source| SnapshotError::Io {
        what: "removing",
        path: snapshot.path.clone(),
        source,
    })?;
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_round_trips_and_other_files_are_not_snapshots() {
        let at = OffsetDateTime::from_unix_timestamp(1_796_300_100).unwrap();
        let conn_ext = "sqlite";
        let stamp = at.format(format_description!("[year][month][day]T[hour][minute][second]Z")).unwrap();
        let name = format!("{stamp}_v20261203000070.{conn_ext}");
        let parsed = parse(Path::new(&name)).unwrap();
        assert_eq!(parsed.schema_version, "20261203000070");
        assert_eq!(parsed.format, "sqlite");
        assert_eq!(parsed.taken_at, at.format(&time::format_description::well_known::Rfc3339).unwrap());
        assert!(parse(Path::new("notes.txt")).is_none());
        assert!(parse(Path::new("20261203T131500Z_vabc.sqlite")).is_none());
        assert!(parse(Path::new("garbage_v1.sqlite")).is_none());
        assert!(parse(Path::new("20261203T131500Z_v1.zip")).is_none());
    }

    #[test]
    fn the_password_leaves_the_command_line() {
        let (url, password) = split_password("postgres://kluis:s%40c+ret@db.example:5432/kluis?sslmode=require");
        assert_eq!(url, "postgres://kluis@db.example:5432/kluis?sslmode=require");
        assert_eq!(password.as_deref(), Some("s@c+ret"));
        let (url, password) = split_password("postgres://postgres@127.0.0.1:5432/postgres");
        assert_eq!((url.as_str(), password), ("postgres://postgres@127.0.0.1:5432/postgres", None));
    }

    #[test]
    fn deleting_an_unknown_snapshot_says_so() {
        let dir = std::env::temp_dir().join(format!("kluis-snap-{}", std::process::id()));
        assert!(matches!(delete(&dir, "nope"), Err(SnapshotError::Unknown(_))));
        assert!(list(&dir).unwrap().is_empty());
    }
}
