//! RFC 8058 one-click unsubscribe: the signed link for a person and purpose
//! (`consent:read`), and the link itself, which needs no token.

use actix_web::{HttpResponse, get, post, web};
use kluis_core::Scope;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ActionView, Time};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, LinkErrors, NotFound, ServerErrors};
use crate::extract::{ConsentProof, RequestOrigin};
use crate::routes::person_path;
use crate::state::AppState;

/// `?purpose=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// Purpose key: one based on consent (withdrawn) or one the person may object to.
    #[param(pattern = "^[a-z][a-z0-9_]{1,63}$")]
    pub purpose: String,
}

/// A one-click unsubscribe link.
#[derive(Serialize, ToSchema)]
pub struct UnsubscribeLink {
    /// `https://…/v1/unsubscribe/{token}`: put it in `List-Unsubscribe` with
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
    pub url: String,
    /// When it stops working.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Time,
}

/// What a one-click unsubscribe recorded.
#[derive(Serialize, ToSchema)]
pub struct Unsubscribed {
    /// The purpose unsubscribed from.
    pub purpose: String,
    /// `withdraw` (consent) or `object` (other bases).
    pub action: ActionView,
    /// When.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Time,
}

/// A signed one-click unsubscribe link for a person and purpose, valid for a
/// year, for the `List-Unsubscribe` header of a mailing (RFC 8058).
#[utoipa::path(
    tag = "consent",
    params(("person_id" = String, Path, description = "Person id"), LinkQuery),
    responses((status = 200, body = UnsubscribeLink, description = "The signed link"), AuthErrors, NotFound),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/people/{person_id}/unsubscribe-link")]
pub async fn unsubscribe_link(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    let person = person_path(path)?;
    let purpose = query.into_inner().purpose;
    let link = kluis_app::unsubscribe::link(&state.app, &scoped, person, purpose).await?;
    Ok(HttpResponse::Ok().json(UnsubscribeLink { url: link.url, expires_at: link.expires_at }))
}

/// RFC 8058 one-click unsubscribe: no token, the link is the proof. Records
/// a withdrawal (an objection for purposes not based on consent) with source
/// `unsubscribe`, once. An altered link is 400; a used or expired one 410;
/// neither records anything.
#[utoipa::path(
    tag = "consent",
    params(("token" = String, Path, description = "The token of an unsubscribe link")),
    responses((status = 200, body = Unsubscribed, description = "The withdrawal was recorded"), LinkErrors, ServerErrors)
)]
#[post("/v1/unsubscribe/{token}")]
pub async fn one_click_unsubscribe(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    proof: ConsentProof,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = path.into_inner();
    let event = kluis_app::unsubscribe::one_click(&state.app, &origin.0, token, proof.0).await?;
    Ok(HttpResponse::Ok().json(Unsubscribed {
        purpose: event.purpose,
        action: event.action.into(),
        occurred_at: event.occurred_at,
    }))
}
