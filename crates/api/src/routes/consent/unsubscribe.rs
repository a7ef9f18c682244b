//! RFC 8058 one-click unsubscribe: the signed link for a person and purpose
//! (`consent:read`), and the link itself, which needs no token: a GET shows
//! a page whose button POSTs, the POST acts.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use kluis_core::Scope;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ActionView, Time};
use crate::auth::Caller;
use crate::error::responses::{AuthErrors, LinkErrors, NotFound, RateLimited, ServerErrors};
use crate::error::{ApiError, Problem};
use crate::extract::{ConsentProof, RequestOrigin};
use crate::pages::{Visitor, unsubscribe as page};
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

/// The page an unsubscribe link opens in a browser: it names the purpose
/// and the tenant, in the person's language (Dutch for `nl`, else English;
/// the browser's `Accept-Language` when the person gave none), and says what
/// its button does; the button POSTs to the same address. It never records
/// anything: mail scanners follow links. A link that does not work is a page
/// too (`Accept: application/json` gets the problem instead): 404 when kluis
/// did not make it or it was altered, 410 when it is used, expired, or what
/// it points to is gone. Views count against the per-IP unsubscribe limit,
/// like the POST (429 with `Retry-After`).
#[utoipa::path(
    tag = "consent",
    params(("token" = String, Path, description = "The token of an unsubscribe link")),
    responses(
        (status = 200, description = "The page, with a form whose button POSTs to this address", content_type = "text/html", body = String),
        (status = 404, description = "Not a link kluis made, or altered", content(
            (String = "text/html"), (Problem = "application/problem+json"),
        )),
        (status = 410, description = "Used before, expired, or what it points to is gone", content(
            (String = "text/html"), (Problem = "application/problem+json"),
        )),
        RateLimited,
        ServerErrors,
    )
)]
#[get("/v1/unsubscribe/{token}")]
pub async fn unsubscribe_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    origin: RequestOrigin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let visitor = Visitor::of(&req, true);
    match kluis_app::unsubscribe::preview(&state.app, &origin.0, path.into_inner()).await {
        Ok(about) => Ok(page::ask(&about, visitor.language(about.language.as_deref())).respond(StatusCode::OK)),
        Err(error) => page::failure(error.into(), &visitor),
    }
}

/// RFC 8058 one-click unsubscribe: no token, the link is the proof. Records
/// a withdrawal (an objection for purposes not based on consent) with source
/// `unsubscribe`, once. The body, if any, is not read: an RFC 8058 client
/// sends `List-Unsubscribe=One-Click` (form-encoded), and so does the
/// button of the link's page. A browser (`Accept: text/html`) gets a
/// confirmation page, anyone else JSON. An altered link is 400; a used or
/// expired one 410 (pages too, for a browser); neither records anything.
#[utoipa::path(
    tag = "consent",
    params(("token" = String, Path, description = "The token of an unsubscribe link")),
    request_body(
        description = "Optional and not read: `List-Unsubscribe=One-Click` (RFC 8058)",
        content((Option<String> = "application/x-www-form-urlencoded", example = "List-Unsubscribe=One-Click")),
    ),
    responses(
        (status = 200, description = "Recorded: JSON, or for a browser the confirmation page", content(
            (Unsubscribed = "application/json"), (String = "text/html"),
        )),
        LinkErrors,
        RateLimited,
        ServerErrors,
    )
)]
#[post("/v1/unsubscribe/{token}")]
pub async fn one_click_unsubscribe(
    state: web::Data<AppState>,
    req: HttpRequest,
    origin: RequestOrigin,
    proof: ConsentProof,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let visitor = Visitor::of(&req, false);
    let token = path.into_inner();
    let gpc = crate::extract::sends_gpc(&req);
    match kluis_app::unsubscribe::confirm(&state.app, &origin.0, token, proof.0, gpc).await {
        Ok(done) if visitor.html => {
            Ok(page::done(&done.about, visitor.language(done.about.language.as_deref())).respond(StatusCode::OK))
        }
        Ok(done) => Ok(HttpResponse::Ok().json(Unsubscribed::from(done.event))),
        Err(error) => page::failure(error.into(), &visitor),
    }
}

impl From<kluis_consent::ConsentEvent> for Unsubscribed {
    fn from(event: kluis_consent::ConsentEvent) -> Self {
        Unsubscribed { purpose: event.purpose, action: event.action.into(), occurred_at: event.occurred_at }
    }
}
