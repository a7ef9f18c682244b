//! Passkeys (WebAuthn): a signed-in person's own (`self`,
//! `/v1/me/passkeys`), signing in with one (`/v1/auth/passkey`, no token),
//! and a person's passkeys for an administrator (`accounts:admin`). The
//! options kluis answers go to `navigator.credentials.create`/`get` as they
//! are (after base64url-decoding the binary fields); what the browser gives
//! back comes as JSON with its binary fields base64url-encoded.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use kluis_core::Scope;
use kluis_people::accounts::passkeys::PasskeyInfo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};
use zeroize::Zeroizing;

use crate::auth::Caller;
use crate::error::responses::{AuthErrors, BodyErrors, NotFound, RateLimited, ServerErrors};
use crate::error::{ApiError, Problem};
use crate::extract::{Json, RequestOrigin};
use crate::routes::signin::{
    ChallengeResponse, DeviceIn, SessionTokens, accept_language, observe, respond, user_agent,
};
use crate::routes::{check_id, person_id};
use crate::state::AppState;

fn json_object(value: &serde_json::Value) -> Result<(), ValidationError> {
    if value.is_object() {
        Ok(())
    } else {
        Err(ValidationError::new("object").with_message("must be the PublicKeyCredential as a JSON object".into()))
    }
}

/// Start registering a passkey.
#[derive(Deserialize, ToSchema, Validate, Default)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistrationStart {
    /// A current TOTP (or recovery) code: needed when the session's sign-in
    /// is older than 10 minutes (otherwise 403 `reauthentication_required`).
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[schema(min_length = 1, max_length = 64)]
    pub totp_code: Option<String>,
}

/// Finish registering a passkey.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistrationFinish {
    /// A name for it, 1 to 100 characters, not only spaces, without control
    /// characters (e.g. "MacBook", "YubiKey").
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// What `navigator.credentials.create` gave, as JSON: `id`, `rawId`,
    /// `type`, `response.attestationObject`, `response.clientDataJSON`
    /// (binary fields base64url), `extensions`.
    #[validate(custom(function = "json_object"))]
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// Rename a passkey; an absent name changes nothing.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRename {
    /// The new name, 1 to 100 characters, not only spaces, without control
    /// characters.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
}

/// A registered passkey: a name and dates, never key material.
#[derive(Serialize, ToSchema)]
pub struct PasskeyView {
    /// Passkey id.
    pub id: String,
    /// The name its owner gave it.
    pub name: String,
    /// The authenticator model's AAGUID (all zeros when the authenticator does not tell).
    pub aaguid: Option<String>,
    /// The authenticator's name, where its AAGUID is a well-known one.
    pub authenticator: Option<String>,
    /// Registered (RFC 3339).
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::PrimitiveDateTime,
    /// Last signed in with (RFC 3339); null: never.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<time::PrimitiveDateTime>,
}

