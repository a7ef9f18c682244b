//! Sign-in for people: a password, then challenges (TOTP, a new password, a
//! code mailed for an unfamiliar device), then a session with a short access
//! token and a rotating refresh token; e-mail verification and password
//! reset by mailed single-use tokens. Unknown user, wrong password and
//! blocked account are refused alike, after the same argon2 work. An
//! unfamiliar device with nothing to confirm it by is refused unless the
//! tenant chose to trust it (fail closed).

use std::sync::Arc;

use kluis_audit::{Action, Target};
use kluis_core::{PersonId, Scope, TenantId};
use kluis_devices::{Observation, Recognition};
use kluis_people::accounts::challenges::{self, Challenge, ChallengeKind};
use kluis_people::accounts::{self, Account, AccountStatus, Attempt, SignInTarget, password, secrets, sessions};
use kluis_store::Db;
use kluis_store::error::TxError;
use kluis_store::tenancy::{UnverifiedDevice, tenants};
use zeroize::Zeroizing;

use crate::limiter::Flow;
use crate::{App, AppError, AppResult, Context, Origin};

/// What a sign-in carries across its challenges: the device observation
/// and, for a passkey sign-in, the passkey (it starts the session).
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Pending {
    #[serde(flatten)]
    seen: Observation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    passkey_id: Option<String>,
}

/// A password sign-in, as the person typed it.
pub struct PasswordSignIn {
    /// The tenant's slug.
    pub tenant: String,
    /// Username or primary e-mail address, any case.
    pub identifier: String,
    /// The password.
    pub password: Zeroizing<String>,
}

/// An answer to a challenge: a code (`totp`, `email_code`) or a new
/// password (`password_change`).
pub struct Answer {
    /// A TOTP code, a recovery code or the mailed code.
    pub code: Option<Zeroizing<String>>,
    /// The new password.
    pub new_password: Option<Zeroizing<String>>,
}

/// A started (or refreshed) session's tokens.
#[derive(Debug)]
pub struct Tokens {
    /// The access token.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Space-separated scopes.
    pub scope: String,
    /// The single-use refresh token.
    pub refresh_token: String,
    /// The device the session runs on (a sign-in, not a refresh).
    pub device_id: Option<String>,
    /// A newly trusted device's key, for the client to keep.
    pub device_key: Option<String>,
}

/// Where a sign-in stands after a step.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in.
    Session(Tokens),
    /// One more step: this challenge must be answered.
    Challenge(Challenge),
    /// The password (and any challenge) was right, but the sign-in is
    /// refused; the refusal is in the audit log.
    Refused(Refused),
}

/// Why a sign-in that got everything right was refused anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// An unfamiliar device, and nothing to confirm it by: no verified
    /// e-mail address to mail a code to, no TOTP, and the tenant does not
    /// trust such devices. `reminded`: the person has an unverified primary
    /// address, and a verification mail went to it (now or in the last
    /// [`secrets::REMIND_INTERVAL`]).
    DeviceUnverifiable {
        /// A verification mail is on its way to the primary address.
        reminded: bool,
    },
}

impl From<Refused> for AppError {
    fn from(refused: Refused) -> Self {
        const WHY: &str = "this device is new to the account, and the account has neither a verified e-mail \
                           address nor two-factor authentication to confirm it with";
        let how = match refused {
            Refused::DeviceUnverifiable { reminded: true } => {
                "a verification mail with a code has been sent to the account's e-mail address (at most one \
                 every 10 minutes): enter that code in the app (it is sent as {\"token\"} to POST \
                 /v1/auth/verify-email), then sign in again"
            }
            Refused::DeviceUnverifiable { reminded: false } => {
                "the account has no e-mail address: ask the organisation to add one to your account, verify it \
                 with the code mailed to it (POST /v1/auth/verify-email), then sign in again"
            }
        };
        AppError::forbidden("device_unverifiable", format!("{WHY}; {how}"))
    }
}

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRefused {
    /// Unknown, used before, expired or revoked.
    Invalid,
    /// Used before: a stolen token came back, and its session is ended.
    Reused,
}

fn bad_credentials() -> AppError {
    AppError::Unauthorized {
        code: "invalid_credentials",
        detail: "unknown account, wrong password, or the account is blocked",
    }
}

fn challenge_dead() -> AppError {
    AppError::Unauthorized {
        code: "challenge_invalid",
        detail: "the challenge is unknown, expired, or dead after too many tries",
    }
}

