//! A signed-in person's own credentials (`self`): password, two-factor
//! authentication and recovery codes.

use actix_web::{HttpResponse, delete, post, web};
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
    #[schema(max_length = 1024)]
    pub current_password: String,
    /// The new one: 8 to 128 characters, not a common one.
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    #[schema(min_length = 8, max_length = 128)]
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
    #[schema(min_length = 6, max_length = 8)]
    pub code: String,
}

/// Recovery codes, shown once; each works once in place of a TOTP code.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten codes.
    pub recovery_codes: Vec<String>,
}

impl From<Vec<Zeroizing<String>>> for RecoveryCodes {
    fn from(codes: Vec<Zeroizing<String>>) -> Self {
        RecoveryCodes { recovery_codes: codes.iter().map(|c| c.to_string()).collect() }
    }
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
    caller.person()?;
    body.0.validate()?;
    let current = Zeroizing::new(body.0.current_password);
    let new_password = Zeroizing::new(body.0.new_password);
    kluis_app::me::change_password(&state.app, &caller, current, new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Start enrolling two-factor authentication: a secret to put in an authenticator app.
#[utoipa::path(tag = "me", responses((status = 200, body = TotpEnrolment, description = "The TOTP secret and its otpauth URI, to confirm with a code"), AuthErrors, Conflict), security(("bearer" = ["self"])))]
#[post("/v1/me/totp")]
pub async fn enrol_totp(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let enrolment = kluis_app::me::enrol_totp(&state.app, &caller).await?;
    Ok(HttpResponse::Ok()
        .json(TotpEnrolment { secret: enrolment.secret.to_string(), otpauth_uri: enrolment.otpauth_uri.to_string() }))
}

/// Confirm the enrolment with a first code: 2FA is on; ten recovery codes are shown once.
#[utoipa::path(
    tag = "me",
    request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes, description = "The new recovery codes, shown only now"), BodyErrors, Conflict),
    security(("bearer" = ["self"]))
)]
#[post("/v1/me/totp/confirm")]
pub async fn confirm_totp(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<TotpCode>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?;
    body.0.validate()?;
    let codes = kluis_app::me::confirm_totp(&state.app, &caller, Zeroizing::new(body.0.code)).await?;
    Ok(HttpResponse::Ok().json(RecoveryCodes::from(codes)))
}

/// Turn two-factor authentication off; a current code is needed.
#[utoipa::path(tag = "me", request_body = TotpCode, responses((status = 204, description = "Off"), BodyErrors), security(("bearer" = ["self"])))]
#[delete("/v1/me/totp")]
pub async fn disable_totp(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<TotpCode>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?;
    body.0.validate()?;
    kluis_app::me::disable_totp(&state.app, &caller, Zeroizing::new(body.0.code)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// New recovery codes (the old ones stop working); a current TOTP code is needed.
#[utoipa::path(tag = "me", request_body = TotpCode, responses((status = 200, body = RecoveryCodes, description = "The new recovery codes, shown only now"), BodyErrors), security(("bearer" = ["self"])))]
#[post("/v1/me/recovery-codes")]
pub async fn new_recovery_codes(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<TotpCode>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?;
    body.0.validate()?;
    let codes = kluis_app::me::new_recovery_codes(&state.app, &caller, Zeroizing::new(body.0.code)).await?;
    Ok(HttpResponse::Ok().json(RecoveryCodes::from(codes)))
}
