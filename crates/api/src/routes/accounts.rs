//! People's accounts, for administrators (`accounts:admin`). No answer ever
//! holds a password, hash, TOTP seed or token.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_core::Scope;
use kluis_people::accounts::{Account, AccountChanges, AccountStatus, NewAccount};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use zeroize::Zeroizing;

use super::{created, person_path, versioned};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json};
use crate::routes::clients::ScopeSchema;
use crate::state::AppState;

/// Whether an account may sign in.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatusView {
    /// It may.
    Active,
    /// Blocked: no sign-in; its sessions ended when it was blocked.
    Blocked,
}

/// An account. It never shows a password, hash, seed or token.
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    /// The person (also the account's id).
    pub person_id: String,
    /// Username; the primary e-mail signs in too.
    pub username: Option<String>,
    /// `active` or `blocked`.
    pub status: AccountStatusView,
    /// The next sign-in must set a new password.
    pub must_change_password: bool,
    /// Tenant scopes the person may act with once 2FA is on.
    #[schema(value_type = Vec<ScopeSchema>)]
    pub staff_scopes: Vec<Scope>,
    /// Two-factor authentication is on.
    pub totp_enabled: bool,
    /// A password is set.
    pub has_password: bool,
    /// When the password last changed.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub password_changed_at: Option<time::PrimitiveDateTime>,
    /// Version for `If-Match`.
    pub version: i64,
    /// Created.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::PrimitiveDateTime,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: time::PrimitiveDateTime,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        AccountView {
            person_id: a.person_id.0,
            username: a.username,
            status: match a.status {
                AccountStatus::Active => AccountStatusView::Active,
                AccountStatus::Blocked => AccountStatusView::Blocked,
            },
            must_change_password: a.must_change_password,
            staff_scopes: a.staff_scopes,
            totp_enabled: a.totp_enabled,
            has_password: a.has_password,
            password_changed_at: a.password_changed_at,
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Create a person's account.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    /// 3 to 64 letters, digits or `. _ - @ +`; unique in the tenant, in any case.
    #[schema(pattern = "^[A-Za-z0-9._@+-]{3,64}$")]
    pub username: Option<String>,
    /// 8 to 128 characters, not one of the 10,000 most common; without one, only a reset lets the person in.
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    #[schema(min_length = 8, max_length = 128)]
    pub password: Option<String>,
    /// `blocked` to create it blocked.
    pub status: Option<AccountStatusView>,
    /// Tenant scopes for a staff member (granted once they enrol TOTP).
    #[serde(default)]
    #[schema(value_type = Vec<ScopeSchema>)]
    pub staff_scopes: Vec<Scope>,
}

/// Change an account; absent fields stay.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccount {
    /// New username.
    #[schema(pattern = "^[A-Za-z0-9._@+-]{3,64}$")]
    pub username: Option<String>,
    /// `blocked` ends every session at once; `active` lets the person in again.
    pub status: Option<AccountStatusView>,
    /// New staff scopes (ends the account's sessions, so new tokens carry them).
    #[schema(value_type = Option<Vec<ScopeSchema>>)]
    pub staff_scopes: Option<Vec<Scope>>,
}

impl From<AccountStatusView> for AccountStatus {
    fn from(s: AccountStatusView) -> Self {
        match s {
            AccountStatusView::Active => AccountStatus::Active,
            AccountStatusView::Blocked => AccountStatus::Blocked,
        }
    }
}

impl From<CreateAccount> for NewAccount {
    fn from(b: CreateAccount) -> Self {
        NewAccount {
            username: b.username,
            password: b.password,
            blocked: matches!(b.status, Some(AccountStatusView::Blocked)),
            staff_scopes: b.staff_scopes,
        }
    }
}

impl From<UpdateAccount> for AccountChanges {
    fn from(b: UpdateAccount) -> Self {
        AccountChanges {
            username: b.username.map(Some),
            status: b.status.map(AccountStatus::from),
            staff_scopes: b.staff_scopes,
        }
    }
}

/// Set a password as an administrator.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// 8 to 128 characters, not one of the 10,000 most common. The person must change it at the next sign-in.
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

/// Create a person's account. When their primary e-mail is not verified, a verification mail goes out.
#[utoipa::path(
    tag = "accounts",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = CreateAccount,
    responses((status = 201, body = AccountView, description = "Created: the account"), BodyErrors, NotFound, Conflict),
    security(("bearer" = ["accounts:admin"]))
)]
#[post("/v1/people/{person_id}/account")]
pub async fn create_account(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<CreateAccount>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::AccountsAdmin)?;
    body.0.validate()?;
    let person = person_path(path)?;
    let account = kluis_app::accounts::create(&state.app, &scoped, person, body.0.into()).await?;
    let location = format!("/v1/people/{}/account", account.person_id);
    Ok(created(location, account.version, &AccountView::from(account)))
}

/// Read a person's account.
#[utoipa::path(
    tag = "accounts",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = AccountView, description = "The account"), AuthErrors, NotFound),
    security(("bearer" = ["accounts:admin"]))
)]
#[get("/v1/people/{person_id}/account")]
pub async fn get_account(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::AccountsAdmin)?;
    let account = kluis_app::accounts::get(&state.app, &scoped, person_path(path)?).await?;
    Ok(versioned(StatusCode::OK, account.version, &AccountView::from(account)))
}

/// Change an account: username, block or unblock, staff scopes.
#[utoipa::path(
    tag = "accounts",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdateAccount,
    responses((status = 200, body = AccountView, description = "The account"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["accounts:admin"]))
)]
#[patch("/v1/people/{person_id}/account")]
pub async fn update_account(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateAccount>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::AccountsAdmin)?;
    body.0.validate()?;
    let person = person_path(path)?;
    let account = kluis_app::accounts::update(&state.app, &scoped, person, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, account.version, &AccountView::from(account)))
}

/// Set a person's password; they must change it at their next sign-in, and every session ends.
#[utoipa::path(
    tag = "accounts",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = SetPassword,
    responses((status = 204, description = "Set"), BodyErrors, NotFound),
    security(("bearer" = ["accounts:admin"]))
)]
#[post("/v1/people/{person_id}/account/password")]
pub async fn set_password(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<SetPassword>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::AccountsAdmin)?;
    body.0.validate()?;
    let person = person_path(path)?;
    let password = Zeroizing::new(body.0.password);
    kluis_app::accounts::set_password(&state.app, &scoped, person, password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Turn off a person's 2FA (a lost phone): seed and recovery codes are deleted.
#[utoipa::path(
    tag = "accounts",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 204, description = "2FA is off"), AuthErrors, NotFound),
    security(("bearer" = ["accounts:admin"]))
)]
#[delete("/v1/people/{person_id}/account/totp")]
pub async fn reset_totp(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::AccountsAdmin)?;
    kluis_app::accounts::reset_totp(&state.app, &scoped, person_path(path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