impl From<PasskeyInfo> for PasskeyView {
    fn from(p: PasskeyInfo) -> Self {
        PasskeyView {
            authenticator: p.authenticator().map(str::to_owned),
            id: p.id,
            name: p.name,
            aaguid: p.aaguid,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// A person's passkeys.
#[derive(Serialize, ToSchema)]
pub struct PasskeyList {
    /// Oldest first (at most 20).
    pub items: Vec<PasskeyView>,
    /// Always null: one page holds them all.
    pub next_cursor: Option<String>,
}

fn list_of(items: Vec<PasskeyInfo>) -> PasskeyList {
    PasskeyList { items: items.into_iter().map(PasskeyView::from).collect(), next_cursor: None }
}

/// Options for `navigator.credentials.create` or `get`, as webauthn-rs
/// makes them: `{"publicKey": {...}}` (and `mediation` for a sign-in), the
/// binary fields (`challenge`, `user.id`, credential ids) base64url.
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct PasskeyOptions(serde_json::Value);

/// Ask for passkey sign-in options.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignInStart {
    /// The tenant's slug.
    #[validate(length(min = 1, max = 63, message = "must be 1 to 63 characters"))]
    #[schema(min_length = 1, max_length = 63)]
    pub tenant: String,
}

/// Sign in with a passkey.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignIn {
    /// The tenant's slug.
    #[validate(length(min = 1, max = 63, message = "must be 1 to 63 characters"))]
    #[schema(min_length = 1, max_length = 63)]
    pub tenant: String,
    /// What `navigator.credentials.get` gave, as JSON: `id`, `rawId`,
    /// `type`, `response.authenticatorData`, `response.clientDataJSON`,
    /// `response.signature`, `response.userHandle` (binary fields base64url).
    #[validate(custom(function = "json_object"))]
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// What the client tells of its device, as for a password sign-in.
    pub device: Option<DeviceIn>,
}

/// Start registering a passkey: the options for `navigator.credentials.create`
/// (a discoverable credential, user verification required; the challenge
/// lives 5 minutes and is used once).
#[utoipa::path(
    tag = "me",
    request_body = PasskeyRegistrationStart,
    responses(
        (status = 200, body = PasskeyOptions, description = "Creation options: pass `publicKey` to `navigator.credentials.create`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`passkeys_not_configured`: the tenant has no relying party yet; `passkey_limit`: 20 registered"),
        BodyErrors,
    ),
    security(("bearer" = ["self"]))
)]
#[post("/v1/me/passkeys/registration")]
pub async fn start_passkey_registration(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<PasskeyRegistrationStart>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?;
    body.0.validate()?;
    let code = body.0.totp_code.map(Zeroizing::new);
    let options = kluis_app::passkeys::registration_options(&state.app, &caller, code).await?;
    Ok(HttpResponse::Ok().json(options))
}

/// Register a passkey with what `navigator.credentials.create` gave.
#[utoipa::path(
    tag = "me",
    request_body = PasskeyRegistrationFinish,
    responses(
        (status = 201, body = PasskeyView, description = "Registered"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`passkey_registered`: this credential is registered already; `passkeys_not_configured`"),
        BodyErrors,
    ),
    security(("bearer" = ["self"]))
)]
#[post("/v1/me/passkeys")]
pub async fn register_passkey(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<PasskeyRegistrationFinish>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?;
    body.0.validate()?;
    let PasskeyRegistrationFinish { name, credential } = body.0;
    let made = kluis_app::passkeys::register(&state.app, &caller, name, credential).await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, format!("/v1/me/passkeys/{}", made.id)))
        .json(PasskeyView::from(made)))
}

/// One's passkeys.
#[utoipa::path(
    tag = "me",
    responses((status = 200, body = PasskeyList, description = "The passkeys"), AuthErrors),
    security(("bearer" = ["self"]))
)]
#[get("/v1/me/passkeys")]
pub async fn my_passkeys(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.person()?;
    let items = kluis_app::passkeys::list_own(&state.app, &caller).await?;
    Ok(HttpResponse::Ok().json(list_of(items)))
}

/// Rename one of one's passkeys.
#[utoipa::path(
    tag = "me",
    params(("passkey_id" = String, Path, description = "Passkey id")),
    request_body = PasskeyRename,
    responses((status = 200, body = PasskeyView, description = "Renamed"), BodyErrors, NotFound),
    security(("bearer" = ["self"]))
)]
#[patch("/v1/me/passkeys/{passkey_id}")]
pub async fn rename_my_passkey(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<PasskeyRename>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?;
    let id = path.into_inner();
    check_id(&id)?;
    body.0.validate()?;
    let renamed = kluis_app::passkeys::rename_own(&state.app, &caller, id, body.0.name).await?;
    Ok(HttpResponse::Ok().json(PasskeyView::from(renamed)))
}

