//! A signed-in person's own erasure (`self`): at once when the tenant has no
//! grace period (the answer is the receipt), else after it (202 with when),
//! cancellable within it. A confirmation mail goes to their primary address
//! in their language. A person under a legal hold is refused (409).

use actix_web::{HttpResponse, delete, post, web};
use kluis_app::erasure::SelfErasure;
use kluis_retention::erasure::Pending;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, Conflict, NotFound};
use crate::routes::erasures::ErasureReceipt;
use crate::state::AppState;

/// An erasure waiting out the tenant's grace period.
#[derive(Serialize, ToSchema)]
pub struct PendingErasure {
    /// Asked.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: time::PrimitiveDateTime,
    /// Carried out at (or within seconds after) this moment, unless cancelled before.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub due_at: time::PrimitiveDateTime,
}

impl From<Pending> for PendingErasure {
    fn from(p: Pending) -> Self {
        PendingErasure { requested_at: p.requested_at, due_at: p.due_at }
    }
}

/// Ask to be erased: 200 with the receipt when done at once, 202 with when
/// it will happen when the tenant grants a grace period (asking again does
/// not postpone it).
#[utoipa::path(
    tag = "me",
    responses(
        (status = 200, description = "Erased", body = ErasureReceipt),
        (status = 202, description = "Erased at `due_at` unless cancelled", body = PendingErasure),
        AuthErrors,
        NotFound,
        Conflict,
    ),
    security(("bearer" = ["self"]))
)]
#[post("/v1/me/erasure")]
pub async fn request_my_erasure(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    match kluis_app::erasure::request_own(&state.app, &caller).await? {
        SelfErasure::Erased(receipt) => Ok(HttpResponse::Ok().json(ErasureReceipt::from(*receipt))),
        SelfErasure::Scheduled(pending) => Ok(HttpResponse::Accepted().json(PendingErasure::from(pending))),
    }
}

/// Cancel one's pending erasure within the grace period (404 when none).
#[utoipa::path(
    tag = "me",
    responses((status = 204, description = "Cancelled: nothing is erased"), AuthErrors, NotFound),
    security(("bearer" = ["self"]))
)]
#[delete("/v1/me/erasure")]
pub async fn cancel_my_erasure(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    kluis_app::erasure::cancel_own(&state.app, &caller).await?;
    Ok(HttpResponse::NoContent().finish())
}
