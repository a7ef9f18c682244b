//! kluis-people: the person at the centre of kluis.
//!
//! It will own: persons and their business data (KvK, VAT), labelled
//! contacts (e-mails, phones, addresses, websites), references held by apps,
//! accounts and credentials (argon2id, TOTP, recovery codes), sign-in,
//! single-use tokens, sessions, and data subject requests; and its
//! `PersonalData` implementation (export, erase, purge).
//!
//! Nothing is implemented yet: the people and accounts issues build it.
