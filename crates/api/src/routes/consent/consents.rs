//! A person's consents (`/v1/people/{person_id}/consents`): recording an
//! event with its proof, the current standing per purpose, and the history.

use actix_web::{HttpResponse, get, post, web};
use kluis_consent::{NewEvent, Proof};
use kluis_core::Scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{ActionView, ClientSourceView, ConsentEventView, StandingList, StandingView, Time};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, NotFound};
use crate::extract::{ConsentProof, Json, ListQuery};
use crate::routes::person_path;
use crate::state::AppState;

/// Record a grant, withdrawal or objection.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RecordConsent {
    /// Purpose key. Only consent can be granted or withdrawn; objections
    /// only where the law gives that right (consent, public task, legitimate interests).
    #[schema(pattern = "^[a-z][a-z0-9_]{1,63}$")]
    pub purpose: String,
    /// `grant`, `withdraw` or `object`.
    pub action: ActionView,
    /// `web`, `app`, `import` or `admin`.
    pub source: ClientSourceView,
    /// The version of the privacy policy shown to the person (1 or more).
    #[validate(range(min = 1, message = "must be 1 or more"))]
    #[schema(minimum = 1)]
    #[serde(default, deserialize_with = "crate::contract::option_integer")]
    pub policy_version: Option<i64>,
    /// When the person did it (RFC 3339; not in the future); now when absent.
    #[serde(default, with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<Time>,
    /// When a grant lapses (RFC 3339, after `occurred_at`); grants only.
    #[serde(default, with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Time>,
}

/// A page of a person's ledger events.
#[derive(Serialize, ToSchema)]
pub struct ConsentEventPage {
    /// Oldest first.
    pub items: Vec<ConsentEventView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl RecordConsent {
    /// The event to record, with the proof of the request that asks for it.
    fn with_proof(self, proof: Proof) -> NewEvent {
        NewEvent {
            purpose: self.purpose,
            action: self.action.into(),
            source: self.source.into(),
            policy_version: self.policy_version,
            occurred_at: self.occurred_at,
            expires_at: self.expires_at,
            proof,
        }
    }
}

/// Record a grant, withdrawal or objection for a person, with the caller's
/// truncated IP and user agent as proof. An objection stands against any
/// later grant but the person's own.
#[utoipa::path(
    tag = "consent",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = RecordConsent,
    responses((status = 201, body = ConsentEventView, description = "Created: the recorded event"), BodyErrors, NotFound),
    security(("bearer" = ["consent:write"]))
)]
#[post("/v1/people/{person_id}/consents")]
pub async fn record_consent(
    state: web::Data<AppState>,
    caller: Caller,
    proof: ConsentProof,
    path: web::Path<String>,
    body: Json<RecordConsent>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentWrite)?;
    body.0.validate()?;
    let person = person_path(path)?;
    let event = kluis_app::consent::record(&state.app, &scoped, person, body.0.with_proof(proof.0)).await?;
    Ok(HttpResponse::Created().json(ConsentEventView::from(event)))
}

/// A person's current state for every purpose of the tenant.
#[utoipa::path(
    tag = "consent",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = StandingList, description = "The standing per purpose"), AuthErrors, NotFound),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/people/{person_id}/consents")]
pub async fn list_consents(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    let person = person_path(path)?;
    let standings = kluis_app::consent::standings(&state.app, &scoped, person).await?;
    let items = standings.into_iter().map(StandingView::from).collect();
    Ok(HttpResponse::Ok().json(StandingList { items }))
}

/// A person's ledger events with their proof, oldest first.
#[utoipa::path(
    tag = "consent",
    params(("person_id" = String, Path, description = "Person id"), ListQuery),
    responses((status = 200, body = ConsentEventPage, description = "One page of events, newest first"), AuthErrors, NotFound),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/people/{person_id}/consents/history")]
pub async fn consent_history(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    let person = person_path(path)?;
    let (limit, after) = query.page()?;
    let after = after
        .map(|a| a.parse::<i64>().map_err(|_| ApiError::invalid("cursor", "not a cursor kluis made")))
        .transpose()?;
    let page = kluis_app::consent::history(&state.app, &scoped, person, limit, after).await?;
    let page = page.map(ConsentEventView::from);
    Ok(HttpResponse::Ok().json(ConsentEventPage { items: page.items, next_cursor: page.next_cursor }))
}
