//! A signed-in person's own profile and account (`self`). A subject token
//! reaches nothing else but `/v1/me` and `/v1/auth`, unless its account was
//! granted staff scopes.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, web};
use kluis_app::people::OwnProfile;
use serde::Serialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Precondition};
use crate::extract::{IfMatch, Json};
use crate::routes::accounts::AccountView;
use crate::routes::people::views::{PersonView, UpdatePerson};
use crate::routes::policies::PolicyStandingView;
use crate::routes::versioned;
use crate::state::AppState;

/// The signed-in person and their account.
#[derive(Serialize, ToSchema)]
pub struct MeView {
    /// Profile and contacts.
    #[serde(flatten)]
    pub person: PersonView,
    /// The account.
    pub account: AccountView,
    /// Per policy kind: the accepted and current versions, and whether
    /// re-acceptance is due (a material version newer than the accepted one).
    pub policies: Vec<PolicyStandingView>,
}

impl From<OwnProfile> for MeView {
    fn from(own: OwnProfile) -> Self {
        let policies = own.policies.into_iter().map(PolicyStandingView::from).collect();
        MeView { person: own.person.into(), account: own.account.into(), policies }
    }
}

/// Read one's own profile, contacts and account.
#[utoipa::path(tag = "me", responses((status = 200, body = MeView, description = "The signed-in person"), AuthErrors), security(("bearer" = ["self"])))]
#[get("/v1/me")]
pub async fn get_me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let own = kluis_app::people::get_own(&state.app, &caller).await?;
    Ok(versioned(StatusCode::OK, own.person.version, &MeView::from(own)))
}

/// Change one's own profile (the same rules as for administrators).
#[utoipa::path(
    tag = "me",
    params(("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on")),
    request_body = UpdatePerson,
    responses((status = 200, body = MeView, description = "The signed-in person"), BodyErrors, Precondition),
    security(("bearer" = ["self"]))
)]
#[patch("/v1/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    caller: Caller,
    if_match: IfMatch,
    body: Json<UpdatePerson>,
) -> Result<HttpResponse, ApiError> {
    // A person's own token, before the body is looked at.
    caller.person()?;
    body.0.validate()?;
    let own = kluis_app::people::update_own(&state.app, &caller, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, own.person.version, &MeView::from(own)))
}