fn wrong_code() -> AppError {
    AppError::Unauthorized { code: "invalid_code", detail: "the code is wrong or already used" }
}

fn token_invalid() -> AppError {
    AppError::BadRequest { code: "token_invalid", detail: "the token is unknown, used or expired".to_owned() }
}

/// Sign in with a password: the session, or the first challenge. Refused
/// (401) alike for an unknown tenant or account, a wrong password and a
/// blocked account; throttled (429) per identifier, in memory and in the
/// account's own failure window.
pub async fn start(app: &Arc<App>, origin: &Origin, login: PasswordSignIn, seen: Observation) -> AppResult<SignIn> {
    let PasswordSignIn { tenant: slug, identifier, password } = login;
    let limit_key = format!("login:{slug}:{}", identifier.trim().to_lowercase());
    app.limiter.check(&limit_key).map_err(AppError::RateLimited)?;
    let (tenant, target) = begin(app, slug, identifier).await?;
    let hash = target.as_ref().and_then(|t| t.password_hash.clone());
    let (verified, rehash) = check_password(app, password, hash).await?;
    let target = target.filter(|t| verified && t.status == AccountStatus::Active);
    let (Some(tenant), Some(target)) = (tenant.clone(), target) else {
        if let Some(tenant) = tenant {
            let ctx = origin.person_audit(tenant, None);
            app.audited(ctx, Action::LoginFailed, vec![], |_| Ok(((), Target::none()))).await?;
        }
        app.limiter.fail(&limit_key);
        return Err(bad_credentials());
    };
    app.limiter.succeed(&limit_key);
    let ctx = origin.person_audit(tenant.clone(), Some(&target.person_id));
    let shared = app.clone();
    app.in_transaction(move |conn| {
        let account = accounts::finish_sign_in(conn, &tenant, &target.person_id, rehash)?;
        next_step(&shared, conn, &ctx, &account, &[], &seen, None)
    })
    .await
}

/// Find the active tenant and the account the identifier names, reserving
/// one attempt on it (`None`s: no such active tenant or account). An
/// account out of attempts is throttled, and its tenant's log counts that
/// without naming the identifier.
async fn begin(app: &App, slug: String, identifier: String) -> AppResult<(Option<TenantId>, Option<SignInTarget>)> {
    let attempt = app
        .in_transaction(move |conn| {
            let tenant = match tenants::get_by_slug(conn, &slug) {
                Ok(t) if t.status == tenants::TenantStatus::Active => t,
                _ => return Ok(None),
            };
            let attempt = accounts::begin_sign_in(conn, &tenant.id, &identifier)?;
            if let Attempt::Throttled(_) = &attempt {
                let ctx = kluis_audit::Context::person(tenant.id.clone(), None, None, None);
                kluis_audit::record(conn, &ctx, Action::LoginThrottled, Target::none(), &[], None)?;
            }
            Ok(Some((tenant.id, attempt)))
        })
        .await?;
    match attempt {
        Some((_, Attempt::Throttled(retry))) => Err(AppError::RateLimited(retry)),
        Some((tenant, Attempt::Verify(target))) => Ok((Some(tenant), target)),
        None => Ok((None, None)),
    }
}

/// Check a password against the stored hash (against a dummy when there is
/// none, so an unknown account costs the same argon2 work); a right password
/// under old hash parameters comes back hashed anew.
async fn check_password(
    app: &App,
    password: Zeroizing<String>,
    hash: Option<String>,
) -> AppResult<(bool, Option<String>)> {
    app.hash(move || {
        let ok = password::verify(&password, hash.as_deref());
        let rehash = if ok && hash.as_deref().is_some_and(password::needs_rehash) {
            password::hash(&password).ok()
        } else {
            None
        };
        (ok, rehash)
    })
    .await
}

