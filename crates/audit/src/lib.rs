//! kluis-audit: the append-only, hash-chained audit log.
//!
//! - One chain per tenant: entry `n` stores `prev_hash` (entry `n-1`'s hash)
//!   and `hash = SHA-256(prev_hash || canonical JSON of the entry)`. Appends
//!   are serialised per tenant through the chain's head row and happen inside
//!   the caller's transaction, so a change and its entry commit together or
//!   not at all. [`verify`] finds the first entry that was changed, removed
//!   or moved.
//! - Entries never hold values: field names only, ids, and for people a
//!   `subject_ref = HMAC-SHA256(subject_key, person_id)`. Erasing a person
//!   deletes their key ([`forget_subject`]): the entries stay and the chain
//!   still verifies, but nobody can tell any more which were theirs.
//! - Reads of personal data go through the [`Appender`], which writes them in
//!   groups (within 50 ms, and on shutdown) so a read costs no transaction.
//!
//! No function here edits or deletes an entry.

mod appender;
mod chain;
mod query;
mod record;
mod subject;

pub use appender::Appender;
pub use chain::{GENESIS, Verification, verify};
pub use query::{EventFilter, EventRecord, for_each, list};
pub use record::{ANONYMOUS, Action, Context, Entry, Target, ensure_chain, init_chain, record, record_many};
pub use subject::{AuditSubjects, forget_subject, subject_ref};
