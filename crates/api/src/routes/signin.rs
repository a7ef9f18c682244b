//! Sign-in for people (`/v1/auth`): password, then challenges (TOTP, a new
//! password), then a session with a short access token and a rotating
//! refresh token; e-mail verification and password reset by mailed
//! single-use tokens. Unknown user, wrong password and blocked account all
//! answer the same 401 after the same argon2 work.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use kluis_audit::{Action, Context, Target};
use kluis_core::Scope;
use kluis_devices::{ClientHints, Observation, Recognition};
use kluis_people::accounts::challenges::{self, ChallengeKind};
use kluis_people::accounts::{self, Account, Attempt, password, secrets, sessions};
use kluis_store::error::TxError;
use kluis_store::tenancy::tenants;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use zeroize::Zeroizing;

use crate::auth::Caller;
use crate::error::responses::{AuthErrors, BodyErrors};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;

/// Sign in.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The tenant's slug.
    #[validate(length(min = 1, max = 63, message = "must be 1 to 63 characters"))]
    pub tenant: String,
    /// Username or primary e-mail address, any case.
    #[validate(length(min = 1, max = 254, message = "must be 1 to 254 characters"))]
    pub identifier: String,
    /// The password, exactly as typed.
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    pub password: String,
    /// What the client tells of its device; the IP comes from the connection.
    pub device: Option<DeviceIn>,
}

/// A screen size in CSS pixels.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenIn {
    /// Width.
    pub width: i64,
    /// Height.
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
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DeviceIn {
    /// The `device_key` an earlier sign-in returned for this device.
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    pub key: Option<String>,
    /// The browser's User-Agent (default: this request's).
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    pub user_agent: Option<String>,
    /// Client hints.
    pub client_hints: Option<ClientHintsIn>,
    /// Screen size.
    pub screen: Option<ScreenIn>,
    /// The device's language (BCP 47).
    #[validate(length(max = 35, message = "must be at most 35 characters"))]
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
    pub code: Option<String>,
    /// The new password (`password_change` challenges).
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    pub new_password: Option<String>,
}

/// A mailed single-use token.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// The token from the mail.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub token: String,
}

/// Ask for a password reset mail.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The tenant's slug.
    #[validate(length(min = 1, max = 63, message = "must be 1 to 63 characters"))]
    pub tenant: String,
    /// The account's e-mail address.
    #[validate(length(min = 1, max = 254, message = "must be 1 to 254 characters"))]
    pub email: String,
}

/// Set a new password with a reset token.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    /// The token from the mail.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub token: String,
    /// The new password: 8 to 128 characters, not a common one.
    pub new_password: String,
}

/// Where a sign-in stands.
pub(crate) enum SignIn {
    Challenge(challenges::Challenge),
    Session(SessionTokens),
}

impl SignIn {
    fn respond(self) -> HttpResponse {
        match self {
            SignIn::Challenge(c) => HttpResponse::build(StatusCode::ACCEPTED)
                .json(ChallengeResponse { challenge_id: c.id, kind: c.kind.as_str().to_owned() }),
            SignIn::Session(tokens) => HttpResponse::Ok().json(tokens),
        }
    }
}

fn bad_credentials() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_credentials",
        detail: "unknown account, wrong password, or the account is blocked",
    }
}

fn token_invalid() -> ApiError {
    ApiError::BadRequest { code: "token_invalid", detail: "the token is unknown, used or expired".to_owned() }
}

fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers().get(actix_web::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The scopes a signed-in person's token carries: `self`, and staff scopes
/// once the account has TOTP (or always, when the tenant does not require it).
pub(crate) fn person_scopes(account: &Account, tenant: &tenants::Tenant) -> Vec<Scope> {
    let mut scopes = vec![Scope::OwnData];
    if account.totp_enabled || !tenant.require_staff_totp {
        scopes.extend(account.staff_scopes.iter().copied());
    }
    scopes.sort();
    scopes.dedup();
    scopes
}

/// The device observation of a sign-in request.
fn observe(req: &HttpRequest, device: Option<DeviceIn>) -> Observation {
    let device =
        device.unwrap_or(DeviceIn { key: None, user_agent: None, client_hints: None, screen: None, language: None });
    let hints = device.client_hints.map_or_else(ClientHints::default, |h| ClientHints {
        ua: h.ua,
        mobile: h.mobile,
        platform: h.platform,
        platform_version: h.platform_version,
        model: h.model,
    });
    Observation {
        key: device.key,
        ip: crate::extract::origin(req).ip,
        user_agent: device.user_agent.or_else(|| user_agent(req)),
        client_hints: hints,
        screen: device.screen.map(|s| (s.width, s.height)),
        language: device.language,
    }
}

/// Open the next challenge, or start the session when none remains. The
/// device is the last step: a known key or a familiar device goes through;
/// an unfamiliar one needs a code mailed to the verified primary address.
pub(crate) fn next_step(
    state: &AppState,
    conn: &mut kluis_store::Db,
    ctx: &Context,
    account: &Account,
    done: &[ChallengeKind],
    seen: &Observation,
) -> Result<SignIn, TxError> {
    let tenant = &ctx.tenant;
    let person = &account.person_id;
    let settings = tenants::get(conn, tenant)?;
    let pending = serde_json::to_string(seen).ok();
    if let Some(kind) = challenges::next_kind(account.totp_enabled, account.must_change_password, done) {
        let challenge = challenges::open(conn, tenant, person, kind, pending, None)?;
        kluis_audit::record(
            conn,
            ctx,
            Action::ChallengeIssued,
            Target::person("account", person),
            &[kind.as_str()],
            None,
        )?;
        return Ok(SignIn::Challenge(challenge));
    }
    let (device_id, device_key) = match kluis_devices::devices::recognize(conn, tenant, person, seen)? {
        Recognition::Known(device) => {
            kluis_devices::devices::signed_in(conn, tenant, &device.id, seen)?;
            (device.id, None)
        }
        Recognition::Unfamiliar if settings.device_step_up && !done.contains(&ChallengeKind::EmailCode) => {
            if let Some(address) = secrets::verified_primary_email(conn, tenant, person)? {
                let code_hash = secrets::mail_device_code(conn, &state.master, tenant, person, &address)?;
                let challenge =
                    challenges::open(conn, tenant, person, ChallengeKind::EmailCode, pending, Some(code_hash))?;
                kluis_audit::record(
                    conn,
                    ctx,
                    Action::ChallengeIssued,
                    Target::person("device", person),
                    &["email_code"],
                    None,
                )?;
                return Ok(SignIn::Challenge(challenge));
            }
            // Without a verified address there is nowhere to step up to: the
            // device is trusted as it is, and the audit log says so.
            trust(conn, ctx, person, seen)?
        }
        Recognition::First | Recognition::Familiar | Recognition::Unfamiliar => trust(conn, ctx, person, seen)?,
    };
    let started =
        sessions::start(conn, tenant, person, Some(&device_id), ctx.ip_prefix.clone(), seen.user_agent.clone())?;
    let scopes = person_scopes(account, &settings);
    let issued = state.tokens.issue_for_session(conn, tenant, person.as_str(), &started.session.id, &scopes)?;
    kluis_audit::record(conn, ctx, Action::LoginSucceeded, Target::person("session", person), &[], None)?;
    Ok(SignIn::Session(SessionTokens {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: issued.scope,
        refresh_token: started.refresh_token.to_string(),
        device_id: Some(device_id),
        device_key,
    }))
}

fn trust(
    conn: &mut kluis_store::Db,
    ctx: &Context,
    person: &kluis_core::PersonId,
    seen: &Observation,
) -> Result<(String, Option<String>), TxError> {
    let (device, key) = kluis_devices::devices::trust(conn, &ctx.tenant, person, seen)?;
    kluis_audit::record(conn, ctx, Action::DeviceTrusted, Target::person("device", person), &[], None)?;
    Ok((device.id, Some(key.to_string())))
}

/// Sign in with a password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = SessionTokens, description = "Signed in"),
        (status = 202, body = ChallengeResponse, description = "One more step: answer the challenge"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "Unknown account, wrong password or blocked: always the same answer"),
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
    let LoginRequest { tenant: slug, identifier, password, device } = body.0;
    let seen = observe(&req, device);
    let password = Zeroizing::new(password);
    let request_id = crate::middleware::request_id(&req);
    let ip = crate::extract::origin(&req).ip;
    let unknown_key = format!("login:{slug}:{}", identifier.trim().to_lowercase());
    if let Err(retry) = state.limiter.check(&unknown_key) {
        return Err(ApiError::RateLimited(retry));
    }
    let lookup_slug = slug.clone();
    let attempt = state
        .write(move |conn| {
            let tenant = match tenants::get_by_slug(conn, &lookup_slug) {
                Ok(t) if t.status == tenants::TenantStatus::Active => t,
                _ => return Ok(None),
            };
            let attempt = accounts::begin_sign_in(conn, &tenant.id, &identifier)?;
            if let Attempt::Throttled(_) = &attempt {
                // Counted in the tenant's log without naming the identifier.
                let ctx = Context::person(tenant.id.clone(), None, None, None);
                kluis_audit::record(conn, &ctx, Action::LoginThrottled, Target::none(), &[], None)?;
            }
            Ok(Some((tenant.id, attempt)))
        })
        .await?;
    let (tenant, target) = match attempt {
        Some((_, Attempt::Throttled(retry))) => return Err(ApiError::RateLimited(retry)),
        Some((tenant, Attempt::Verify(target))) => (Some(tenant), target),
        None => (None, None),
    };
    let hash = target.as_ref().and_then(|t| t.password_hash.clone());
    let (verified, rehash) = state
        .hash(move || {
            let ok = password::verify(&password, hash.as_deref());
            let rehash = if ok && hash.as_deref().is_some_and(password::needs_rehash) {
                password::hash(&password).ok()
            } else {
                None
            };
            (ok, rehash)
        })
        .await?;
    let target = target.filter(|t| verified && t.status == accounts::AccountStatus::Active);
    let (Some(tenant), Some(target)) = (tenant.clone(), target) else {
        if let Some(tenant) = tenant {
            let ctx = Context::person(tenant, None, request_id, ip);
            state
                .write(move |conn| Ok(kluis_audit::record(conn, &ctx, Action::LoginFailed, Target::none(), &[], None)?))
                .await?;
        }
        state.limiter.fail(&unknown_key);
        return Err(bad_credentials());
    };
    state.limiter.succeed(&unknown_key);
    let ctx = Context::person(tenant.clone(), Some(&target.person_id), request_id, ip);
    let app = state.clone();
    let step = state
        .write(move |conn| {
            let account = accounts::finish_sign_in(conn, &tenant, &target.person_id, rehash)?;
            next_step(&app, conn, &ctx, &account, &[], &seen)
        })
        .await?;
    Ok(step.respond())
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
        BodyErrors,
    )
)]
#[post("/v1/auth/challenges/{challenge_id}")]
pub async fn answer_challenge(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<ChallengeAnswer>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    let id = path.into_inner();
    let dead = || ApiError::Unauthorized {
        code: "challenge_invalid",
        detail: "the challenge is unknown, expired, or dead after too many tries",
    };
    if !kluis_core::ids::is_uuid(&id) {
        return Err(dead());
    }
    // The try is counted (and committed) before the answer is checked.
    let challenge = state.write(move |conn| challenges::take_try(conn, &id)).await?.ok_or_else(dead)?;
    let ctx = Context::person(
        challenge.tenant.clone(),
        Some(&challenge.person_id),
        crate::middleware::request_id(&req),
        crate::extract::origin(&req).ip,
    );
    let seen: Observation = challenge.pending.as_deref().and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default();
    let app = state.clone();
    let answer = body.0;
    let step = match challenge.kind {
        ChallengeKind::Totp => {
            let code =
                Zeroizing::new(answer.code.ok_or_else(|| ApiError::invalid("code", "a totp challenge needs a code"))?);
            state
                .write(move |conn| {
                    let tenant = &challenge.tenant;
                    let person = &challenge.person_id;
                    let ok = secrets::check_totp(conn, &app.master, tenant, person, &code)?
                        || secrets::use_recovery_code(conn, tenant, person, &code)?;
                    if !ok {
                        kluis_audit::record(
                            conn,
                            &ctx,
                            Action::ChallengeFailed,
                            Target::person("account", person),
                            &["totp"],
                            None,
                        )?;
                        return Ok(None);
                    }
                    challenges::close(conn, &challenge)?;
                    kluis_audit::record(
                        conn,
                        &ctx,
                        Action::ChallengePassed,
                        Target::person("account", person),
                        &["totp"],
                        None,
                    )?;
                    let account = accounts::get(conn, tenant, person)?;
                    next_step(&app, conn, &ctx, &account, &[ChallengeKind::Totp], &seen).map(Some)
                })
                .await?
        }
        ChallengeKind::PasswordChange => {
            let new_password =
                Zeroizing::new(answer.new_password.ok_or_else(|| {
                    ApiError::invalid("new_password", "a password_change challenge needs new_password")
                })?);
            password::check("new_password", &new_password)?;
            let hash = state.hash(move || password::hash(&new_password)).await??;
            state
                .write(move |conn| {
                    let tenant = &challenge.tenant;
                    let person = &challenge.person_id;
                    accounts::set_password(conn, tenant, person, &hash, false)?;
                    challenges::close(conn, &challenge)?;
                    kluis_audit::record(
                        conn,
                        &ctx,
                        Action::ChallengePassed,
                        Target::person("account", person),
                        &["password"],
                        None,
                    )?;
                    let account = accounts::get(conn, tenant, person)?;
                    let done = [ChallengeKind::Totp, ChallengeKind::PasswordChange];
                    next_step(&app, conn, &ctx, &account, &done, &seen).map(Some)
                })
                .await?
        }
        ChallengeKind::EmailCode => {
            let code = Zeroizing::new(
                answer
                    .code
                    .ok_or_else(|| ApiError::invalid("code", "an email_code challenge needs the mailed code"))?,
            );
            state
                .write(move |conn| {
                    let tenant = &challenge.tenant;
                    let person = &challenge.person_id;
                    let right = challenge
                        .code_hash
                        .as_deref()
                        .is_some_and(|hash| kluis_store::crypto::verify_secret(code.trim(), hash));
                    if !right {
                        kluis_audit::record(
                            conn,
                            &ctx,
                            Action::StepUpFailed,
                            Target::person("device", person),
                            &[],
                            None,
                        )?;
                        return Ok(None);
                    }
                    challenges::close(conn, &challenge)?;
                    kluis_audit::record(conn, &ctx, Action::StepUpPassed, Target::person("device", person), &[], None)?;
                    let account = accounts::get(conn, tenant, person)?;
                    let all = [ChallengeKind::Totp, ChallengeKind::PasswordChange, ChallengeKind::EmailCode];
                    next_step(&app, conn, &ctx, &account, &all, &seen).map(Some)
                })
                .await?
        }
    };
    step.map(SignIn::respond)
        .ok_or(ApiError::Unauthorized { code: "invalid_code", detail: "the code is wrong or already used" })
}