/// Remove one of one's passkeys; the sessions it started end.
#[utoipa::path(
    tag = "me",
    params(("passkey_id" = String, Path, description = "Passkey id")),
    responses((status = 204, description = "Removed; its sessions ended"), AuthErrors, NotFound),
    security(("bearer" = ["self"]))
)]
#[delete("/v1/me/passkeys/{passkey_id}")]
pub async fn delete_my_passkey(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?;
    let id = path.into_inner();
    check_id(&id)?;
    kluis_app::passkeys::revoke_own(&state.app, &caller, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A person's passkeys (names, dates, authenticator; never key material).
#[utoipa::path(
    tag = "accounts",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = PasskeyList, description = "The passkeys"), AuthErrors, NotFound),
    security(("bearer" = ["accounts:admin"]))
)]
#[get("/v1/people/{person_id}/passkeys")]
pub async fn person_passkeys(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::AccountsAdmin)?;
    let person = person_id(path.into_inner())?;
    let items = kluis_app::passkeys::list_of(&state.app, &scoped, person).await?;
    Ok(HttpResponse::Ok().json(list_of(items)))
}

/// Revoke one of a person's passkeys; the sessions it started end.
#[utoipa::path(
    tag = "accounts",
    params(("person_id" = String, Path, description = "Person id"), ("passkey_id" = String, Path, description = "Passkey id")),
    responses((status = 204, description = "Revoked; its sessions ended"), AuthErrors, NotFound),
    security(("bearer" = ["accounts:admin"]))
)]
#[delete("/v1/people/{person_id}/passkeys/{passkey_id}")]
pub async fn revoke_person_passkey(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::AccountsAdmin)?;
    let (person, id) = path.into_inner();
    let person = person_id(person)?;
    check_id(&id)?;
    kluis_app::passkeys::revoke_of(&state.app, &scoped, person, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Start a passkey sign-in: options for `navigator.credentials.get` with a
/// discoverable credential (no account named; `mediation: conditional` for
/// autofill, leave it out for a button). The challenge lives 5 minutes and
/// is used once.
#[utoipa::path(
    tag = "auth",
    request_body = PasskeySignInStart,
    responses(
        (status = 200, body = PasskeyOptions, description = "Request options: pass `publicKey` (and `mediation`) to `navigator.credentials.get`"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "Malformed JSON"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "No such active tenant"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`passkeys_not_configured`: the tenant has no relying party yet"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "Body too large"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "Not JSON"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Field errors"),
        RateLimited,
        ServerErrors,
    )
)]
#[post("/v1/auth/passkey/options")]
pub async fn passkey_sign_in_options(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    body: Json<PasskeySignInStart>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    let options = kluis_app::passkeys::sign_in_options(&state.app, &origin.0, body.0.tenant).await?;
    Ok(HttpResponse::Ok().json(options))
}

/// Sign in with a passkey: the same answers as a password sign-in.
#[utoipa::path(
    tag = "auth",
    request_body = PasskeySignIn,
    responses(
        (status = 200, body = SessionTokens, description = "Signed in"),
        (status = 202, body = ChallengeResponse, description = "One more step: an unfamiliar device, a code was mailed (`email_code`)"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "`passkey_invalid`: unknown credential, wrong signature, origin or RP ID, a used or expired challenge: always the same answer"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`device_unverifiable`, as for a password sign-in"),
        RateLimited,
        BodyErrors,
    )
)]
#[post("/v1/auth/passkey")]
pub async fn passkey_sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<PasskeySignIn>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    if let Some(device) = &body.0.device {
        device.validate()?;
    }
    let origin = crate::extract::origin(&req);
    let PasskeySignIn { tenant, credential, device } = body.0;
    let seen = observe(device, user_agent(&req), accept_language(&req), origin.ip);
    let step = kluis_app::passkeys::sign_in(&state.app, &origin, tenant, credential, seen).await?;
    respond(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_must_be_an_object() {
        assert!(json_object(&serde_json::json!({"id": "x"})).is_ok());
        assert!(json_object(&serde_json::json!("x")).is_err());
        assert!(PasskeyRegistrationStart::default().validate().is_ok());
    }
}
