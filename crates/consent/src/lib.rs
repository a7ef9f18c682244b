//! kluis-consent: purposes and their legal bases, recipients, the consent
//! ledger with its current state, policy documents and acceptances,
//! unsubscribe tokens, and the record of processing activities (Art. 30).
//!
//! - Every purpose names its legal basis; consent is needed exactly when the
//!   basis is `consent`. A purpose may name only catalogue categories, so
//!   special categories of personal data can never be processed. Each tenant
//!   starts with the purposes the privacy statements name ([`setup`]).
//! - The ledger is append-only: grants, withdrawals and objections with
//!   their proof. Each event gets a per-tenant gapless `seq` under the
//!   tenant's head-row lock, so seq order is commit order and the changes
//!   feed can page by it without missing a late commit. The current state
//!   per person and purpose is updated in the same transaction; a check is
//!   one primary-key read of it.
//! - An objection wins over any grant recorded by someone else; only a grant
//!   by the person themselves (a subject actor) lifts it.
//!
//! Every function filters on the tenant first. The API layer checks that a
//! person exists (people domain) before it calls in here.

pub mod check;
pub mod ended;
pub mod ledger;
pub mod model;
pub mod personal;
pub mod policies;
pub mod purposes;
pub mod recipients;
pub mod register;
mod rules;
pub mod setup;
pub mod unsubscribe;
pub mod usage;

pub use model::*;
pub use personal::ConsentData;
pub use rules::clean_user_agent;

#[cfg(test)]
mod tests;
