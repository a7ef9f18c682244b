//! `POST /v1/oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749
//! §4.4), with the client authenticated by HTTP Basic or by body fields,
//! form-encoded or JSON. Errors use RFC 6749's `{"error"}` shape; repeated
//! failures for one client id are throttled with 429.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CacheControl, CacheDirective, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, post, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kluis_audit::{Action, Target};
use kluis_core::{Actor, ActorKind, Scope, TenantId};
use kluis_store::tenancy::{self, AuthFailure, Authenticated};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::error::{ApiError, Problem};
use crate::extract::{RawBody, is_json, parse_json};
use crate::state::AppState;

/// A token request. Unknown parameters are ignored, as RFC 6749 asks.
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `client_credentials`, or `refresh_token` for a signed-in person's session.
    pub grant_type: Option<String>,
    /// The client id, unless sent with HTTP Basic.
    pub client_id: Option<String>,
    /// The client secret, unless sent with HTTP Basic.
    pub client_secret: Option<String>,
    /// Space-separated subset of the client's scopes; all of them when absent.
    pub scope: Option<String>,
    /// With `grant_type=refresh_token`: a signed-in person's refresh token.
    pub refresh_token: Option<String>,
}

/// An issued access token.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT (EdDSA, `typ: at+jwt`).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires (at most 900).
    pub expires_in: u64,
    /// Space-separated scopes it carries.
    pub scope: String,
}

/// An RFC 6749 error.
#[derive(Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type` or `invalid_scope`.
    pub error: &'static str,
    /// For the developer.
    pub error_description: String,
}

fn oauth_error(status: StatusCode, error: &'static str, description: impl Into<String>) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header(CacheControl(vec![CacheDirective::NoStore]));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"kluis\"")));
    }
    response.json(OAuthError { error, error_description: description.into() })
}

/// Client id and secret from `Authorization: Basic` (RFC 6749 §2.3.1:
/// each form-urlencoded, then base64).
fn basic_credentials(req: &HttpRequest) -> Option<Result<(String, Zeroizing<String>), ()>> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let parsed = (|| {
        let decoded = Zeroizing::new(STANDARD.decode(encoded.trim()).map_err(|_| ())?);
        let text = std::str::from_utf8(&decoded).map_err(|_| ())?;
        let (id, secret) = text.split_once(':').ok_or(())?;
        let decode = |s: &str| -> Result<String, ()> {
            let form = format!("v={s}");
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&form).map_err(|_| ())?;
            pairs.into_iter().next().map(|(_, v)| v).ok_or(())
        };
        Ok((decode(id)?, Zeroizing::new(decode(secret)?)))
    })();
    Some(parsed)
}

/// Issue an access token for a client.
#[utoipa::path(
    tag = "tokens",
    request_body(
        content(
            (TokenRequest = "application/x-www-form-urlencoded"),
            (TokenRequest = "application/json"),
        ),
    ),
    responses(
        (status = 200, body = TokenResponse, description = "An access token; for `refresh_token` also a new refresh token (the old one is spent)"),
        (status = 400, body = OAuthError, description = "invalid_request, unsupported_grant_type, invalid_scope or invalid_grant (a used refresh token also ends its session)"),
        (status = 401, body = OAuthError, description = "invalid_client: unknown client, wrong secret or revoked"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Too many failed attempts for this client; see Retry-After"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/oauth/token")]
