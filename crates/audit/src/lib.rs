//! kluis-audit: the append-only, hash-chained audit log and the breach
//! register.
//!
//! It will own: `audit::record(conn, actor, action, target, fields, purpose)`,
//! called by every domain inside the transaction of the change it records;
//! a batching appender for reads of personal data (group commit); per-person
//! subject keys so that an erased person's entries can no longer be linked
//! to them while the chain still verifies; verification of the chain; and
//! the register of personal-data breaches with their 72-hour deadline.
//!
//! Nothing is implemented yet: the audit issue builds it on the store.
