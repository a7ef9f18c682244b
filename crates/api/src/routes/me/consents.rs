//! One's own consents (`/v1/me/consents`, scope `self`): the standing with
//! every purpose, and granting, withdrawing or objecting oneself.

use actix_web::{HttpResponse, get, put, web};
use kluis_app::consent::OwnChoice;
use kluis_consent::Proof;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, NotFound};
use crate::extract::{ConsentProof, Json};
use crate::routes::consent::{ActionView, ConsentEventView, StandingList, StandingView};
use crate::state::AppState;

/// Set one's own consent for a purpose.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MyConsent {
    /// `grant`, `withdraw` or `object`. One's own grant also lifts one's own objection.
    pub action: ActionView,
    /// The version of the privacy policy shown (1 or more).
    #[validate(range(min = 1, message = "must be 1 or more"))]
    #[schema(minimum = 1)]
    #[serde(default, deserialize_with = "crate::contract::option_integer")]
    pub policy_version: Option<i64>,
}

impl MyConsent {
    /// The choice for `purpose`, with the proof of the request that makes it.
    fn choice(self, purpose: String, proof: Proof) -> OwnChoice {
        OwnChoice { purpose, action: self.action.into(), policy_version: self.policy_version, proof }
    }
}

/// One's own standing with every purpose of the tenant.
#[utoipa::path(tag = "me", responses((status = 200, body = StandingList, description = "The standing per purpose"), AuthErrors), security(("bearer" = ["self"])))]
#[get("/v1/me/consents")]
pub async fn my_consents(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let standings = kluis_app::consent::mine(&state.app, &caller).await?;
    let items = standings.into_iter().map(StandingView::from).collect();
    Ok(HttpResponse::Ok().json(StandingList { items }))
}

/// Grant, withdraw or object for one purpose, as the person: as easy to
/// withdraw as to give, and the only way to lift one's own objection. A
/// purpose the tenant does not have is 404.
#[utoipa::path(
    tag = "me",
    params(("purpose" = String, Path, description = "Purpose key")),
    request_body = MyConsent,
    responses((status = 200, body = ConsentEventView, description = "The recorded event"), BodyErrors, NotFound),
    security(("bearer" = ["self"]))
)]
#[put("/v1/me/consents/{purpose}")]
pub async fn set_my_consent(
    state: web::Data<AppState>,
    caller: Caller,
    proof: ConsentProof,
    path: web::Path<String>,
    body: Json<MyConsent>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?; // a person's own token first: 403 before 422
    body.0.validate()?;
    let choice = body.0.choice(path.into_inner(), proof.0);
    let event = kluis_app::consent::set_mine(&state.app, &caller, choice).await?;
    Ok(HttpResponse::Ok().json(ConsentEventView::from(event)))
}
