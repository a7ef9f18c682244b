//! The [`Caller`] extractor: the bearer token of a request, authenticated
//! once by [`kluis_app::auth::authenticate`] and kept in the request's
//! extensions for every later extractor. Token issue and verification live
//! in `kluis_app::auth`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

pub use kluis_app::auth::{Claims, LEEWAY_SECS, TOKEN_TYPE, publication_window};

use crate::error::ApiError;
use crate::extract::origin;
use crate::state::AppState;

/// The authenticated caller of a request: the use cases' [`kluis_app::Context`].
#[derive(Debug, Clone)]
pub struct Caller(pub kluis_app::Context);

impl std::ops::Deref for Caller {
    type Target = kluis_app::Context;

    fn deref(&self) -> &kluis_app::Context {
        &self.0
    }
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized { code: "missing_token", detail: "this endpoint needs a bearer token" });
    };
    let text = value.to_str().map_err(|_| ApiError::invalid_token())?;
    let (scheme, token) = text.split_once(' ').ok_or_else(ApiError::invalid_token)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() || token.len() > 8192 {
        return Err(ApiError::invalid_token());
    }
    Ok(token.trim().to_owned())
}

/// Authenticate the request's bearer token (once per request: the result is
/// kept in the request's extensions for every later extractor).
pub async fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    if let Some(caller) = req.extensions().get::<Caller>() {
        return Ok(caller.clone());
    }
    let token = bearer(req)?;
    let state =
        req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| ApiError::Internal("app state missing".into()))?;
    let context = kluis_app::auth::authenticate(&state.app, token, origin(req)).await?;
    let caller = Caller(context.ok_or_else(ApiError::invalid_token)?);
    let span = tracing::Span::current();
    // A person's id would link a log line to them after their erasure: a
    // signed-in person is logged by session, a client by its id.
    match caller.session_id() {
        Some(session) => span.record("session.id", tracing::field::display(session)),
        None => span.record("client.id", tracing::field::display(&caller.actor.id)),
    };
    if let Some(tenant) = &caller.actor.tenant {
        span.record("tenant.id", tracing::field::display(tenant));
    }
    req.extensions_mut().insert(caller.clone());
    Ok(caller)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await })
    }
}
