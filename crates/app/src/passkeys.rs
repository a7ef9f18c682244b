//! Passkeys: a signed-in person registers, lists, renames and removes their
//! own (`/v1/me/passkeys`); anyone signs in with one (`/v1/auth/passkey`),
//! with the same outcomes, audit entries and device record as a password
//! sign-in; an administrator (`accounts:admin`) lists and revokes a
//! person's. Revoking a passkey ends the sessions it started.

use std::sync::Arc;

use kluis_audit::{Action, Target};
use kluis_core::PersonId;
use kluis_devices::Observation;
use kluis_people::accounts::passkeys::{self, Assertion, PasskeyInfo};
use kluis_people::accounts::{self, AccountStatus, challenges::ChallengeKind, secrets, sessions};
use kluis_store::tenancy::tenants;
use serde_json::Value;
use time::Duration;
use zeroize::Zeroizing;

use crate::limiter::Flow;
use crate::signin::{SignIn, next_step};
use crate::{App, AppError, AppResult, Context, Origin, Scoped};

/// How recent a sign-in must be to register a passkey without a TOTP code.
pub const RECENT_SIGN_IN: Duration = Duration::minutes(10);

fn refused() -> AppError {
    AppError::Unauthorized {
        code: "passkey_invalid",
        detail: "the passkey was not accepted: unknown credential, wrong signature, origin or RP ID, or a used or \
                 expired challenge",
    }
}

fn not_recent() -> AppError {
    AppError::forbidden(
        "reauthentication_required",
        "registering a passkey needs a sign-in of the last 10 minutes, or a current TOTP code as `totp_code`",
    )
}

/// Start registering a passkey: the creation options for
/// `navigator.credentials.create`. Needs a sign-in of the last
/// [`RECENT_SIGN_IN`], or a current TOTP (or recovery) code.
pub async fn registration_options(app: &App, ctx: &Context, totp_code: Option<Zeroizing<String>>) -> AppResult<Value> {
    let (tenant, person) = ctx.person()?;
    let session = ctx.session_id().unwrap_or_default().to_owned();
    let master = app.master.clone();
    let audit = ctx.audit()?;
    let outcome = app
        .in_transaction(move |conn| {
            let started = sessions::started_at(conn, &tenant, &person, &session)?;
            let recent = started.is_some_and(|at| at + RECENT_SIGN_IN > kluis_core::time::now());
            if !recent {
                let Some(code) = totp_code else { return Ok(None) };
                if !secrets::check_totp(conn, &master, &tenant, &person, &code)? {
                    let target = Target::person("account", &person);
                    kluis_audit::record(conn, &audit, Action::ChallengeFailed, target, &["totp"], None)?;
                    return Ok(Some(Err(AppError::invalid("totp_code", "is not a current code"))));
                }
            }
            let settings = tenants::get(conn, &tenant)?;
            let account = accounts::get(conn, &tenant, &person)?;
            let label = account.username.unwrap_or_else(|| person.0.clone());
            Ok(Some(Ok(passkeys::start_registration(conn, &settings, &person, &label, &label)?)))
        })
        .await?;
    outcome.ok_or_else(not_recent)?
}

/// Finish registering a passkey under `name` with the authenticator's
/// answer. The registration ceremony is spent even when the answer is
/// refused (422), so it cannot be tried twice.
pub async fn register(app: &App, ctx: &Context, name: String, credential: Value) -> AppResult<PasskeyInfo> {
    let (tenant, person) = ctx.person()?;
    passkeys::check_name(&name)?;
    let audit = ctx.audit()?;
    app.in_transaction(move |conn| {
        let settings = tenants::get(conn, &tenant)?;
        let outcome = passkeys::finish_registration(conn, &settings, &person, &name, &credential)?;
        if let Ok(made) = &outcome {
            let target = Target::person("passkey", &person);
            kluis_audit::record(conn, &audit, Action::PasskeyRegistered, target, &["name"], None)?;
            tracing::info!(tenant.id = %tenant, passkey.id = %made.id, "passkey registered");
        }
        Ok(outcome)
    })
    .await?
    .map_err(AppError::from)
}

/// One's own passkeys, oldest first.
pub async fn list_own(app: &App, ctx: &Context) -> AppResult<Vec<PasskeyInfo>> {
    let (tenant, person) = ctx.person()?;
    app.read(move |conn| passkeys::list(conn, &tenant, &person)).await
}

/// Rename one of one's passkeys (`None`: a change of nothing); another's is 404.
pub async fn rename_own(app: &App, ctx: &Context, id: String, name: Option<String>) -> AppResult<PasskeyInfo> {
    let (tenant, person) = ctx.person()?;
    if let Some(name) = &name {
        passkeys::check_name(name)?;
    }
    let fields = if name.is_some() { vec!["name"] } else { Vec::new() };
    app.audited(ctx.audit()?, Action::PasskeyRenamed, fields, move |conn| {
        let renamed = passkeys::rename(conn, &tenant, &person, &id, name.as_deref())?;
        Ok((renamed, Target::person("passkey", &person)))
    })
    .await
}