/// Answer a sign-in challenge: the session, or the next challenge. Answers
/// are rate-limited per client IP (429); the try is counted (and committed)
/// before the answer is checked; a wrong code is refused (401) and audited.
pub async fn answer(app: &Arc<App>, origin: &Origin, id: String, answer: Answer) -> AppResult<SignIn> {
    app.rates.hit_ip(Flow::ChallengePerIp, origin.ip)?;
    if !kluis_core::ids::is_uuid(&id) {
        return Err(challenge_dead());
    }
    let challenge =
        app.in_transaction(move |conn| challenges::take_try(conn, &id)).await?.ok_or_else(challenge_dead)?;
    let ctx = origin.person_audit(challenge.tenant.clone(), Some(&challenge.person_id));
    let seen: Pending = challenge.pending.as_deref().and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default();
    let step = match challenge.kind {
        ChallengeKind::Totp => {
            let code = answer.code.ok_or_else(|| AppError::invalid("code", "a totp challenge needs a code"))?;
            answer_totp(app, ctx, challenge, code, seen).await?
        }
        ChallengeKind::PasswordChange => {
            let new_password = answer
                .new_password
                .ok_or_else(|| AppError::invalid("new_password", "a password_change challenge needs new_password"))?;
            change_password(app, ctx, challenge, new_password, seen).await.map(Some)?
        }
        ChallengeKind::EmailCode => {
            let code = answer
                .code
                .ok_or_else(|| AppError::invalid("code", "an email_code challenge needs the mailed code"))?;
            answer_email_code(app, ctx, challenge, code, seen).await?
        }
    };
    step.ok_or_else(wrong_code)
}

/// A TOTP or recovery code (`None`: wrong, and audited so).
async fn answer_totp(
    app: &Arc<App>,
    ctx: kluis_audit::Context,
    challenge: Challenge,
    code: Zeroizing<String>,
    seen: Pending,
) -> AppResult<Option<SignIn>> {
    let shared = app.clone();
    app.in_transaction(move |conn| {
        let (tenant, person) = (&challenge.tenant, &challenge.person_id);
        let target = || Target::person("account", person);
        let ok = secrets::check_totp(conn, &shared.master, tenant, person, &code)?
            || secrets::use_recovery_code(conn, tenant, person, &code)?;
        if !ok {
            kluis_audit::record(conn, &ctx, Action::ChallengeFailed, target(), &["totp"], None)?;
            return Ok(None);
        }
        challenges::close(conn, &challenge)?;
        kluis_audit::record(conn, &ctx, Action::ChallengePassed, target(), &["totp"], None)?;
        let account = accounts::get(conn, tenant, person)?;
        next_step(&shared, conn, &ctx, &account, &[ChallengeKind::Totp], &seen.seen, seen.passkey_id.as_deref())
            .map(Some)
    })
    .await
}

/// A new password, checked (422) and hashed before the transaction.
async fn change_password(
    app: &Arc<App>,
    ctx: kluis_audit::Context,
    challenge: Challenge,
    new_password: Zeroizing<String>,
    seen: Pending,
) -> AppResult<SignIn> {
    password::check("new_password", &new_password)?;
    let hash = app.hash(move || password::hash(&new_password)).await??;
    let shared = app.clone();
    app.in_transaction(move |conn| {
        let (tenant, person) = (&challenge.tenant, &challenge.person_id);
        accounts::set_password(conn, tenant, person, &hash, false)?;
        challenges::close(conn, &challenge)?;
        let target = Target::person("account", person);
        kluis_audit::record(conn, &ctx, Action::ChallengePassed, target, &["password"], None)?;
        let account = accounts::get(conn, tenant, person)?;
        let done = [ChallengeKind::Totp, ChallengeKind::PasswordChange];
        next_step(&shared, conn, &ctx, &account, &done, &seen.seen, seen.passkey_id.as_deref())
    })
    .await
}

/// The code mailed for an unfamiliar device (`None`: wrong, and audited so).
async fn answer_email_code(
    app: &Arc<App>,
    ctx: kluis_audit::Context,
    challenge: Challenge,
    code: Zeroizing<String>,
    seen: Pending,
) -> AppResult<Option<SignIn>> {
    let shared = app.clone();
    app.in_transaction(move |conn| {
        let (tenant, person) = (&challenge.tenant, &challenge.person_id);
        let right =
            challenge.code_hash.as_deref().is_some_and(|hash| kluis_store::crypto::verify_secret(code.trim(), hash));
        if !right {
            kluis_audit::record(conn, &ctx, Action::StepUpFailed, Target::person("device", person), &[], None)?;
            return Ok(None);
        }
        challenges::close(conn, &challenge)?;
        kluis_audit::record(conn, &ctx, Action::StepUpPassed, Target::person("device", person), &[], None)?;
        let account = accounts::get(conn, tenant, person)?;
        let all = [ChallengeKind::Totp, ChallengeKind::PasswordChange, ChallengeKind::EmailCode];
        next_step(&shared, conn, &ctx, &account, &all, &seen.seen, seen.passkey_id.as_deref()).map(Some)
    })
    .await
}

