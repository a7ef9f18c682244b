//! kluis-retention: the lifecycle of a person's data. Retention policies
//! and the sweeper that applies them (with a per-tenant lease), legal holds
//! that keep a person from erasure, erasure orchestrated over every
//! `PersonalData` holder with a receipt and an entry in the erasure ledger,
//! self-service erasure with a grace period, and the rendering of a
//! person's export (JSON, and a ZIP with one CSV per table).
//!
//! - [`policies`]: a tenant's retention policies (a category or a purpose,
//!   a period, the moment it starts, delete or anonymise), their ISO 8601
//!   periods and the tenant's ceiling.
//! - [`sweeper`]: turns the policies into rules and runs them through every
//!   [`kluis_store::personal::PersonalData`] holder in short batches.
//! - [`lease`]: the per-tenant head row, whose lease keeps two instances
//!   from sweeping one tenant at once.
//! - [`holds`], [`erasure`], [`receipts`], [`ledger`], [`export`].
//!
//! This crate reaches other domains' data only through the `PersonalData`
//! holders it is handed; audit entries and the composition with other
//! domains are the use cases' (`kluis-app`).

pub mod erasure;
pub mod export;
pub mod holds;
pub mod lease;
pub mod ledger;
pub mod personal;
pub mod policies;
pub mod receipts;
pub mod sweeper;

pub use personal::RetentionData;
pub use policies::{NewPolicy, Period, Policy, PolicyPatch, Start, Target};
pub use sweeper::{Report, Rule, Sweep};

#[cfg(test)]
mod tests;
