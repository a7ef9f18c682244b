//! References (`people:read` / `people:write`): "apps reference the person,
//! never copy it". A client registers the id its app holds for a person, so
//! that changing or erasing the person reaches every app that referenced them.

use actix_web::{HttpResponse, delete, get, post, web};
use kluis_app::references;
use kluis_core::Scope;
use kluis_people::Reference;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound};
use crate::extract::Json;
use crate::routes::check_id;
use crate::routes::person_id;
use crate::state::AppState;

type Time = time::PrimitiveDateTime;

/// A reference an app holds to a person.
#[derive(Serialize, ToSchema)]
pub struct ReferenceView {
    /// Reference id.
    pub id: String,
    /// The app's name.
    pub app: String,
    /// The app's own id for the person.
    pub external_ref: String,
    /// The client that registered it.
    pub client_id: String,
    /// When.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
}

impl From<Reference> for ReferenceView {
    fn from(r: Reference) -> Self {
        ReferenceView {
            id: r.id,
            app: r.app,
            external_ref: r.external_ref,
            client_id: r.client_id,
            created_at: r.created_at,
        }
    }
}

/// Register that an app holds a reference to a person.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewReference {
    /// The app's name, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub app: String,
    /// The app's own id for the person, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub external_ref: String,
}

/// The references apps hold to a person.
#[derive(Serialize, ToSchema)]
pub struct ReferenceList {
    /// Oldest first.
    pub items: Vec<ReferenceView>,
}

impl From<NewReference> for references::NewReference {
    fn from(r: NewReference) -> Self {
        references::NewReference { app: r.app, external_ref: r.external_ref }
    }
}

/// Register that the calling client's app holds a reference to the person
/// (`people:read` is enough: an app that only reads must be able to say it holds one).
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = NewReference,
    responses((status = 201, body = ReferenceView, description = "Created: the reference"), BodyErrors, NotFound, Conflict),
    security(("bearer" = ["people:read"]))
)]
#[post("/v1/people/{person_id}/references")]
pub async fn create_reference(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<NewReference>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleRead)?;
    body.0.validate()?;
    let person = person_id(path.into_inner())?;
    let reference = references::create(&state.app, &scoped, person, body.0.into()).await?;
    let location = format!("/v1/people/{}/references/{}", reference.person_id, reference.id);
    Ok(HttpResponse::Created().insert_header(("Location", location)).json(ReferenceView::from(reference)))
}

/// The references apps hold to a person.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = ReferenceList, description = "The references"), AuthErrors, NotFound),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/people/{person_id}/references")]
pub async fn list_references(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleRead)?;
    let items = references::list(&state.app, &scoped, person_id(path.into_inner())?).await?;
    Ok(HttpResponse::Ok().json(ReferenceList { items: items.into_iter().map(ReferenceView::from).collect() }))
}

/// Remove a reference.
#[utoipa::path(
    tag = "people",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("reference_id" = String, Path, description = "Reference id"),
    ),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound),
    security(("bearer" = ["people:write"]))
)]
#[delete("/v1/people/{person_id}/references/{reference_id}")]
pub async fn delete_reference(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let (person, reference) = path.into_inner();
    let person = person_id(person)?;
    check_id(&reference)?;
    references::delete(&state.app, &scoped, person, reference).await?;
    Ok(HttpResponse::NoContent().finish())
}
