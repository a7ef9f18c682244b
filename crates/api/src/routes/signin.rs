//! Sign-in for people (`/v1/auth`): password, then challenges (TOTP, a new
//! password), then a session with a short access token and a rotating
//! refresh token; e-mail verification and password reset by mailed
//! single-use tokens. Unknown user, wrong password and blocked account all
//! answer the same 401 after the same argon2 work.

use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use kluis_app::signin::{Answer, PasswordSignIn, SignIn, Tokens};
use kluis_devices::{ClientHints, Observation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use zeroize::Zeroizing;

use crate::auth::Caller;
use crate::error::responses::{AuthErrors, BodyErrors, RateLimited};
use crate::error::{ApiError, Problem};
use crate::extract::{Json, RequestOrigin};
use crate::state::AppState;

/// Sign in.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The tenant's slug.
    #[validate(length(min = 1, max = 63, message = "must be 1 to 63 characters"))]
    #[schema(min_length = 1, max_length = 63)]
    pub tenant: String,
    /// Username or primary e-mail address, any case.
    #[validate(length(min = 1, max = 254, message = "must be 1 to 254 characters"))]
    #[schema(min_length = 1, max_length = 254)]
    pub identifier: String,
    /// The password, exactly as typed.
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    #[schema(max_length = 1024)]
    pub password: String,
    /// What the client tells of its device; the IP comes from the connection.
    pub device: Option<DeviceIn>,
}

/// A screen size in CSS pixels.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenIn {
    /// Width.
    #[serde(deserialize_with = "crate::contract::integer")]
    pub width: i64,
    /// Height.
    #[serde(deserialize_with = "crate::contract::integer")]
    pub height: i64,
}

/// The `Sec-CH-UA*` client hints, as the browser sent them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientHintsIn {
    /// `Sec-CH-UA`.
    pub ua: Option<String>,
    /// `Sec-CH-UA-Mobile` (`?0`/`?1`).
    pub mobile: Option<String>,
    /// `Sec-CH-UA-Platform`.
    pub platform: Option<String>,
    /// `Sec-CH-UA-Platform-Version`.
    pub platform_version: Option<String>,
    /// `Sec-CH-UA-Model`.
    pub model: Option<String>,
}

/// The device signing in.
#[derive(Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DeviceIn {
    /// The `device_key` an earlier sign-in returned for this device.
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(max_length = 200)]
    pub key: Option<String>,
    /// The browser's User-Agent (default: this request's).
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    #[schema(max_length = 1024)]
    pub user_agent: Option<String>,
    /// Client hints.
    pub client_hints: Option<ClientHintsIn>,
    /// Screen size.
    pub screen: Option<ScreenIn>,
    /// The device's language (BCP 47; default: the first of this request's
    /// `Accept-Language`). On a person's first sign-in it becomes their
    /// account's `language` when they have none.
    #[validate(length(max = 35, message = "must be at most 35 characters"))]
    #[schema(max_length = 35)]
    pub language: Option<String>,
}

/// A started session.
#[derive(Serialize, ToSchema)]
pub struct SessionTokens {
    /// The access token (EdDSA JWT, `scope` = `self` plus granted staff scopes, `sid`).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Space-separated scopes.
    pub scope: String,
    /// Opaque, single-use: exchange at `POST /v1/oauth/token` with `grant_type=refresh_token`.
    pub refresh_token: String,
    /// The device the session runs on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// A newly trusted device's key: keep it and send it as `device.key` next time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
}

/// One more step before a session.
#[derive(Serialize, ToSchema)]
pub struct ChallengeResponse {
    /// Answer at `POST /v1/auth/challenges/{challenge_id}`.
    pub challenge_id: String,
    /// `totp` (a code, or a recovery code), `password_change` (a new password)
    /// or `email_code` (a code mailed to the person: an unfamiliar device).
    pub kind: String,
}

/// An answer to a challenge.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ChallengeAnswer {
    /// A TOTP code or a recovery code (`totp` challenges).
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[schema(min_length = 1, max_length = 64)]
    pub code: Option<String>,
    /// The new password (`password_change` challenges).
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: Option<String>,
}

/// A mailed single-use token.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// The token from the mail.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
}

/// Ask for a password reset mail.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The tenant's slug.
    #[validate(length(min = 1, max = 63, message = "must be 1 to 63 characters"))]
    #[schema(min_length = 1, max_length = 63)]
    pub tenant: String,
    /// The account's e-mail address.
    #[validate(length(min = 1, max = 254, message = "must be 1 to 254 characters"))]
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
}

/// Set a new password with a reset token.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    /// The token from the mail.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
    /// The new password: 8 to 128 characters, not one of the 10,000 most common.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// The 200 of a session, the 202 of a challenge, or the 403 of a refusal.
pub(crate) fn respond(step: SignIn) -> Result<HttpResponse, ApiError> {
    match step {
        SignIn::Challenge(c) => Ok(HttpResponse::build(StatusCode::ACCEPTED)
            .json(ChallengeResponse { challenge_id: c.id, kind: c.kind.as_str().to_owned() })),
        SignIn::Session(tokens) => Ok(HttpResponse::Ok().json(SessionTokens::from(tokens))),
        SignIn::Refused(refused) => Err(kluis_app::AppError::from(refused).into()),
    }
}

impl From<Tokens> for SessionTokens {
    fn from(t: Tokens) -> Self {
        SessionTokens {
            access_token: t.access_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
            scope: t.scope,
            refresh_token: t.refresh_token,
            device_id: t.device_id,
            device_key: t.device_key,
        }
    }
}

impl From<ChallengeAnswer> for Answer {
    fn from(a: ChallengeAnswer) -> Self {
        Answer { code: a.code.map(Zeroizing::new), new_password: a.new_password.map(Zeroizing::new) }
    }
}

