//! The errors domain code returns. The API layer maps each to one HTTP status
//! and a stable `code`; domains never speak HTTP.

/// A domain result.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// A rule broken by one input field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as named on the wire (dotted for nested fields).
    pub field: String,
    /// What is wrong, for a developer reading the response.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Why a domain operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Absent, or belongs to another tenant (indistinguishable on purpose).
    #[error("not found")]
    NotFound,
    /// The input breaks a domain rule.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// A unique value is already taken.
    #[error("conflict: {message}")]
    Conflict {
        /// Stable machine code, e.g. `slug_taken`.
        code: &'static str,
        /// Human explanation without personal data.
        message: String,
    },
    /// The caller's `If-Match` version is not the current one.
    #[error("version mismatch")]
    VersionMismatch,
    /// The caller may not do this, whatever the input.
    #[error("forbidden: {message}")]
    Forbidden {
        /// Stable machine code.
        code: &'static str,
        /// Human explanation.
        message: String,
    },
    /// The database is unreachable or the pool is exhausted.
    #[error("storage unavailable")]
    Unavailable(String),
    /// Anything unexpected; the text goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Validation(vec![FieldError::new(field, message)])
    }
}
