//! The handlers, one module per resource. Each handler: the caller, its
//! scope check, `.validate()?`, one call into the domain, the response.

pub mod accounts;
pub mod attributes;
pub mod audit;
pub mod backups;
pub mod breaches;
pub mod clients;
pub mod consent;
pub mod devices;
pub mod erasures;
pub mod exports;
pub mod me;
pub mod meta;
pub mod oauth;
pub mod passkeys;
pub mod people;
pub mod policies;
pub mod processing;
pub mod requests;
pub mod retention;
pub mod service;
pub mod signin;
pub mod tenants;
pub mod webhooks;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, LOCATION};
use kluis_consent::LegalBasis;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

/// A `{person_id}` path segment: one that cannot name a person is 404,
/// without asking the database.
pub(crate) fn person_path(path: actix_web::web::Path<String>) -> Result<kluis_core::PersonId, crate::error::ApiError> {
    person_id(path.into_inner())
}

/// A person id taken from a path with several segments (see [`person_path`]).
pub(crate) fn person_id(id: String) -> Result<kluis_core::PersonId, crate::error::ApiError> {
    check_id(&id)?;
    Ok(kluis_core::PersonId(id))
}

/// The lawful basis of a purpose (Art. 6(1) GDPR).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasisView {
    /// (a) consent: asked and recorded per person.
    Consent,
    /// (b) a contract with the person.
    Contract,
    /// (c) a legal obligation.
    LegalObligation,
    /// (d) vital interests.
    VitalInterests,
    /// (e) a task in the public interest.
    PublicTask,
    /// (f) legitimate interests.
    LegitimateInterests,
}

impl From<LegalBasisView> for LegalBasis {
    fn from(b: LegalBasisView) -> Self {
        match b {
            LegalBasisView::Consent => LegalBasis::Consent,
            LegalBasisView::Contract => LegalBasis::Contract,
            LegalBasisView::LegalObligation => LegalBasis::LegalObligation,
            LegalBasisView::VitalInterests => LegalBasis::VitalInterests,
            LegalBasisView::PublicTask => LegalBasis::PublicTask,
            LegalBasisView::LegitimateInterests => LegalBasis::LegitimateInterests,
        }
    }
}

impl From<LegalBasis> for LegalBasisView {
    fn from(b: LegalBasis) -> Self {
        match b {
            LegalBasis::Consent => LegalBasisView::Consent,
            LegalBasis::Contract => LegalBasisView::Contract,
            LegalBasis::LegalObligation => LegalBasisView::LegalObligation,
            LegalBasis::VitalInterests => LegalBasisView::VitalInterests,
            LegalBasis::PublicTask => LegalBasisView::PublicTask,
            LegalBasis::LegitimateInterests => LegalBasisView::LegitimateInterests,
        }
    }
}
