//! kluis-retention: retention policies and the sweeper that applies them,
//! erasure orchestration across every `PersonalData` holder, subject export,
//! tenant export and import, and backups with rotation.
//!
//! Nothing is implemented yet: the retention issue builds it.
