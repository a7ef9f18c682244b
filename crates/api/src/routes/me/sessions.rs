//! A signed-in person's own sessions (`self`).

use actix_web::{HttpResponse, delete, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, NotFound};
use crate::routes::check_id;
use crate::state::AppState;

/// A session of the signed-in person.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    /// Session id.
    pub id: String,
    /// True for the session of this request's token.
    pub current: bool,
    /// Where it started (truncated IP).
    pub ip_prefix: Option<String>,
    /// The User-Agent it started with.
    pub user_agent: Option<String>,
    /// Started.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::PrimitiveDateTime,
    /// Last refreshed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_used_at: time::PrimitiveDateTime,
    /// Ends unless refreshed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: time::PrimitiveDateTime,
}

/// The live sessions.
#[derive(Serialize, ToSchema)]
pub struct SessionList {
    /// Newest first.
    pub items: Vec<SessionView>,
}

/// One's live sessions.
#[utoipa::path(tag = "me", responses((status = 200, body = SessionList, description = "The live sessions"), AuthErrors), security(("bearer" = ["self"])))]
#[get("/v1/me/sessions")]
pub async fn list_sessions(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let items = kluis_app::me::list_sessions(&state.app, &caller).await?;
    let current = caller.session_id();
    let items = items
        .into_iter()
        .map(|s| SessionView {
            current: current == Some(s.id.as_str()),
            id: s.id,
            ip_prefix: s.ip_prefix,
            user_agent: s.user_agent,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(SessionList { items }))
}

/// End one of one's sessions (sign out elsewhere).
#[utoipa::path(
    tag = "me",
    params(("session_id" = String, Path, description = "Session id")),
    responses((status = 204, description = "Ended"), AuthErrors, NotFound),
    security(("bearer" = ["self"]))
)]
#[delete("/v1/me/sessions/{session_id}")]
pub async fn revoke_session(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?;
    let id = path.into_inner();
    check_id(&id)?;
    kluis_app::me::revoke_session(&state.app, &caller, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