/// Remove one of one's passkeys; the sessions it started end.
pub async fn revoke_own(app: &App, ctx: &Context, id: String) -> AppResult<()> {
    let (tenant, person) = ctx.person()?;
    app.audited(ctx.audit()?, Action::PasskeyRevoked, Vec::new(), move |conn| {
        passkeys::revoke(conn, &tenant, &person, &id)?;
        Ok(((), Target::person("passkey", &person)))
    })
    .await
}

/// A person's passkeys, for an administrator (names, dates, AAGUID; never
/// key material); the read is audited. A person without an account, or of
/// another tenant, is 404.
pub async fn list_of(app: &App, caller: &Scoped<'_>, person: PersonId) -> AppResult<Vec<PasskeyInfo>> {
    let tenant = caller.tenant.clone();
    let target = Target::person("passkey", &person);
    let found = app
        .read(move |conn| {
            accounts::get(conn, &tenant, &person)?;
            passkeys::list(conn, &tenant, &person)
        })
        .await?;
    app.audit_reads.read(&caller.audit(), Action::PasskeyRead, target, &["name", "aaguid"], None).await;
    Ok(found)
}

/// Revoke one of a person's passkeys as an administrator; the sessions it
/// started end.
pub async fn revoke_of(app: &App, caller: &Scoped<'_>, person: PersonId, id: String) -> AppResult<()> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::PasskeyRevoked, Vec::new(), move |conn| {
        passkeys::revoke(conn, &tenant, &person, &id)?;
        Ok(((), Target::person("passkey", &person)))
    })
    .await
}

/// Start a passkey sign-in at the tenant named by its slug: request options
/// for a discoverable credential. An unknown or suspended tenant is 404;
/// passkeys off is 409. Rate-limited per client IP.
pub async fn sign_in_options(app: &App, origin: &Origin, slug: String) -> AppResult<Value> {
    app.rates.hit_ip(Flow::ChallengePerIp, origin.ip)?;
    app.in_transaction(move |conn| {
        let tenant = match tenants::get_by_slug(conn, &slug) {
            Ok(t) if t.status.is_active() => t,
            _ => return Err(kluis_core::DomainError::NotFound.into()),
        };
        passkeys::start_authentication(conn, &tenant)
    })
    .await
}

/// Sign in with a passkey assertion: the same outcomes as a password
/// sign-in (a session, a device step-up challenge, or a refusal), with the
/// same audit entries and device record. Unknown credential, wrong
/// signature, origin or RP ID, and a used or expired challenge all answer
/// the same 401, audited as `passkey.failed`; a counter that did not advance
/// is refused too and audited as `passkey.clone_warning`.
pub async fn sign_in(
    app: &Arc<App>,
    origin: &Origin,
    slug: String,
    credential: Value,
    seen: Observation,
) -> AppResult<SignIn> {
    app.rates.hit_ip(Flow::ChallengePerIp, origin.ip)?;
    let (shared, origin) = (app.clone(), origin.clone());
    app.in_transaction(move |conn| {
        let tenant = match tenants::get_by_slug(conn, &slug) {
            Ok(t) if t.status.is_active() && t.passkey_rp_id.is_some() => t,
            _ => return Ok(Err(refused())),
        };
        let (person, passkey_id) = match passkeys::finish_authentication(conn, &tenant, &credential)? {
            Assertion::Verified { person, passkey_id } => (person, passkey_id),
            Assertion::CloneSuspected { person, passkey_id } => {
                let ctx = origin.person_audit(tenant.id.clone(), Some(&person));
                let target = Target::person("passkey", &person);
                kluis_audit::record(conn, &ctx, Action::PasskeyCloneWarning, target, &["counter"], None)?;
                kluis_audit::record(conn, &ctx, Action::LoginFailed, Target::none(), &[], None)?;
                tracing::warn!(tenant.id = %tenant.id, passkey.id = %passkey_id, "passkey counter went back");
                return Ok(Err(refused()));
            }
            Assertion::Refused => {
                let ctx = origin.person_audit(tenant.id.clone(), None);
                kluis_audit::record(conn, &ctx, Action::PasskeyFailed, Target::none(), &[], None)?;
                kluis_audit::record(conn, &ctx, Action::LoginFailed, Target::none(), &[], None)?;
                return Ok(Err(refused()));
            }
        };
        let ctx = origin.person_audit(tenant.id.clone(), Some(&person));
        let account = accounts::get(conn, &tenant.id, &person)?;
        if account.status != AccountStatus::Active {
            kluis_audit::record(conn, &ctx, Action::LoginFailed, Target::none(), &[], None)?;
            return Ok(Err(refused()));
        }
        // The passkey (user verified) is both factors: no password, no TOTP.
        let done = [ChallengeKind::Totp, ChallengeKind::PasswordChange];
        next_step(&shared, conn, &ctx, &account, &done, &seen, Some(&passkey_id)).map(Ok)
    })
    .await?
}