/// The scopes a signed-in person's token carries: `self`, and staff scopes
/// once the account has TOTP, or the session was started with a passkey
/// (with user verification: a second factor on its own), or always, when
/// the tenant does not require a second factor; `service:reveal` only with
/// a second factor, whatever the tenant says.
pub(crate) fn person_scopes(account: &Account, tenant: &tenants::Tenant, passkey: bool) -> Vec<Scope> {
    let mut scopes = vec![Scope::OwnData];
    let second_factor = account.totp_enabled || passkey;
    if second_factor || !tenant.require_staff_totp {
        scopes.extend(account.staff_scopes.iter().copied().filter(|s| *s != Scope::ServiceReveal || second_factor));
    }
    scopes.sort();
    scopes.dedup();
    scopes
}

/// The sign-in state machine: open the next challenge, or start the session
/// when none remains. The device is the last step: a known key or a familiar
/// device goes through; an unfamiliar one (once the tenant asks for that
/// step-up) needs a code mailed to the verified primary address, or the
/// TOTP code this sign-in already gave; with neither, the tenant's
/// `unverified_device` setting refuses the sign-in (the default) or trusts
/// the device. `passkey`: the sign-in was made with this passkey (user
/// verified), which stands in for the password and TOTP steps.
pub(crate) fn next_step(
    app: &App,
    conn: &mut Db,
    ctx: &kluis_audit::Context,
    account: &Account,
    done: &[ChallengeKind],
    seen: &Observation,
    passkey: Option<&str>,
) -> Result<SignIn, TxError> {
    let tenant = &ctx.tenant;
    let person = &account.person_id;
    let settings = tenants::get(conn, tenant)?;
    let pending = serde_json::to_string(&Pending { seen: seen.clone(), passkey_id: passkey.map(str::to_owned) }).ok();
    if let Some(kind) = challenges::next_kind(account.totp_enabled, account.must_change_password, done) {
        let challenge = challenges::open(conn, tenant, person, kind, pending, None)?;
        let target = Target::person("account", person);
        kluis_audit::record(conn, ctx, Action::ChallengeIssued, target, &[kind.as_str()], None)?;
        return Ok(SignIn::Challenge(challenge));
    }
    let recognition = kluis_devices::devices::recognize(conn, tenant, person, seen)?;
    let first = matches!(recognition, Recognition::First);
    let (device_id, device_key) = match recognition {
        Recognition::Known(device) => {
            kluis_devices::devices::signed_in(conn, tenant, &device.id, seen)?;
            (device.id, None)
        }
        Recognition::Unfamiliar if settings.device_step_up && !done.contains(&ChallengeKind::EmailCode) => {
            match step_up(app, conn, ctx, account, done, pending, settings.unverified_device, passkey.is_some())? {
                StepUp::Challenge(challenge) => return Ok(SignIn::Challenge(challenge)),
                StepUp::Refused(refused) => return Ok(SignIn::Refused(refused)),
                StepUp::Passed => trust(conn, ctx, person, seen)?,
            }
        }
        Recognition::First | Recognition::Familiar | Recognition::Unfamiliar => trust(conn, ctx, person, seen)?,
    };
    if first {
        adopt_language(conn, ctx, person, seen)?;
    }
    let started =
        sessions::start(conn, tenant, person, Some(&device_id), ctx.ip_prefix.clone(), seen.user_agent.clone())?;
    if let Some(passkey) = passkey {
        sessions::mark_passkey(conn, tenant, &started.session.id, passkey)?;
    }
    let scopes = person_scopes(account, &settings, passkey.is_some());
    let issued = app.tokens.issue_for_session(conn, tenant, person.as_str(), &started.session.id, &scopes)?;
    kluis_audit::record(conn, ctx, Action::LoginSucceeded, Target::person("session", person), &[], None)?;
    Ok(SignIn::Session(Tokens {
        access_token: issued.access_token,
        expires_in: issued.expires_in,
        scope: issued.scope,
        refresh_token: started.refresh_token.to_string(),
        device_id: Some(device_id),
        device_key,
    }))
}

/// The account language from the device (Servconnect: "the language of
/// your account, based on device info"): on a person's first sign-in (no
/// device of theirs yet), a person without a `language` gets the device's
/// first language, when it is a BCP 47 tag. A language the person chose, or
/// cleared after their first sign-in, is never overwritten.
fn adopt_language(
    conn: &mut Db,
    ctx: &kluis_audit::Context,
    person: &PersonId,
    seen: &Observation,
) -> Result<(), TxError> {
    // `nl-NL,nl;q=0.9,en;q=0.8` (an Accept-Language value) names `nl-NL` first.
    let Some(language) = seen.language.as_deref().and_then(|l| l.split([',', ';']).next()).map(str::trim) else {
        return Ok(());
    };
    if kluis_people::persons::set_language_if_unset(conn, &ctx.tenant, person, language)? {
        crate::webhooks::person_updated(conn, &ctx.tenant, person, &["language"])?;
        kluis_audit::record(conn, ctx, Action::PersonUpdate, Target::person("person", person), &["language"], None)?;
    }
    Ok(())
}