/// End the caller's session.
#[utoipa::path(
    tag = "auth",
    responses((status = 204, description = "Signed out"), AuthErrors),
    security(("bearer" = ["self"]))
)]
#[post("/v1/auth/logout")]
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let (tenant, person) = caller.person()?;
    let session = caller.session_id().unwrap_or_default().to_owned();
    let ctx = caller.audit()?;
    state
        .write(move |conn| {
            sessions::revoke(conn, &tenant, &person, &session)?;
            kluis_audit::record(conn, &ctx, Action::SessionRevoked, Target::person("session", &person), &[], None)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Verify an e-mail address with the token from the verification mail.
#[utoipa::path(
    tag = "auth",
    request_body = TokenBody,
    responses((status = 204, description = "Verified"), (status = 400, body = Problem, content_type = "application/problem+json", description = "Unknown, used or expired token"), BodyErrors)
)]
#[post("/v1/auth/verify-email")]
pub async fn verify_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<TokenBody>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    let token = Zeroizing::new(body.0.token);
    let (request_id, ip) = (crate::middleware::request_id(&req), crate::extract::origin(&req).ip);
    let redeemed = state
        .write(move |conn| {
            let Some(redeemed) = secrets::verify_email(conn, &token)? else { return Ok(None) };
            let ctx = Context::person(redeemed.tenant.clone(), Some(&redeemed.person), request_id, ip);
            kluis_audit::record(
                conn,
                &ctx,
                Action::EmailVerified,
                Target::person("email", &redeemed.person),
                &["verified_at"],
                None,
            )?;
            Ok(Some(()))
        })
        .await?;
    redeemed.map(|_| HttpResponse::NoContent().finish()).ok_or_else(token_invalid)
}

