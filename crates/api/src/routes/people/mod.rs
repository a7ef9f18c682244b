//! People (`people:read` / `people:write`): persons with their contacts
//! ([`persons`]), contacts as their own resources ([`contacts`]) and the
//! references apps hold to them ([`references`]). The request and response
//! types, shared with a person's own routes (`/v1/me`), are in [`views`].

pub mod changes;
pub mod contacts;
pub mod export;
pub mod holds;
pub mod persons;
pub mod references;
pub mod restriction;
pub mod views;
