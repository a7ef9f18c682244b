//! kluis-retention: the lifecycle of a person's data. Legal holds that keep a
//! person from erasure, erasure orchestrated over every `PersonalData` holder
//! with a receipt and an entry in the erasure ledger, self-service erasure
//! with a grace period, and the rendering of a person's export (JSON, and a
//! ZIP with one CSV per table). Retention policies and the sweeper that
//! applies them live here too.
//!
//! This crate reaches other domains' data only through the `PersonalData`
//! holders it is handed; audit entries and the composition with other
//! domains are the use cases' (`kluis-app`).

pub mod erasure;
pub mod export;
pub mod holds;
pub mod ledger;
pub mod personal;
pub mod receipts;

pub use personal::RetentionData;
