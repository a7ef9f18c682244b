//! kluis-rights: the data subject's rights as kluis keeps them.
//!
//! - [`requests`]: data-subject requests (access, rectification, erasure,
//!   restriction, objection, portability), their states and history.
//! - [`deadline`]: the deadlines as the law counts them, in the tenant's
//!   time zone, and the rules of an extension.
//! - [`restriction`]: restriction of processing (Art. 18), which every
//!   consent check consults.
//! - [`breaches`]: the breach register (Art. 33, 34) with the 72-hour
//!   clock, and who was told of a breach.
//!
//! What completing a request does to the person's data (export, erasure,
//! objections) is composed by the use cases in `kluis-app`; this crate
//! reaches no other domain's tables.

pub mod breaches;
pub mod deadline;
pub mod mail;
pub mod personal;
pub mod requests;
pub mod restriction;

pub use personal::RightsData;
