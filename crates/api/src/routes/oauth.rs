//! `POST /v1/oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749
//! §4.4), with the client authenticated by HTTP Basic or by body fields,
//! form-encoded or JSON, and the refresh-token grant of a signed-in
//! person's session. Errors use RFC 6749's `{"error"}` shape; repeated
//! failures for one client id are throttled with 429.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CacheControl, CacheDirective, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, post, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kluis_app::auth::IssuedToken;
use kluis_app::signin::RefreshRefused;
use kluis_app::tokens::{ClientCredentials, Refusal};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::error::{ApiError, Problem};
use crate::extract::{RawBody, is_json, parse_json};
use crate::routes::signin::SessionTokens;
use crate::state::AppState;

/// A token request. Unknown parameters are ignored, as RFC 6749 asks.
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `client_credentials`, or `refresh_token` for a signed-in person's session.
    #[schema(value_type = Option<crate::contract::GrantType>)]
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

/// Why the token endpoint issues nothing: an RFC 6749 §5.2 error
/// (`{"error"}`, 400 or 401), or a problem (413, 415, 429, 503, ...).
#[derive(Debug)]
pub enum TokenFailure {
    /// An RFC 6749 error.
    OAuth {
        /// 400, or 401 for `invalid_client`.
        status: StatusCode,
        /// The RFC 6749 error code.
        error: &'static str,
        /// For the developer.
        description: String,
    },
    /// A problem+json answer.
    Problem(ApiError),
}

impl TokenFailure {
    /// A 400 `invalid_request`.
    fn request(description: &str) -> Self {
        Self::oauth(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn oauth(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        TokenFailure::OAuth { status, error, description: description.into() }
    }
}

impl std::fmt::Display for TokenFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenFailure::OAuth { error, description, .. } => write!(f, "{error}: {description}"),
            TokenFailure::Problem(problem) => problem.fmt(f),
        }
    }
}

impl ResponseError for TokenFailure {
    fn status_code(&self) -> StatusCode {
        match self {
            TokenFailure::OAuth { status, .. } => *status,
            TokenFailure::Problem(problem) => problem.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            TokenFailure::Problem(problem) => problem.error_response(),
            TokenFailure::OAuth { status, error, description } => {
                let mut response = HttpResponse::build(*status);
                response.insert_header(CacheControl(vec![CacheDirective::NoStore]));
                if *status == StatusCode::UNAUTHORIZED {
                    response
                        .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"kluis\"")));
                }
                response.json(OAuthError { error, error_description: description.clone() })
            }
        }
    }
}

impl From<ApiError> for TokenFailure {
    fn from(problem: ApiError) -> Self {
        TokenFailure::Problem(problem)
    }
}

impl From<kluis_app::AppError> for TokenFailure {
    fn from(error: kluis_app::AppError) -> Self {
        TokenFailure::Problem(error.into())
    }
}

impl From<Refusal> for TokenFailure {
    fn from(refusal: Refusal) -> Self {
        let (status, error, description) = match refusal {
            Refusal::BadClient => (StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret".into()),
            Refusal::TenantSuspended => {
                (StatusCode::UNAUTHORIZED, "invalid_client", "the client's tenant is suspended".into())
            }
            Refusal::UnknownScope(unknown) => (StatusCode::BAD_REQUEST, "invalid_scope", unknown.to_string()),
            Refusal::ScopeNotHeld => (
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "the requested scope is empty or exceeds the scopes granted to the client".into(),
            ),
        };
        TokenFailure::oauth(status, error, description)
    }
}

impl From<RefreshRefused> for TokenFailure {
    fn from(refused: RefreshRefused) -> Self {
        let description = match refused {
            RefreshRefused::Invalid => "the refresh token is unknown, used, expired or revoked",
            RefreshRefused::Reused => "the refresh token was already used; the session is ended",
        };
        TokenFailure::oauth(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }
}

impl From<IssuedToken> for TokenResponse {
    fn from(issued: IssuedToken) -> Self {
        TokenResponse {
            access_token: issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            scope: issued.scope,
        }
    }
}

/// A 200 with tokens, which no cache may keep (RFC 6749 §5.1).
fn issued<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// The token request, form-encoded or JSON.
fn parse(req: &HttpRequest, bytes: &[u8]) -> Result<TokenRequest, TokenFailure> {
    let form = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if form {
        serde_urlencoded::from_bytes(bytes).map_err(|_| TokenFailure::request("the form body cannot be parsed"))
    } else if is_json(req) {
        // Malformed like a form that cannot be parsed: an RFC 6749 error, not a problem.
        parse_json(bytes).map_err(|_| TokenFailure::request("the JSON body cannot be parsed as a token request"))
    } else {
        Err(ApiError::UnsupportedMediaType("application/x-www-form-urlencoded or application/json").into())
    }
}

/// A client-credentials grant: the client authenticated with HTTP Basic or
/// with body fields (never both), and `grant_type=client_credentials`.
fn client_credentials(req: &HttpRequest, request: TokenRequest) -> Result<ClientCredentials, TokenFailure> {
    let invalid_client = |why: &str| TokenFailure::oauth(StatusCode::UNAUTHORIZED, "invalid_client", why);
    let (client_id, secret) = match (basic_credentials(req), request.client_id, request.client_secret) {
        (Some(Ok(_)), Some(_), _) | (Some(Ok(_)), _, Some(_)) => {
            return Err(TokenFailure::request(
                "send client credentials either with HTTP Basic or in the body, not both",
            ));
        }
        (Some(Ok((id, secret))), None, None) => (id, secret),
        (Some(Err(())), _, _) => return Err(invalid_client("the Basic credentials cannot be parsed")),
        (None, Some(id), Some(secret)) => (id, Zeroizing::new(secret)),
        (None, _, _) => return Err(invalid_client("client authentication is required")),
    };
    match request.grant_type.as_deref() {
        Some("client_credentials") => Ok(ClientCredentials { client_id, secret, scope: request.scope }),
        Some(_) => Err(TokenFailure::oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "this endpoint supports grant_type=client_credentials and refresh_token",
        )),
        None => Err(TokenFailure::request("grant_type is required")),
    }
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
        (status = 413, body = Problem, content_type = "application/problem+json", description = "Body over the size limit"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "Body neither form-encoded nor JSON"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Too many failed attempts for this client; see Retry-After"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "Database unavailable"),
        (status = 500, body = Problem, content_type = "application/problem+json", description = "Unexpected; carries `error_id`"),
    )
)]
#[post("/v1/oauth/token")]
pub async fn token(state: web::Data<AppState>, req: HttpRequest, body: RawBody) -> Result<HttpResponse, TokenFailure> {
    let request = parse(&req, &body.0)?;
    let origin = crate::extract::origin(&req);
    if request.grant_type.as_deref() == Some("refresh_token") {
        let token = request
            .refresh_token
            .map(Zeroizing::new)
            .ok_or_else(|| TokenFailure::request("refresh_token is required"))?;
        let tokens = kluis_app::signin::refresh(&state.app, &origin, token).await??;
        return Ok(issued(&SessionTokens::from(tokens)));
    }
    let credentials = client_credentials(&req, request)?;
    let token = kluis_app::tokens::client_credentials(&state.app, &origin, credentials).await??;
    Ok(issued(&TokenResponse::from(token)))
}
