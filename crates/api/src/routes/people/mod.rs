//! People (`people:read` / `people:write`): persons with their contacts
//! ([`persons`]), contacts as their own resources ([`contacts`]) and the
//! references apps hold to them ([`references`]). The request and response
//! types, shared with a person's own routes (`/v1/me`), are in [`views`].

pub mod contacts;
pub mod persons;
pub mod references;
pub mod views;

use kluis_core::PersonId;

use crate::error::ApiError;
use crate::routes::check_id;

/// The `{person_id}` of a path: an id that cannot name a person is a 404,
/// without asking the database.
fn person_id(id: String) -> Result<PersonId, ApiError> {
    check_id(&id)?;
    Ok(PersonId(id))
}
