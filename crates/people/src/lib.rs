//! kluis-people: the person at the centre of kluis: their profile and
//! business data, labelled contacts (e-mails, phones, addresses, websites)
//! the references apps hold to them instead of copies, and the values of
//! the attributes a tenant defines itself ([`attributes`]).
//!
//! Every input is checked here against the domain rules (formats, no
//! payment card numbers in free text, plausible dates of birth) whatever the
//! HTTP edge did. Every function filters on the tenant first: another
//! tenant's person is `NotFound`, exactly like an absent one.
//!
//! Accounts live here too: passwords (argon2id), TOTP, single-use tokens,
//! sessions and sign-in challenges (module [`accounts`]).

pub mod accounts;
pub mod aging;
pub mod attributes;
pub mod changes;
pub mod contacts;
pub mod model;
pub mod personal;
pub mod persons;
pub mod references;
mod rules;

pub use model::*;
pub use personal::PeopleData;
