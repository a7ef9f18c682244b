//! Restriction of processing (Art. 18, `requests:admin`): while a person is
//! restricted their data stays, but every consent check about them answers
//! `allowed: false` with `restricted: true`. Setting needs a reason;
//! lifting restores the answers the checks gave before.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, put, web};
use kluis_core::Scope;
use kluis_rights::restriction::{MAX_REASON, Restriction};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, NotFound, Precondition};
use crate::extract::{IfMatch, Json};
use crate::routes::{person_path, versioned};
use crate::state::AppState;

/// A person's restriction.
#[derive(Serialize, ToSchema)]
pub struct RestrictionView {
    /// The person restricted.
    pub person_id: String,
    /// Why.
    pub reason: String,
    /// The restriction request that set it, if one did.
    pub request_id: Option<String>,
    /// Version for `If-Match`.
    pub version: i64,
    /// Set.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::PrimitiveDateTime,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: time::PrimitiveDateTime,
}

impl From<Restriction> for RestrictionView {
    fn from(r: Restriction) -> Self {
        RestrictionView {
            person_id: r.person_id.0,
            reason: r.reason,
            request_id: r.request_id,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Restrict a person's processing.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SetRestriction {
    /// Why (the accuracy is contested, an objection is being weighed, the
    /// person needs the data kept for a claim): 1 to 500 characters.
    #[validate(length(min = 1, max = 500, message = "must be 1 to 500 characters"))]
    #[schema(min_length = 1, max_length = 500, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub reason: String,
}

const _: () = assert!(MAX_REASON == 500, "SetRestriction's doc and rule say 500");

/// Restrict a person's processing (Art. 18), or change the reason: from now
/// on every consent check about them answers `allowed: false` with
/// `restricted: true`. 201 when new, 200 when it stood already.
#[utoipa::path(
    tag = "rights",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the restriction this change is based on"),
    ),
    request_body = SetRestriction,
    responses(
        (status = 201, body = RestrictionView, headers(("ETag" = String)), description = "Restricted"),
        (status = 200, body = RestrictionView, headers(("ETag" = String)), description = "The reason changed"),
        BodyErrors, NotFound, Precondition,
    ),
    security(("bearer" = ["requests:admin"]))
)]
#[put("/v1/people/{person_id}/restriction")]
pub async fn set_restriction(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<SetRestriction>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RequestsAdmin)?;
    body.0.validate()?;
    let person = person_path(path)?;
    let (new, restriction) =
        kluis_app::restriction::set(&state.app, &scoped, person, body.0.reason, if_match.0).await?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok(versioned(status, restriction.version, &RestrictionView::from(restriction)))
}

/// A person's restriction (404 when they are not restricted).
#[utoipa::path(
    tag = "rights",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = RestrictionView, headers(("ETag" = String)), description = "The restriction"), AuthErrors, NotFound),
    security(("bearer" = ["requests:admin"]))
)]
#[get("/v1/people/{person_id}/restriction")]
pub async fn get_restriction(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RequestsAdmin)?;
    let restriction = kluis_app::restriction::get(&state.app, &scoped, person_path(path)?).await?;
    Ok(versioned(StatusCode::OK, restriction.version, &RestrictionView::from(restriction)))
}

/// Lift a person's restriction: the consent checks answer as they did before.
#[utoipa::path(
    tag = "rights",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the restriction this is based on"),
    ),
    responses((status = 204, description = "Lifted"), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["requests:admin"]))
)]
#[delete("/v1/people/{person_id}/restriction")]
pub async fn lift_restriction(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RequestsAdmin)?;
    kluis_app::restriction::lift(&state.app, &scoped, person_path(path)?, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
