//! Why a use case did not happen. Domain errors pass through unchanged; the
//! rest are outcomes only a use case knows (a sign-in refused, a caller
//! throttled). The HTTP layer maps each to one status and a stable `code`.

use kluis_core::DomainError;
use kluis_store::error::TxError;

/// A use case's error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A domain rule, a missing row, a conflict, the database.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The caller could not be authenticated (bad credentials, a dead challenge).
    #[error("unauthorized: {code}")]
    Unauthorized {
        /// Stable code, e.g. `invalid_credentials`.
        code: &'static str,
        /// Why, in general terms.
        detail: &'static str,
    },
    /// A well-formed request that cannot be carried out (a used token).
    #[error("bad request: {code}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Why.
        detail: String,
    },
    /// It existed, but is used up or expired for good.
    #[error("gone: {code}")]
    Gone {
        /// Stable code.
        code: &'static str,
        /// Why.
        detail: String,
    },
    /// Too many attempts; retry after this many seconds.
    #[error("rate limited for {0} s")]
    RateLimited(u64),
}

impl AppError {
    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Domain(DomainError::invalid(field, message))
    }

    /// The caller lacks a right, whatever the input.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Domain(DomainError::Forbidden { code, message: message.into() })
    }

    /// Something unexpected; the text goes to the log only.
    pub fn internal(message: impl Into<String>) -> Self {
        AppError::Domain(DomainError::Internal(message.into()))
    }
}

impl From<TxError> for AppError {
    fn from(e: TxError) -> Self {
        AppError::Domain(e.0)
    }
}

/// A use case's result.
pub type AppResult<T> = Result<T, AppError>;
