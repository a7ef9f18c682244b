//! A signed-in person's own profile and account (`self`). A subject token
//! reaches nothing else but `/v1/me` and `/v1/auth`, unless its account was
//! granted staff scopes.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, web};
use kluis_audit::{Action, Target};
use kluis_people::accounts::{self};
use kluis_people::persons;
use serde::Serialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Precondition};
use crate::extract::{IfMatch, Json};
use crate::routes::accounts::AccountView;
use crate::routes::people::{PersonView, UpdatePerson};
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

async fn me_view(state: &web::Data<AppState>, caller: &Caller) -> Result<(i64, MeView), ApiError> {
    let (tenant, person) = caller.person()?;
    let (found, account, policies) = state
        .db(move |conn| {
            let accepted = kluis_consent::policies::acceptances(conn, &tenant, &person)?;
            let policies = kluis_consent::policies::standings(conn, &tenant, &accepted)?;
            Ok((persons::get(conn, &tenant, &person)?, accounts::get(conn, &tenant, &person)?, policies))
        })
        .await?;
    let policies = policies.into_iter().map(PolicyStandingView::from).collect();
    Ok((found.version, MeView { person: found.into(), account: account.into(), policies }))
}

/// Read one's own profile, contacts and account.
#[utoipa::path(tag = "me", responses((status = 200, body = MeView), AuthErrors), security(("bearer" = ["self"])))]
#[get("/v1/me")]
pub async fn get_me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let (version, me) = me_view(&state, &caller).await?;
    Ok(versioned(StatusCode::OK, version, &me))
}

/// Change one's own profile (the same rules as for administrators).
#[utoipa::path(
    tag = "me",
    params(("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on")),
    request_body = UpdatePerson,
    responses((status = 200, body = MeView), BodyErrors, Precondition),
    security(("bearer" = ["self"]))
)]
#[patch("/v1/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    caller: Caller,
    if_match: IfMatch,
    body: Json<UpdatePerson>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, person) = caller.person()?;
    body.0.validate()?;
    let patch = kluis_people::ProfilePatch::from(body.0);
    let ctx = caller.audit()?;
    state
        .write(move |conn| {
            persons::update(conn, &tenant, &person, if_match.0, &patch)?;
            kluis_audit::record(
                conn,
                &ctx,
                Action::PersonUpdate,
                Target::person("person", &person),
                &patch.fields(),
                None,
            )?;
            Ok(())
        })
        .await?;
    let (version, me) = me_view(&state, &caller).await?;
    Ok(versioned(StatusCode::OK, version, &me))
}
