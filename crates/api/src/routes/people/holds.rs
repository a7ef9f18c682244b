//! Legal holds (`retention:admin`): while a person has an active hold, no
//! request or retention sweep erases them; erasing answers 409 `legal_hold`
//! with the hold's reason. Lifting a hold is audited.

use actix_web::{HttpResponse, delete, get, post, web};
use kluis_core::Scope;
use kluis_retention::holds::{Hold, MAX_REASON, NewHold};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, NotFound};
use crate::extract::Json;
use crate::routes::{check_id, person_id};
use crate::state::AppState;

/// A legal hold.
#[derive(Serialize, ToSchema)]
pub struct HoldView {
    /// Hold id.
    pub id: String,
    /// The person held.
    pub person_id: String,
    /// Why.
    pub reason: String,
    /// When it ends by itself; null holds until lifted.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<time::PrimitiveDateTime>,
    /// Whether it holds now.
    pub active: bool,
    /// Placed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::PrimitiveDateTime,
}

impl From<Hold> for HoldView {
    fn from(h: Hold) -> Self {
        HoldView {
            active: h.active_at(kluis_core::time::now()),
            id: h.id,
            person_id: h.person_id.0,
            reason: h.reason,
            until: h.until,
            created_at: h.created_at,
        }
    }
}

/// Place a legal hold.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateHold {
    /// Why (a case, a claim, an authority's order): 1 to 500 characters,
    /// never a payment card number.
    #[validate(length(min = 1, max = 500, message = "must be 1 to 500 characters"))]
    #[schema(min_length = 1, max_length = 500, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub reason: String,
    /// When it ends by itself (RFC 3339, in the future); absent holds until lifted.
    #[serde(default, with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<time::PrimitiveDateTime>,
}

/// A person's holds.
#[derive(Serialize, ToSchema)]
pub struct HoldList {
    /// Oldest first, active and ended.
    pub items: Vec<HoldView>,
}

const _: () = assert!(MAX_REASON == 500, "CreateHold's doc and rule say 500");

/// Place a legal hold on a person: from now on they cannot be erased.
#[utoipa::path(
    tag = "lifecycle",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = CreateHold,
    responses((status = 201, body = HoldView, description = "The hold, placed"), BodyErrors, NotFound),
    security(("bearer" = ["retention:admin"]))
)]
#[post("/v1/people/{person_id}/holds")]
pub async fn create_hold(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<CreateHold>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    body.0.validate()?;
    let person = person_id(path.into_inner())?;
    let new = NewHold { reason: body.0.reason, until: body.0.until };
    let hold = kluis_app::holds::create(&state.app, &scoped, person, new).await?;
    let location = format!("/v1/people/{}/holds/{}", hold.person_id, hold.id);
    Ok(HttpResponse::Created().insert_header(("Location", location)).json(HoldView::from(hold)))
}

/// A person's legal holds, active and ended.
#[utoipa::path(
    tag = "lifecycle",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = HoldList, description = "The person's holds"), AuthErrors, NotFound),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/people/{person_id}/holds")]
pub async fn list_holds(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let items = kluis_app::holds::list(&state.app, &scoped, person_id(path.into_inner())?).await?;
    Ok(HttpResponse::Ok().json(HoldList { items: items.into_iter().map(HoldView::from).collect() }))
}

/// Lift a legal hold (audited as `hold.lift`).
#[utoipa::path(
    tag = "lifecycle",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("hold_id" = String, Path, description = "Hold id"),
    ),
    responses((status = 204, description = "Lifted"), AuthErrors, NotFound),
    security(("bearer" = ["retention:admin"]))
)]
#[delete("/v1/people/{person_id}/holds/{hold_id}")]
pub async fn lift_hold(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let (person, hold) = path.into_inner();
    let person = person_id(person)?;
    check_id(&hold)?;
    kluis_app::holds::lift(&state.app, &scoped, person, hold).await?;
    Ok(HttpResponse::NoContent().finish())
}