/// How an unfamiliar device stepped up.
enum StepUp {
    /// A code went to the verified address: this challenge asks for it.
    Challenge(Challenge),
    /// Confirmed already (the TOTP code of this sign-in), or trusted by the
    /// tenant's choice: the device may be trusted.
    Passed,
    /// Nothing to confirm it by: the sign-in is refused.
    Refused(Refused),
}

/// Step an unfamiliar device up: a code mailed to the verified primary
/// address; else the TOTP code this sign-in gave (TOTP, when enrolled, is
/// always the first challenge) or the passkey it was made with; else the
/// tenant's `unverified_device` choice: trust the device, or refuse the
/// sign-in (and remind the person to verify their address). Every outcome
/// is audited.
#[expect(clippy::too_many_arguments, reason = "the sign-in state travels whole")]
fn step_up(
    app: &App,
    conn: &mut Db,
    ctx: &kluis_audit::Context,
    account: &Account,
    done: &[ChallengeKind],
    pending: Option<String>,
    unverified: UnverifiedDevice,
    passkey: bool,
) -> Result<StepUp, TxError> {
    let tenant = &ctx.tenant;
    let person = &account.person_id;
    let device = || Target::person("device", person);
    if let Some(address) = secrets::verified_primary_email(conn, tenant, person)? {
        let code_hash = secrets::mail_device_code(conn, &app.master, tenant, person, &address)?;
        let challenge = challenges::open(conn, tenant, person, ChallengeKind::EmailCode, pending, Some(code_hash))?;
        kluis_audit::record(conn, ctx, Action::ChallengeIssued, device(), &["email_code"], None)?;
        return Ok(StepUp::Challenge(challenge));
    }
    if passkey {
        kluis_audit::record(conn, ctx, Action::StepUpPassed, device(), &["passkey"], None)?;
        return Ok(StepUp::Passed);
    }
    if account.totp_enabled && done.contains(&ChallengeKind::Totp) {
        kluis_audit::record(conn, ctx, Action::StepUpPassed, device(), &["totp"], None)?;
        return Ok(StepUp::Passed);
    }
    match unverified {
        // The tenant chose the lenient way: the device is trusted as it is
        // (the caller records `device.trusted`).
        UnverifiedDevice::Trust => Ok(StepUp::Passed),
        UnverifiedDevice::Refuse => {
            let reminded = secrets::remind_verification(conn, &app.master, &app.settings.issuer, tenant, person)?;
            kluis_audit::record(conn, ctx, Action::LoginRefused, device(), &[], None)?;
            Ok(StepUp::Refused(Refused::DeviceUnverifiable { reminded }))
        }
    }
}

/// Trust the device signing in: its id and the key the client keeps.
fn trust(
    conn: &mut Db,
    ctx: &kluis_audit::Context,
    person: &PersonId,
    seen: &Observation,
) -> Result<(String, Option<String>), TxError> {
    let (device, key) = kluis_devices::devices::trust(conn, &ctx.tenant, person, seen)?;
    kluis_audit::record(conn, ctx, Action::DeviceTrusted, Target::person("device", person), &[], None)?;
    Ok((device.id, Some(key.to_string())))
}

