//! kluis-consent: purposes and their legal bases, recipients, the consent
//! ledger with its current state, policy documents and acceptances,
//! unsubscribe tokens, and the record of processing activities (Art. 30).
//!
//! Nothing is implemented yet: the consent issue builds it.