pub async fn token(state: web::Data<AppState>, req: HttpRequest, body: RawBody) -> Result<HttpResponse, ApiError> {
    let form = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !form && !is_json(&req) {
        return Err(ApiError::UnsupportedMediaType("application/x-www-form-urlencoded or application/json"));
    }
    let bytes = body.0;
    let request: TokenRequest = if form {
        match serde_urlencoded::from_bytes(&bytes) {
            Ok(request) => request,
            Err(_) => {
                return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "the form body cannot be parsed"));
            }
        }
    } else {
        parse_json(&bytes)?
    };

    if request.grant_type.as_deref() == Some("refresh_token") {
        let Some(token) = request.refresh_token.map(Zeroizing::new) else {
            return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "refresh_token is required"));
        };
        return Ok(match crate::routes::signin::refresh(state, &req, token).await? {
            Ok(tokens) => HttpResponse::Ok()
                .insert_header(CacheControl(vec![CacheDirective::NoStore]))
                .insert_header((header::PRAGMA, "no-cache"))
                .json(tokens),
            Err(why) => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why),
        });
    }
    let (client_id, secret) = match (basic_credentials(&req), request.client_id, request.client_secret) {
        (Some(Ok(_)), Some(_), _) | (Some(Ok(_)), _, Some(_)) => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send client credentials either with HTTP Basic or in the body, not both",
            ));
        }
        (Some(Ok((id, secret))), None, None) => (id, secret),
        (Some(Err(())), _, _) => {
            return Ok(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "the Basic credentials cannot be parsed",
            ));
        }
        (None, Some(id), Some(secret)) => (id, Zeroizing::new(secret)),
        (None, _, _) => {
            return Ok(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication is required"));
        }
    };
    match request.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "this endpoint supports grant_type=client_credentials and refresh_token",
            ));
        }
        None => {
            return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required"));
        }
    }
    if client_id.is_empty() || client_id.len() > 64 {
        return Ok(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret"));
    }
    if let Err(retry_after) = state.limiter.check(&client_id) {
        return Err(ApiError::RateLimited(retry_after));
    }
    let requested = match request.scope.as_deref().map(Scope::parse_list).transpose() {
        Ok(requested) => requested,
        Err(unknown) => {
            return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", unknown.to_string()));
        }
    };

    let app = state.clone();
    let id = client_id.clone();
    let request_id = crate::middleware::request_id(&req);
    let ip = crate::extract::origin(&req).ip;
    // Attempts on a tenant's client land in that tenant's audit log, issued or denied.
    let audit = move |tenant: &TenantId| {
        let actor = Actor {
            kind: ActorKind::Client,
            id: id.clone(),
            tenant: Some(tenant.clone()),
            scopes: vec![],
            purposes: vec![],
        };
        kluis_audit::Context::new(&actor, tenant.clone(), request_id.clone(), ip)
    };
    let id = client_id.clone();
    let outcome = state
        .write(move |conn| {
            let authenticated = match tenancy::authenticate(conn, &id, &secret)? {
                Ok(authenticated) => authenticated,
                Err(failure) => {
                    if let AuthFailure::BadCredentials { tenant: Some(tenant) }
                    | AuthFailure::TenantSuspended { tenant } = &failure
                    {
                        kluis_audit::record(conn, &audit(tenant), Action::TokenDenied, Target::client(&id), &[], None)?;
                    }
                    return Ok(Err(Some(failure)));
                }
            };
            let (tenant, held, purposes) = match &authenticated {
                Authenticated::Operator { .. } => (None, vec![Scope::TenantsAdmin], Vec::new()),
                Authenticated::Tenant(client) => {
                    (Some(client.tenant_id.clone()), client.scopes.clone(), client.purposes.clone())
                }
            };
            let granted = match requested {
                None => held,
                Some(requested) if requested.iter().all(|s| held.contains(s)) && !requested.is_empty() => requested,
                Some(_) => return Ok(Err(None)),
            };
            let issued = app.tokens.issue(conn, tenant.as_ref(), &id, &granted, &purposes)?;
            if let Some(tenant) = &tenant {
                kluis_audit::record(conn, &audit(tenant), Action::TokenIssue, Target::client(&id), &[], None)?;
            }
            Ok(Ok(issued))
        })
        .await?;

    match outcome {
        Ok(issued) => {
            state.limiter.succeed(&client_id);
            Ok(HttpResponse::Ok()
                .insert_header(CacheControl(vec![CacheDirective::NoStore]))
                .insert_header((header::PRAGMA, "no-cache"))
                .json(TokenResponse {
                    access_token: issued.access_token,
                    token_type: "Bearer",
                    expires_in: issued.expires_in,
                    scope: issued.scope,
                }))
        }
        Err(None) => Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "the requested scope is empty or exceeds the scopes granted to the client",
        )),
        Err(Some(AuthFailure::TenantSuspended { .. })) => {
            Ok(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "the client's tenant is suspended"))
        }
        Err(Some(AuthFailure::BadCredentials { .. })) => {
            state.limiter.fail(&client_id);
            Ok(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret"))
        }
    }
}