/// Use a refresh token: new tokens for the same session, or a refusal. A
/// token used before ends its session (it was stolen, or the client raced).
pub async fn refresh(
    app: &Arc<App>,
    origin: &Origin,
    token: Zeroizing<String>,
) -> AppResult<Result<Tokens, RefreshRefused>> {
    let (shared, origin) = (app.clone(), origin.clone());
    app.in_transaction(move |conn| match sessions::refresh(conn, &token)? {
        sessions::Refreshed::Invalid => Ok(Err(RefreshRefused::Invalid)),
        sessions::Refreshed::Reused { tenant, person, .. } => {
            let ctx = origin.person_audit(tenant, Some(&person));
            let target = Target::person("session", &person);
            kluis_audit::record(conn, &ctx, Action::SessionReuseDetected, target, &[], None)?;
            Ok(Err(RefreshRefused::Reused))
        }
        sessions::Refreshed::Rotated { tenant, started } => {
            let person = started.session.person_id.clone();
            let account = accounts::get(conn, &tenant, &person)?;
            let settings = tenants::get(conn, &tenant)?;
            let passkey = sessions::passkey_of(conn, &tenant, &started.session.id)?;
            let scopes = person_scopes(&account, &settings, passkey.is_some());
            let issued =
                shared.tokens.issue_for_session(conn, &tenant, person.as_str(), &started.session.id, &scopes)?;
            let ctx = origin.person_audit(tenant, Some(&person));
            kluis_audit::record(conn, &ctx, Action::SessionRefreshed, Target::person("session", &person), &[], None)?;
            Ok(Ok(Tokens {
                access_token: issued.access_token,
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

/// End the caller's own session (a signed-in person's token only).
pub async fn logout(app: &App, ctx: &Context) -> AppResult<()> {
    let (tenant, person) = ctx.person()?;
    let session = ctx.session_id().unwrap_or_default().to_owned();
    app.audited(ctx.audit()?, Action::SessionRevoked, vec![], move |conn| {
        sessions::revoke(conn, &tenant, &person, &session)?;
        Ok(((), Target::person("session", &person)))
    })
    .await
}

/// Verify an e-mail address with the mailed token; a token unknown, used or
/// expired is a 400. Rate-limited per client IP (429).
pub async fn verify_email(app: &App, origin: &Origin, token: Zeroizing<String>) -> AppResult<()> {
    app.rates.hit_ip(Flow::LinkPerIp, origin.ip)?;
    let origin = origin.clone();
    let verified = app
        .in_transaction(move |conn| {
            let Some(redeemed) = secrets::verify_email(conn, &token)? else { return Ok(false) };
            let ctx = origin.person_audit(redeemed.tenant.clone(), Some(&redeemed.person));
            let target = Target::person("email", &redeemed.person);
            kluis_audit::record(conn, &ctx, Action::EmailVerified, target, &["verified_at"], None)?;
            Ok(true)
        })
        .await?;
    if verified { Ok(()) } else { Err(token_invalid()) }
}

/// Mail a password reset token when `email` names an account of the tenant;
/// the caller learns nothing either way. Rate-limited per client IP and per
/// address (429), before anything is looked up: a limited address is
/// refused alike whether it has an account or not.
pub async fn request_password_reset(app: &App, origin: &Origin, tenant: String, email: String) -> AppResult<()> {
    app.rates.hit_ip(Flow::ResetPerIp, origin.ip)?;
    app.rates.hit(Flow::ResetPerAddress, &format!("{}\n{}", tenant.to_lowercase(), email.trim().to_lowercase()))?;
    let (master, origin, public_url) = (app.master.clone(), origin.clone(), app.settings.issuer.clone());
    app.in_transaction(move |conn| {
        let Ok(tenant) = tenants::get_by_slug(conn, &tenant) else { return Ok(()) };
        if let Some(person) = secrets::request_reset(conn, &master, &public_url, &tenant.id, &email)? {
            let ctx = origin.person_audit(tenant.id.clone(), Some(&person));
            let target = Target::person("account", &person);
            kluis_audit::record(conn, &ctx, Action::PasswordResetRequested, target, &[], None)?;
        }
        Ok(())
    })
    .await
}

/// Set a new password with the mailed reset token: every session ends,
/// nobody is signed in, and 2FA stays on. Rate-limited per client IP (429,
/// before any hashing); the password is checked (422) before the token is
/// spent; a token unknown, used or expired is a 400.
pub async fn confirm_password_reset(
    app: &App,
    origin: &Origin,
    token: Zeroizing<String>,
    new_password: Zeroizing<String>,
) -> AppResult<()> {
    app.rates.hit_ip(Flow::LinkPerIp, origin.ip)?;
    password::check("new_password", &new_password)?;
    let hash = app.hash(move || password::hash(&new_password)).await??;
    let origin = origin.clone();
    let reset = app
        .in_transaction(move |conn| {
            let Some(redeemed) = secrets::reset_password(conn, &token, &hash)? else { return Ok(false) };
            let ctx = origin.person_audit(redeemed.tenant.clone(), Some(&redeemed.person));
            let target = Target::person("account", &redeemed.person);
            kluis_audit::record(conn, &ctx, Action::PasswordReset, target, &["password"], None)?;
            Ok(true)
        })
        .await?;
    if reset { Ok(()) } else { Err(token_invalid()) }
}
