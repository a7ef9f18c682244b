//! Mapping storage failures to domain errors.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use kluis_core::DomainError;

/// A diesel error as a domain error: missing rows are `NotFound`, anything
/// else is internal (its text goes to the log, never to a client).
pub fn from_diesel(error: DieselError) -> DomainError {
    match error {
        DieselError::NotFound => DomainError::NotFound,
        other => DomainError::Internal(format!("database: {other}")),
    }
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