/// Ask for a password reset mail. Always 202, whether or not the address has an account.
#[utoipa::path(tag = "auth", request_body = ResetRequest, responses((status = 202, description = "If the address has an account, a mail is on its way"), BodyErrors))]
#[post("/v1/auth/password-reset")]
pub async fn request_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    let ResetRequest { tenant: slug, email } = body.0;
    let (request_id, ip) = (crate::middleware::request_id(&req), crate::extract::origin(&req).ip);
    let app = state.clone();
    state
        .write(move |conn| {
            let Ok(tenant) = tenants::get_by_slug(conn, &slug) else { return Ok(()) };
            if let Some(person) = secrets::request_reset(conn, &app.master, &tenant.id, &email)? {
                let ctx = Context::person(tenant.id.clone(), Some(&person), request_id, ip);
                kluis_audit::record(
                    conn,
                    &ctx,
                    Action::PasswordResetRequested,
                    Target::person("account", &person),
                    &[],
                    None,
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Set a new password with the token from the reset mail. Every session ends;
/// nobody is signed in, and 2FA stays on.
#[utoipa::path(
    tag = "auth",
    request_body = ResetConfirm,
    responses((status = 204, description = "Password set"), (status = 400, body = Problem, content_type = "application/problem+json", description = "Unknown, used or expired token"), BodyErrors)
)]
#[post("/v1/auth/password-reset/confirm")]
pub async fn confirm_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<ResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    let ResetConfirm { token, new_password } = body.0;
    let (token, new_password) = (Zeroizing::new(token), Zeroizing::new(new_password));
    password::check("new_password", &new_password)?;
    let hash = state.hash(move || password::hash(&new_password)).await??;
    let (request_id, ip) = (crate::middleware::request_id(&req), crate::extract::origin(&req).ip);
    let done = state
        .write(move |conn| {
            let Some(redeemed) = secrets::reset_password(conn, &token, &hash)? else { return Ok(false) };
            let ctx = Context::person(redeemed.tenant.clone(), Some(&redeemed.person), request_id, ip);
            kluis_audit::record(
                conn,
                &ctx,
                Action::PasswordReset,
                Target::person("account", &redeemed.person),
                &["password"],
                None,
            )?;
            Ok(true)
        })
        .await?;
    if done { Ok(HttpResponse::NoContent().finish()) } else { Err(token_invalid()) }
}

/// The refresh-token grant of `POST /v1/oauth/token`.
pub(crate) async fn refresh(
    state: web::Data<AppState>,
    req: &HttpRequest,
    token: Zeroizing<String>,
) -> Result<Result<SessionTokens, &'static str>, ApiError> {
    let (request_id, ip) = (crate::middleware::request_id(req), crate::extract::origin(req).ip);
    let app = state.clone();
    state
        .write(move |conn| match sessions::refresh(conn, &token)? {
            sessions::Refreshed::Invalid => Ok(Err("the refresh token is unknown, used, expired or revoked")),
            sessions::Refreshed::Reused { tenant, person, .. } => {
                let ctx = Context::person(tenant, Some(&person), request_id, ip);
                kluis_audit::record(
                    conn,
                    &ctx,
                    Action::SessionReuseDetected,
                    Target::person("session", &person),
                    &[],
                    None,
                )?;
                Ok(Err("the refresh token was already used; the session is ended"))
            }
            sessions::Refreshed::Rotated { tenant, started } => {
                let person = started.session.person_id.clone();
                let account = accounts::get(conn, &tenant, &person)?;
                let settings = tenants::get(conn, &tenant)?;
                let scopes = person_scopes(&account, &settings);
                let issued =
                    app.tokens.issue_for_session(conn, &tenant, person.as_str(), &started.session.id, &scopes)?;
                let ctx = Context::person(tenant, Some(&person), request_id, ip);
                kluis_audit::record(
                    conn,
                    &ctx,
                    Action::SessionRefreshed,
                    Target::person("session", &person),
                    &[],
                    None,
                )?;
                Ok(Ok(SessionTokens {
                    access_token: issued.access_token,
                    token_type: "Bearer",
                    expires_in: issued.expires_in,
                    scope: issued.scope,
                    refresh_token: started.refresh_token.to_string(),
                    device_id: None,
                    device_key: None,
                }))
            }
        })
        .await
}
