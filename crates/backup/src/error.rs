//! Why an archive could not be written or read. Every refusal says what is
//! wrong in words an operator can act on; none carries personal data.

use kluis_core::DomainError;
use kluis_store::dump::DumpError;

/// Why an archive could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The file does not start like a kluis archive.
    #[error("not a kluis tenant archive")]
    NotAnArchive,
    /// An envelope format this binary does not read.
    #[error("archive format {0} is not one this kluis reads: upgrade kluis")]
    Format(u8),
    /// Sealed with a passphrase, and none was given.
    #[error("the archive is sealed with a passphrase: give it (--passphrase-file, or KLUIS_ARCHIVE_PASSPHRASE)")]
    PassphraseNeeded,
    /// Sealed with a master key, and a passphrase was given.
    #[error("the archive is sealed with an instance's master key, not a passphrase: import it with that master key")]
    MasterKeyNeeded,
    /// The first chunk does not open.
    #[error(
        "the archive does not open: it was sealed with another key or passphrase, or it was altered; nothing was imported"
    )]
    DoesNotOpen,
    /// A later chunk does not open: the file was changed.
    #[error("the archive was altered (a sealed chunk does not open); nothing was imported")]
    Altered,
    /// The file ends before its last chunk.
    #[error("the archive is truncated (it ends before its last chunk); nothing was imported")]
    Truncated,
    /// The last piece does not open: cut short or changed.
    #[error("the archive is damaged: truncated or altered (its last chunk does not open); nothing was imported")]
    Damaged,
    /// The sealed content does not read as an archive (never seen unless
    /// the writer was not kluis).
    #[error("the archive's content is invalid: {0}; nothing was imported")]
    Content(String),
    /// Made by a kluis with a newer schema.
    #[error(
        "the archive is of schema {archive}, newer than this kluis (schema {binary}): upgrade kluis, then import; nothing was imported"
    )]
    NewerSchema {
        /// The archive's schema version.
        archive: String,
        /// This binary's.
        binary: String,
    },
    /// The tenant already exists here.
    #[error("a tenant with the archive's id already exists here: import goes into a new tenant only")]
    TenantExists,
    /// The slug is taken.
    #[error("the slug `{0}` is taken here: import with --as SLUG")]
    SlugTaken(String),
    /// The key could not be derived.
    #[error("archive key: {0}")]
    Key(String),
    /// Written past its end (a bug).
    #[error("archive already finished")]
    Finished,
    /// A file could not be read or written.
    #[error("i/o: {0}")]
    Io(std::io::Error),
    /// The database failed.
    #[error("{0}")]
    Dump(#[from] DumpError),
    /// A domain step (setup, audit) failed.
    #[error("{0}")]
    Domain(#[from] DomainError),
}

impl From<std::io::Error> for ArchiveError {
    /// The reader's own errors travel inside `io::Error`: unwrap them.
    fn from(error: std::io::Error) -> Self {
        if error.get_ref().is_some_and(|inner| inner.is::<ArchiveError>()) {
            if let Some(inner) = error.into_inner()
                && let Ok(archive) = inner.downcast::<ArchiveError>()
            {
                return *archive;
            }
            return ArchiveError::Content("unreadable".to_owned());
        }
        ArchiveError::Io(error)
    }
}

impl From<diesel::result::Error> for ArchiveError {
    fn from(error: diesel::result::Error) -> Self {
        ArchiveError::Dump(DumpError::Db(error))
    }
}

impl ArchiveError {
    /// True when the archive itself is at fault (altered, truncated, of
    /// another key or a newer schema), not the machine.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, ArchiveError::Io(_) | ArchiveError::Dump(_) | ArchiveError::Domain(_) | ArchiveError::Finished)
    }
}

impl From<ArchiveError> for DomainError {
    fn from(error: ArchiveError) -> Self {
        match error {
            ArchiveError::Domain(e) => e,
            ArchiveError::Dump(DumpError::Db(e)) => kluis_store::error::from_diesel(e),
            ArchiveError::TenantExists => DomainError::Conflict { code: "tenant_exists", message: error.to_string() },
            ArchiveError::SlugTaken(_) => DomainError::Conflict { code: "slug_taken", message: error.to_string() },
            other => DomainError::Internal(other.to_string()),
        }
    }
}
