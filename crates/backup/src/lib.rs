//! kluis-backup: a tenant's whole data as one portable archive, and back.
//!
//! - [`archive`]: export a tenant to a sealed, compressed archive (manifest
//!   with per-table counts and digests, one NDJSON stream per table) and
//!   import one into a new tenant, across backends.
//! - [`seal`]: the envelope, AES-256-GCM in the STREAM construction under a
//!   key derived from the master key or a passphrase.
//! - [`jobs`]: the export jobs started over HTTP.
//! - [`backups`]: backups (archives kept by kluis), their rotation policy
//!   and the schedule's lease; [`rotation`]: which backups rotation keeps;
//!   [`store`]: where they are kept (a directory or an S3 bucket).
//!
//! It reaches the tenant's data only through the store's generic table
//! access (`kluis_store::dump`), never through a domain crate.

pub mod archive;
pub mod backups;
pub mod error;
pub mod jobs;
pub mod rotation;
pub mod seal;
pub mod store;

pub use archive::{ImportOptions, Imported, Manifest, Progress, Quiet, Restored, TableSummary};
pub use error::ArchiveError;
pub use seal::Secret;
