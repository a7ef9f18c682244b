//! A signed-in person's own credentials and sessions (`/v1/me`, scope
//! `self`): their password, two-factor authentication, recovery codes and
//! the sessions they are signed in with.

use kluis_audit::{Action, Target};
use kluis_people::accounts::sessions::{self, Session};
use kluis_people::accounts::{self, password, secrets};
use zeroize::Zeroizing;

use crate::{App, AppError, AppResult, Context};

/// Change one's own password: the current one must match. Every session
/// ends, this one too.
pub async fn change_password(
    app: &App,
    ctx: &Context,
    current: Zeroizing<String>,
    new: Zeroizing<String>,
) -> AppResult<()> {
    let (tenant, person) = ctx.person()?;
    password::check("new_password", &new)?;
    let (t, p) = (tenant.clone(), person.clone());
    let stored = app.read(move |conn| accounts::password_hash(conn, &t, &p)).await?;
    let hash = app
        .hash(
            move || {
                if password::verify(&current, stored.as_deref()) { password::hash(&new).map(Some) } else { Ok(None) }
            },
        )
        .await??
        .ok_or_else(|| AppError::invalid("current_password", "is not the current password"))?;
    app.audited(ctx.audit()?, Action::PasswordChanged, vec!["password"], move |conn| {
        accounts::set_password(conn, &tenant, &person, &hash, false)?;
        Ok(((), Target::person("account", &person)))
    })
    .await
}

/// Start enrolling TOTP: a new seed, not in force until confirmed, labelled
/// with the username (or the person id) and the tenant's name.
pub async fn enrol_totp(app: &App, ctx: &Context) -> AppResult<secrets::Enrolment> {
    let (tenant, person) = ctx.person()?;
    let master = app.master.clone();
    app.with_conn(move |conn| {
        let label = accounts::get(conn, &tenant, &person)?.username.unwrap_or_else(|| person.0.clone());
        let issuer = kluis_store::tenancy::tenants::get(conn, &tenant)?.name;
        secrets::enrol_totp(conn, &master, &tenant, &person, &label, &issuer)
    })
    .await
}

/// Confirm the TOTP enrolment with a first code: 2FA is on, and ten
/// recovery codes are returned, this once.
pub async fn confirm_totp(app: &App, ctx: &Context, code: Zeroizing<String>) -> AppResult<Vec<Zeroizing<String>>> {
    let (tenant, person) = ctx.person()?;
    let (audit, master) = (ctx.audit()?, app.master.clone());
    app.in_transaction(move |conn| {
        let Some(codes) = secrets::confirm_totp(conn, &master, &tenant, &person, &code)? else {
            return Ok(None);
        };
        kluis_audit::record(conn, &audit, Action::TotpEnabled, Target::person("account", &person), &["totp"], None)?;
        Ok(Some(codes))
    })
    .await?
    .ok_or_else(|| AppError::invalid("code", "is not a current code of this enrolment"))
}

/// Turn two-factor authentication off; a current code is needed.
pub async fn disable_totp(app: &App, ctx: &Context, code: Zeroizing<String>) -> AppResult<()> {
    let (tenant, person) = ctx.person()?;
    let (audit, master) = (ctx.audit()?, app.master.clone());
    let done = app
        .in_transaction(move |conn| {
            if !secrets::check_totp(conn, &master, &tenant, &person, &code)? {
                return Ok(false);
            }
            secrets::disable_totp(conn, &tenant, &person)?;
            let target = Target::person("account", &person);
            kluis_audit::record(conn, &audit, Action::TotpDisabled, target, &["totp"], None)?;
            Ok(true)
        })
        .await?;
    if done { Ok(()) } else { Err(AppError::invalid("code", "is not a current code")) }
}

/// New recovery codes with a current TOTP code; the old ones stop working.
pub async fn new_recovery_codes(
    app: &App,
    ctx: &Context,
    code: Zeroizing<String>,
) -> AppResult<Vec<Zeroizing<String>>> {
    let (tenant, person) = ctx.person()?;
    let (audit, master) = (ctx.audit()?, app.master.clone());
    app.in_transaction(move |conn| {
        if !secrets::check_totp(conn, &master, &tenant, &person, &code)? {
            return Ok(None);
        }
        let codes = secrets::regenerate_recovery_codes(conn, &tenant, &person)?;
        let target = Target::person("account", &person);
        kluis_audit::record(conn, &audit, Action::RecoveryCodesRegenerated, target, &[], None)?;
        Ok(Some(codes))
    })
    .await?
    .ok_or_else(|| AppError::invalid("code", "is not a current code"))
}

/// One's live sessions, newest first.
pub async fn list_sessions(app: &App, ctx: &Context) -> AppResult<Vec<Session>> {
    let (tenant, person) = ctx.person()?;
    app.read(move |conn| sessions::list(conn, &tenant, &person)).await
}

/// End one of one's sessions (sign out elsewhere); another person's is 404.
pub async fn revoke_session(app: &App, ctx: &Context, session: String) -> AppResult<()> {
    let (tenant, person) = ctx.person()?;
    app.audited(ctx.audit()?, Action::SessionRevoked, Vec::new(), move |conn| {
        sessions::revoke(conn, &tenant, &person, &session)?;
        Ok(((), Target::person("session", &person)))
    })
    .await
}
