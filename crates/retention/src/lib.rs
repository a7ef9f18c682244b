//! kluis-retention: how long a tenant keeps each kind of personal data, and
//! the sweeper that makes it so.
//!
//! - [`policies`]: a tenant's retention policies (a category or a purpose,
//!   a period, the moment it starts, delete or anonymise), their ISO 8601
//!   periods and the tenant's ceiling.
//! - [`sweeper`]: turns the policies into rules and runs them through every
//!   [`kluis_store::personal::PersonalData`] holder in short batches; the
//!   record of each sweep.
//! - [`lease`]: the per-tenant head row, whose lease keeps two instances
//!   from sweeping one tenant at once.
//!
//! Like every domain crate it knows nothing of HTTP or of other domains:
//! the use cases in `kluis-app` hand it the holders and what other domains
//! know (purposes, consent, activity).

pub mod lease;
pub mod policies;
pub mod sweeper;

pub use policies::{NewPolicy, Period, Policy, PolicyPatch, Start, Target};
pub use sweeper::{Report, Rule, Sweep};

#[cfg(test)]
mod tests;
