//! The [`Caller`] extractor: the bearer token of a request, authenticated
//! once by [`kluis_app::auth::authenticate`] and kept in the request's
//! extensions for every later extractor. Token issue and verification live
//! in `kluis_app::auth`.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use kluis_core::Scope;

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
    // Global Privacy Control on a signed-in person's request: their
    // objection to the tenant's `gpc` purposes, recorded once.
    if caller.session_id().is_some() && caller.actor.has(Scope::OwnData) && crate::extract::sends_gpc(req) {
        kluis_app::processors::honour_gpc(&state.app, &caller.0, crate::extract::consent_proof(req)).await?;
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

/// The scope each operation needs, read once from the OpenAPI document the
/// handlers themselves declare (`security(("bearer" = [scope]))`), keyed by
/// method and route pattern. A route added later is covered by construction.
#[derive(Debug, Default)]
pub struct RequiredScopes(std::collections::HashMap<(String, String), Scope>);

impl RequiredScopes {
    /// Every operation of `doc` that declares a bearer scope.
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> RequiredScopes {
        let mut map = std::collections::HashMap::new();
        let doc = serde_json::to_value(doc).unwrap_or_default();
        let paths = doc.get("paths").and_then(|p| p.as_object()).cloned().unwrap_or_default();
        for (path, item) in paths {
            let Some(operations) = item.as_object() else { continue };
            for (method, operation) in operations {
                let scope = operation
                    .pointer("/security/0/bearer/0")
                    .and_then(|s| s.as_str())
                    .and_then(|s| s.parse::<Scope>().ok());
                if let Some(scope) = scope {
                    map.insert((method.to_ascii_uppercase(), path.clone()), scope);
                }
            }
        }
        RequiredScopes(map)
    }

    /// The scope `method` on the route `pattern` needs, if any.
    pub fn get(&self, method: &str, pattern: &str) -> Option<Scope> {
        self.0.get(&(method.to_owned(), pattern.to_owned())).copied()
    }
}

/// The caller may use an operation that needs `scope`: the same checks, with
/// the same codes, that handlers make with [`kluis_app::Context::scoped`],
/// `require` and `person`.
fn permitted(caller: &Caller, scope: Scope) -> Result<(), ApiError> {
    match scope {
        Scope::TenantsAdmin => caller.require(scope)?,
        Scope::OwnData => {
            caller.person()?;
        }
        _ => {
            caller.tenant_with(scope)?;
        }
    }
    Ok(())
}

/// Authentication and scope before anything else: for an operation that
/// declares a scope, the bearer token is checked (401) and then its scope
/// (403) before any extractor reads the query or the body, so a bad token
/// with bad input is a 401, never a 422.
pub async fn authorize(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let scope = match (state, req.match_pattern()) {
        (Some(state), Some(pattern)) => state.required_scopes.get(req.method().as_str(), &pattern),
        _ => None,
    };
    if let Some(scope) = scope {
        let checked = match authenticate(req.request()).await {
            Ok(caller) => permitted(&caller, scope),
            Err(error) => Err(error),
        };
        if let Err(error) = checked {
            let response = error.error_response();
            return Ok(req.into_response(response));
        }
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}
