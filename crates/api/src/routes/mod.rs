//! The handlers, one module per resource. Each handler: the caller, its
//! scope check, `.validate()?`, one call into the domain, the response.

pub mod accounts;
pub mod audit;
pub mod clients;
pub mod consent;
pub mod devices;
pub mod me;
pub mod meta;
pub mod oauth;
pub mod people;
pub mod policies;
pub mod register;
pub mod signin;
pub mod tenants;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, LOCATION};
use serde::Serialize;

use crate::extract::IfMatch;

/// A JSON response for a single versioned resource, with its `ETag`.
pub(crate) fn versioned<T: Serialize>(status: StatusCode, version: i64, body: &T) -> HttpResponse {
    HttpResponse::build(status).insert_header((ETAG, IfMatch::etag(version))).json(body)
}

/// A 201 with `Location` and `ETag`.
pub(crate) fn created<T: Serialize>(location: String, version: i64, body: &T) -> HttpResponse {
    HttpResponse::Created().insert_header((LOCATION, location)).insert_header((ETAG, IfMatch::etag(version))).json(body)
}

/// An id in a path that cannot name anything is answered like an absent one,
/// without asking the database.
pub(crate) fn check_id(id: &str) -> Result<(), crate::error::ApiError> {
    if kluis_core::ids::is_uuid(id) { Ok(()) } else { Err(crate::error::ApiError::NotFound) }
}

/// A `{person_id}` path segment: one that cannot name a person is 404.
pub(crate) fn person_path(path: actix_web::web::Path<String>) -> Result<kluis_core::PersonId, crate::error::ApiError> {
    let id = path.into_inner();
    check_id(&id)?;
    Ok(kluis_core::PersonId(id))
}

/// The names of the fields a change touches, for its audit entry.
pub(crate) fn present(fields: &[(&'static str, bool)]) -> Vec<&'static str> {
    fields.iter().filter(|(_, given)| *given).map(|(name, _)| *name).collect()
}
