//! Mapping storage failures to domain errors.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use kluis_core::DomainError;

/// A diesel error as a domain error: missing rows are `NotFound`, a lost
/// connection or a write lock held past the busy timeout is `Unavailable`
/// (a retry later may succeed), anything else is internal (its text goes to
/// the log, never to a client).
pub fn from_diesel(error: DieselError) -> DomainError {
    match error {
        DieselError::NotFound => DomainError::NotFound,
        other if is_unavailable(&other) => DomainError::Unavailable(format!("database: {other}")),
        other => DomainError::Internal(format!("database: {other}")),
    }
}

/// True when `error` says the database cannot serve now rather than that
/// the query was wrong: the connection is gone (a PostgreSQL restart,
/// failover or dropped socket) or SQLite's write lock stayed taken past the
/// busy timeout (`SQLITE_BUSY`, "database is locked").
pub fn is_unavailable(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => {
            true
        }
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => unavailable_message(info.message()),
        DieselError::RollbackErrorOnCommit { commit_error, .. } => is_unavailable(commit_error),
        _ => false,
    }
}

/// Messages of errors diesel reports as `Unknown` that mean "not now".
/// SQLite's are fixed English; PostgreSQL's are the server's and client's
/// English texts (a server with translated `lc_messages` still ends the
/// connection, which diesel reports as `ClosedConnection`).
fn unavailable_message(message: &str) -> bool {
    const NOT_NOW: [&str; 7] = [
        "database is locked",       // SQLITE_BUSY
        "database table is locked", // SQLITE_LOCKED
        "terminating connection",   // 57P01..57P03: shutdown, crash recovery
        "the database system is",   // shutting down, starting up, in recovery mode
        "server closed the connection",
        "no connection to the server",
        "could not receive data from server",
    ];
    NOT_NOW.iter().any(|mark| message.contains(mark))
}

/// True when `error` is a unique-constraint violation.
pub fn is_unique_violation(error: &DieselError) -> bool {
    matches!(error, DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
}

/// A pool checkout failure: the database is unreachable or saturated.
pub fn from_pool(error: diesel::r2d2::PoolError) -> DomainError {
    DomainError::Unavailable(error.to_string())
}

/// Extension to turn diesel results into domain results.
pub trait StoreResultExt<T> {
    /// Map the error with [`from_diesel`].
    fn domain(self) -> Result<T, DomainError>;
}

impl<T> StoreResultExt<T> for Result<T, DieselError> {
    fn domain(self) -> Result<T, DomainError> {
        self.map_err(from_diesel)
    }
}

/// A lookup by a unique key, as `.first(conn).optional()` would do it but
/// without its `LIMIT`: diesel does not keep a query with a `LIMIT` in
/// SQLite's prepared-statement cache, so `.first()` parsed its SQL anew on
/// every call (seen with perf on the hot paths). Use it only where a unique
/// key bounds the rows to one.
pub trait UniqueRow: diesel::RunQueryDsl<crate::Db> + Sized {
    /// The one row, if any.
    fn unique_row<'query, U>(self, conn: &mut crate::Db) -> Result<Option<U>, DieselError>
    where
        Self: diesel::query_dsl::LoadQuery<'query, crate::Db, U>,
    {
        Ok(self.load::<U>(conn)?.into_iter().next())
    }
}

impl<T: diesel::RunQueryDsl<crate::Db>> UniqueRow for T {}

/// A transaction body's error: either a domain error or a database error,
/// so that `?` works on both inside [`crate::write_tx`].
#[derive(Debug)]
pub struct TxError(pub DomainError);

impl From<DieselError> for TxError {
    fn from(e: DieselError) -> Self {
        TxError(from_diesel(e))
    }
}

impl From<DomainError> for TxError {
    fn from(e: DomainError) -> Self {
        TxError(e)
    }
}

impl From<TxError> for DomainError {
    fn from(e: TxError) -> Self {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn lost_connections_and_held_locks_are_unavailable() {
        for error in [
            db(DatabaseErrorKind::ClosedConnection, "server closed the connection unexpectedly"),
            db(DatabaseErrorKind::UnableToSendCommand, "no connection to the server"),
            db(DatabaseErrorKind::Unknown, "database is locked"),
            db(DatabaseErrorKind::Unknown, "database table is locked"),
            db(DatabaseErrorKind::Unknown, "terminating connection due to administrator command"),
            db(DatabaseErrorKind::Unknown, "FATAL:  the database system is shutting down"),
            db(DatabaseErrorKind::Unknown, "the database system is in recovery mode"),
            DieselError::RollbackErrorOnCommit {
                rollback_error: Box::new(db(DatabaseErrorKind::ClosedConnection, "closed")),
                commit_error: Box::new(db(DatabaseErrorKind::ClosedConnection, "server closed the connection")),
            },
        ] {
            let text = error.to_string();
            assert!(matches!(from_diesel(error), DomainError::Unavailable(_)), "{text}");
        }
    }

    #[test]
    fn wrong_queries_stay_internal_and_missing_rows_not_found() {
        for error in [
            db(DatabaseErrorKind::UniqueViolation, "UNIQUE constraint failed: people.id"),
            db(DatabaseErrorKind::ForeignKeyViolation, "FOREIGN KEY constraint failed"),
            db(DatabaseErrorKind::Unknown, "no such table: peoples"),
            db(DatabaseErrorKind::Unknown, "syntax error at or near \"SELEC\""),
            DieselError::BrokenTransactionManager,
            DieselError::RollbackErrorOnCommit {
                rollback_error: Box::new(db(DatabaseErrorKind::ClosedConnection, "closed")),
                commit_error: Box::new(db(DatabaseErrorKind::CheckViolation, "CHECK constraint failed")),
            },
        ] {
            let text = error.to_string();
            assert!(matches!(from_diesel(error), DomainError::Internal(_)), "{text}");
        }
        assert!(matches!(from_diesel(DieselError::NotFound), DomainError::NotFound));
    }
}
