//! A signed-in person's own credentials (`self`): password, two-factor
//! authentication and recovery codes.

use actix_web::{HttpResponse, delete, post, web};
use kluis_audit::{Action, Target};
use kluis_people::accounts::{self, password, secrets};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use zeroize::Zeroizing;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict};
use crate::extract::Json;
use crate::state::AppState;

/// Change one's own password.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The current password.
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    pub current_password: String,
    /// The new one: 8 to 128 characters, not a common one.
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    pub new_password: String,
}

/// A TOTP enrolment, shown once.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// The seed in base32, for manual entry.
    pub secret: String,
    /// `otpauth://totp/...`, for a QR code.
    pub otpauth_uri: String,
}

/// A current TOTP code.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// Six digits from the authenticator app.
    #[validate(length(min = 6, max = 8, message = "must be the 6-digit code"))]
    pub code: String,
}

/// Recovery codes, shown once; each works once in place of a TOTP code.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten codes.
    pub recovery_codes: Vec<String>,
}

/// Change one's own password (the current one is needed). Other sessions end; this one too.
#[utoipa::path(
    tag = "me",
    request_body = ChangePassword,
    responses((status = 204, description = "Changed; sign in again"), BodyErrors),
    security(("bearer" = ["self"]))
)]
#[post("/v1/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, person) = caller.person()?;
    body.0.validate()?;
    let current = Zeroizing::new(body.0.current_password);
    let new_password = Zeroizing::new(body.0.new_password);
    password::check("new_password", &new_password)?;
    let (t, p) = (tenant.clone(), person.clone());
    let stored = state.db(move |conn| accounts::password_hash(conn, &t, &p)).await?;
    let hash = state
        .hash(move || {
            if password::verify(&current, stored.as_deref()) {
                password::hash(&new_password).map(Some)
            } else {
                Ok(None)
            }
        })
        .await??
        .ok_or_else(|| ApiError::invalid("current_password", "is not the current password"))?;
    let ctx = caller.audit()?;
    state
        .write(move |conn| {
            accounts::set_password(conn, &tenant, &person, &hash, false)?;
            kluis_audit::record(
                conn,
                &ctx,
                Action::PasswordChanged,
                Target::person("account", &person),
                &["password"],
                None,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Start enrolling two-factor authentication: a secret to put in an authenticator app.
#[utoipa::path(tag = "me", responses((status = 200, body = TotpEnrolment), AuthErrors, Conflict), security(("bearer" = ["self"])))]
#[post("/v1/me/totp")]
pub async fn enrol_totp(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let (tenant, person) = caller.person()?;
    let app = state.clone();
    let enrolment = state
        .db(move |conn| {
            let label = accounts::get(conn, &tenant, &person)?.username.unwrap_or_else(|| person.0.clone());
            let issuer = kluis_store::tenancy::tenants::get(conn, &tenant)?.name;
            secrets::enrol_totp(conn, &app.master, &tenant, &person, &label, &issuer)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .json(TotpEnrolment { secret: enrolment.secret.to_string(), otpauth_uri: enrolment.otpauth_uri.to_string() }))
}

/// Confirm the enrolment with a first code: 2FA is on; ten recovery codes are shown once.
#[utoipa::path(
    tag = "me",
    request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes), BodyErrors, Conflict),
    security(("bearer" = ["self"]))
)]
#[post("/v1/me/totp/confirm")]
pub async fn confirm_totp(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<TotpCode>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, person) = caller.person()?;
    body.0.validate()?;
    let code = Zeroizing::new(body.0.code);
    let ctx = caller.audit()?;
    let app = state.clone();
    let codes = state
        .write(move |conn| {
            let Some(codes) = secrets::confirm_totp(conn, &app.master, &tenant, &person, &code)? else {
                return Ok(None);
            };
            kluis_audit::record(conn, &ctx, Action::TotpEnabled, Target::person("account", &person), &["totp"], None)?;
            Ok(Some(codes))
        })
        .await?
        .ok_or_else(|| ApiError::invalid("code", "is not a current code of this enrolment"))?;
    Ok(HttpResponse::Ok().json(RecoveryCodes { recovery_codes: codes.iter().map(|c| c.to_string()).collect() }))
}

/// Turn two-factor authentication off; a current code is needed.
#[utoipa::path(tag = "me", request_body = TotpCode, responses((status = 204, description = "Off"), BodyErrors), security(("bearer" = ["self"])))]
#[delete("/v1/me/totp")]
pub async fn disable_totp(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<TotpCode>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, person) = caller.person()?;
    body.0.validate()?;
    let code = Zeroizing::new(body.0.code);
    let ctx = caller.audit()?;
    let app = state.clone();
    let done = state
        .write(move |conn| {
            if !secrets::check_totp(conn, &app.master, &tenant, &person, &code)? {
                return Ok(false);
            }
            secrets::disable_totp(conn, &tenant, &person)?;
            kluis_audit::record(conn, &ctx, Action::TotpDisabled, Target::person("account", &person), &["totp"], None)?;
            Ok(true)
        })
        .await?;
    if done { Ok(HttpResponse::NoContent().finish()) } else { Err(ApiError::invalid("code", "is not a current code")) }
}

/// New recovery codes (the old ones stop working); a current TOTP code is needed.
#[utoipa::path(tag = "me", request_body = TotpCode, responses((status = 200, body = RecoveryCodes), BodyErrors), security(("bearer" = ["self"])))]
#[post("/v1/me/recovery-codes")]
pub async fn new_recovery_codes(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<TotpCode>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, person) = caller.person()?;
    body.0.validate()?;
    let code = Zeroizing::new(body.0.code);
    let ctx = caller.audit()?;
    let app = state.clone();
    let codes = state
        .write(move |conn| {
            if !secrets::check_totp(conn, &app.master, &tenant, &person, &code)? {
                return Ok(None);
            }
            let codes = secrets::regenerate_recovery_codes(conn, &tenant, &person)?;
            kluis_audit::record(
                conn,
                &ctx,
                Action::RecoveryCodesRegenerated,
                Target::person("account", &person),
                &[],
                None,
            )?;
            Ok(Some(codes))
        })
        .await?
        .ok_or_else(|| ApiError::invalid("code", "is not a current code"))?;
    Ok(HttpResponse::Ok().json(RecoveryCodes { recovery_codes: codes.iter().map(|c| c.to_string()).collect() }))
}