pub(crate) fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers().get(actix_web::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The first language of the request's `Accept-Language` (the device's
/// language when the body names none).
pub(crate) fn accept_language(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(actix_web::http::header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    let first = value.split([',', ';']).next()?.trim();
    (!first.is_empty() && first != "*" && first.len() <= 35).then(|| first.to_owned())
}

impl LoginRequest {
    /// The sign-in and its device observation: what the body tells of the
    /// device, this request's User-Agent when the body has none, and the
    /// client's IP.
    fn into_sign_in(
        self,
        user_agent: Option<String>,
        accept_language: Option<String>,
        ip: Option<IpAddr>,
    ) -> (PasswordSignIn, Observation) {
        let LoginRequest { tenant, identifier, password, device } = self;
        (
            PasswordSignIn { tenant, identifier, password: Zeroizing::new(password) },
            observe(device, user_agent, accept_language, ip),
        )
    }
}

/// What a sign-in tells of its device: the body's account of it, this
/// request's User-Agent and first `Accept-Language` when the body has
/// none, and the client's IP.
pub(crate) fn observe(
    device: Option<DeviceIn>,
    user_agent: Option<String>,
    accept_language: Option<String>,
    ip: Option<IpAddr>,
) -> Observation {
    let device = device.unwrap_or_default();
    let hints = device.client_hints.map_or_else(ClientHints::default, |h| ClientHints {
        ua: h.ua,
        mobile: h.mobile,
        platform: h.platform,
        platform_version: h.platform_version,
        model: h.model,
    });
    Observation {
        key: device.key,
        ip,
        user_agent: device.user_agent.or(user_agent),
        client_hints: hints,
        screen: device.screen.map(|s| (s.width, s.height)),
        language: device.language.or(accept_language),
    }
}

/// Sign in with a password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = SessionTokens, description = "Signed in"),
        (status = 202, body = ChallengeResponse, description = "One more step: answer the challenge"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "Unknown account, wrong password or blocked: always the same answer"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`device_unverifiable`: the password was right, but the device is unfamiliar and the account has neither a verified e-mail address nor TOTP to confirm it (the tenant's `unverified_device` is `refuse`); the detail says how to verify the address"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Too many failed sign-ins in 15 minutes; see Retry-After"),
        BodyErrors,
    )
)]
#[post("/v1/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    if let Some(device) = &body.0.device {
        device.validate()?;
    }
    let origin = crate::extract::origin(&req);
    let (login, seen) = body.0.into_sign_in(user_agent(&req), accept_language(&req), origin.ip);
    let step = kluis_app::signin::start(&state.app, &origin, login, seen).await?;
    respond(step)
}

/// Answer a sign-in challenge: a TOTP or recovery code, or a new password.
#[utoipa::path(
    tag = "auth",
    params(("challenge_id" = String, Path, description = "From the 202 of the sign-in")),
    request_body = ChallengeAnswer,
    responses(
        (status = 200, body = SessionTokens, description = "Signed in"),
        (status = 202, body = ChallengeResponse, description = "One more step"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "Wrong code, or the challenge is unknown, expired or dead after 5 tries"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`device_unverifiable`: answered, but the device is unfamiliar and the account has nothing to confirm it with (see the sign-in)"),
        RateLimited,
        BodyErrors,
    )
)]
#[post("/v1/auth/challenges/{challenge_id}")]
pub async fn answer_challenge(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    path: web::Path<String>,
    body: Json<ChallengeAnswer>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    let step = kluis_app::signin::answer(&state.app, &origin.0, path.into_inner(), body.0.into()).await?;
    respond(step)
}

/// End the caller's session.
#[utoipa::path(
    tag = "auth",
    responses((status = 204, description = "Signed out"), AuthErrors),
    security(("bearer" = ["self"]))
)]
#[post("/v1/auth/logout")]
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    kluis_app::signin::logout(&state.app, &caller).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Verify an e-mail address with the token from the verification mail.
#[utoipa::path(
    tag = "auth",
    request_body = TokenBody,
    responses((status = 204, description = "Verified"), (status = 400, body = Problem, content_type = "application/problem+json", description = "Unknown, used or expired token"), RateLimited, BodyErrors)
)]
#[post("/v1/auth/verify-email")]
pub async fn verify_email(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    body: Json<TokenBody>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    kluis_app::signin::verify_email(&state.app, &origin.0, Zeroizing::new(body.0.token)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ask for a password reset mail. Always 202, whether or not the address has
/// an account; 429 alike for both once the address (or the client IP) is
/// over its rate.
#[utoipa::path(
    tag = "auth",
    request_body = ResetRequest,
    responses((status = 202, description = "If the address has an account, a mail is on its way"), RateLimited, BodyErrors)
)]
#[post("/v1/auth/password-reset")]
pub async fn request_reset(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    body: Json<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    let ResetRequest { tenant, email } = body.0;
    kluis_app::signin::request_password_reset(&state.app, &origin.0, tenant, email).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Set a new password with the token from the reset mail. Every session ends;
/// nobody is signed in, and 2FA stays on.
#[utoipa::path(
    tag = "auth",
    request_body = ResetConfirm,
    responses((status = 204, description = "Password set"), (status = 400, body = Problem, content_type = "application/problem+json", description = "Unknown, used or expired token"), RateLimited, BodyErrors)
)]
#[post("/v1/auth/password-reset/confirm")]
pub async fn confirm_reset(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    body: Json<ResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    let (token, new_password) = (Zeroizing::new(body.0.token), Zeroizing::new(body.0.new_password));
    kluis_app::signin::confirm_password_reset(&state.app, &origin.0, token, new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}
