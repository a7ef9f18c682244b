//! An account's secrets: single-use tokens (e-mail verification, password
//! reset), the TOTP seed (sealed under the master key) and recovery codes.
//! Tokens and codes are random and stored only as SHA-256 hashes; a token is
//! consumed by one atomic DELETE, so of many concurrent redemptions exactly
//! one succeeds.

use diesel::prelude::*;
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::crypto::{self, MasterKey};
use kluis_store::error::{StoreResultExt, TxError};
use kluis_store::schema::{accounts, auth_tokens, person_emails, recovery_codes};
use kluis_store::{Db, write_tx};
use time::{Duration, PrimitiveDateTime};
use totp_rs::{Algorithm, Builder, Totp};
use zeroize::Zeroizing;

use super::mail::{self, Mail, Template};

/// How long an e-mail verification token lives.
pub const VERIFY_TTL: Duration = Duration::hours(24);
/// How long a password reset token lives.
pub const RESET_TTL: Duration = Duration::hours(1);
/// How often a refused sign-in may mail a fresh verification code.
pub const REMIND_INTERVAL: Duration = Duration::minutes(10);
/// Recovery codes issued at a time.
pub const RECOVERY_CODES: usize = 10;

const TOKEN_PREFIX: &str = "ktok_";

/// What a single-use token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Proves the person receives mail at an address.
    VerifyEmail,
    /// Lets the person set a new password.
    PasswordReset,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::PasswordReset => "password_reset",
        }
    }
}

fn new_token() -> Result<Zeroizing<String>> {
    crypto::new_secret(TOKEN_PREFIX).map_err(|e| DomainError::Internal(e.to_string()))
}

/// The person's primary e-mail address, when it is verified.
pub fn verified_primary_email(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Option<String>, TxError> {
    Ok(primary_email(conn, tenant, person)?.filter(|(_, _, verified)| *verified).map(|(_, address, _)| address))
}

/// Mail a sign-in code for an unfamiliar device; returns the code's hash.
pub fn mail_device_code(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    person: &PersonId,
    to: &str,
) -> Result<Vec<u8>, TxError> {
    let mut random = [0u8; 4];
    crypto::fill_random(&mut random).map_err(|e| DomainError::Internal(e.to_string()))?;
    let code = Zeroizing::new(format!("{:06}", u32::from_le_bytes(random) % 1_000_000));
    let language = super::language(conn, tenant, person)?;
    let mail =
        Mail { to, language: language.as_deref(), template: Template::DeviceCode, token: &code, public_url: None };
    mail::queue(conn, master, tenant, person, mail)?;
    Ok(crypto::hash_secret(&code))
}

/// The primary e-mail of a person: id, address, verified.
fn primary_email(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Option<(String, String, bool)>, TxError> {
    let row: Option<(String, String, Option<PrimitiveDateTime>)> = person_emails::table
        .filter(person_emails::tenant_id.eq(tenant.as_str()))
        .filter(person_emails::person_id.eq(person.as_str()))
        .filter(person_emails::is_primary.eq(true))
        .select((person_emails::id, person_emails::address, person_emails::verified_at))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, address, verified)| (id, address, verified.is_some())))
}

fn insert_token(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    purpose: TokenPurpose,
    email_id: Option<&str>,
    ttl: Duration,
) -> Result<Zeroizing<String>, TxError> {
    let token = new_token()?;
    let now = kluis_core::time::now();
    diesel::insert_into(auth_tokens::table)
        .values((
            auth_tokens::tenant_id.eq(tenant.as_str()),
            auth_tokens::token_hash.eq(crypto::hash_secret(&token)),
            auth_tokens::person_id.eq(person.as_str()),
            auth_tokens::purpose.eq(purpose.as_str()),
            auth_tokens::email_id.eq(email_id),
            auth_tokens::expires_at.eq(now + ttl),
            auth_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Queue a verification mail to the primary e-mail when it is not verified
/// yet; inside the caller's transaction. Returns whether a mail was queued.
pub fn request_verification(
    conn: &mut Db,
    master: &MasterKey,
    public_url: &str,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<bool, TxError> {
    let Some((email_id, address, verified)) = primary_email(conn, tenant, person)? else { return Ok(false) };
    if verified {
        return Ok(false);
    }
    let token = insert_token(conn, tenant, person, TokenPurpose::VerifyEmail, Some(&email_id), VERIFY_TTL)?;
    let language = super::language(conn, tenant, person)?;
    let mail = Mail {
        to: &address,
        language: language.as_deref(),
        template: Template::VerifyEmail,
        token: &token,
        public_url: Some(public_url),
    };
    mail::queue(conn, master, tenant, person, mail)?;
    Ok(true)
}

/// Remind a person whose primary e-mail is not verified yet: a fresh
/// verification mail, unless one was queued in the last [`REMIND_INTERVAL`]
/// (a sign-in refused for want of a verified address must not become a
/// mail cannon). Inside the caller's transaction. Returns whether the person
/// has such an address (mailed now or recently); `false` without a primary
/// address or with a verified one.
pub fn remind_verification(
    conn: &mut Db,
    master: &MasterKey,
    public_url: &str,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<bool, TxError> {
    let Some((_, _, verified)) = primary_email(conn, tenant, person)? else { return Ok(false) };
    if verified {
        return Ok(false);
    }
    let since = kluis_core::time::now() - REMIND_INTERVAL;
    let recent: i64 = auth_tokens::table
        .filter(auth_tokens::tenant_id.eq(tenant.as_str()))
        .filter(auth_tokens::person_id.eq(person.as_str()))
        .filter(auth_tokens::purpose.eq(TokenPurpose::VerifyEmail.as_str()))
        .filter(auth_tokens::created_at.gt(since))
        .count()
        .get_result(conn)?;
    if recent == 0 {
        request_verification(conn, master, public_url, tenant, person)?;
    }
    Ok(true)
}

/// Queue a password reset mail for the account whose primary e-mail is
/// `email`; older reset tokens of the account stop working. `None` when no
/// such account exists (the caller answers the same either way).
pub fn request_reset(
    conn: &mut Db,
    master: &MasterKey,
    public_url: &str,
    tenant: &TenantId,
    email: &str,
) -> Result<Option<PersonId>> {
    let key = email.trim().to_lowercase();
    write_tx(conn, |conn| -> Result<Option<PersonId>, TxError> {
        let person: Option<String> = person_emails::table
            .inner_join(accounts::table.on(
                accounts::tenant_id.eq(person_emails::tenant_id).and(accounts::person_id.eq(person_emails::person_id)),
            ))
            .filter(person_emails::tenant_id.eq(tenant.as_str()))
            .filter(person_emails::address_key.eq(&key))
            .select(person_emails::person_id)
            .first(conn)
            .optional()?;
        let Some(person) = person.map(PersonId) else { return Ok(None) };
        diesel::delete(
            auth_tokens::table
                .filter(auth_tokens::tenant_id.eq(tenant.as_str()))
                .filter(auth_tokens::person_id.eq(person.as_str()))
                .filter(auth_tokens::purpose.eq(TokenPurpose::PasswordReset.as_str())),
        )
        .execute(conn)?;
        let address: String = person_emails::table
            .filter(person_emails::tenant_id.eq(tenant.as_str()))
            .filter(person_emails::address_key.eq(&key))
            .select(person_emails::address)
            .first(conn)?;
        let token = insert_token(conn, tenant, &person, TokenPurpose::PasswordReset, None, RESET_TTL)?;
        let language = super::language(conn, tenant, &person)?;
        let mail = Mail {
            to: &address,
            language: language.as_deref(),
            template: Template::PasswordReset,
            token: &token,
            public_url: Some(public_url),
        };
        mail::queue(conn, master, tenant, &person, mail)?;
        Ok(Some(person))
    })
    .map_err(DomainError::from)
}

/// A redeemed token: whose it was.
#[derive(Debug, Clone)]
pub struct Redeemed {
    /// Tenant.
    pub tenant: TenantId,
    /// Person.
    pub person: PersonId,
    /// The e-mail it verifies (verification tokens).
    pub email_id: Option<String>,
}

/// Consume a token of `purpose` inside the caller's transaction: found,
/// unexpired and deleted by this call, or `None`. Expired tokens are
/// deleted when met.
pub fn consume(conn: &mut Db, token: &str, purpose: TokenPurpose) -> Result<Option<Redeemed>, TxError> {
    let hash = crypto::hash_secret(token);
    let found: Option<(String, String, Option<String>, PrimitiveDateTime)> = auth_tokens::table
        .filter(auth_tokens::token_hash.eq(&hash))
        .filter(auth_tokens::purpose.eq(purpose.as_str()))
        .select((auth_tokens::tenant_id, auth_tokens::person_id, auth_tokens::email_id, auth_tokens::expires_at))
        .first(conn)
        .optional()?;
    let Some((tenant, person, email_id, expires_at)) = found else { return Ok(None) };
    let deleted = diesel::delete(
        auth_tokens::table.filter(auth_tokens::tenant_id.eq(&tenant)).filter(auth_tokens::token_hash.eq(&hash)),
    )
    .execute(conn)?;
    if deleted != 1 || expires_at <= kluis_core::time::now() {
        return Ok(None);
    }
    Ok(Some(Redeemed { tenant: TenantId(tenant), person: PersonId(person), email_id }))
}

/// Verify an e-mail address with a token from the verification mail.
pub fn verify_email(conn: &mut Db, token: &str) -> Result<Option<Redeemed>> {
    write_tx(conn, |conn| -> Result<Option<Redeemed>, TxError> {
        let Some(redeemed) = consume(conn, token, TokenPurpose::VerifyEmail)? else { return Ok(None) };
        if let Some(email_id) = &redeemed.email_id {
            diesel::update(
                person_emails::table
                    .filter(person_emails::tenant_id.eq(redeemed.tenant.as_str()))
                    .filter(person_emails::id.eq(email_id)),
            )
            .set(person_emails::verified_at.eq(Some(kluis_core::time::now())))
            .execute(conn)?;
        }
        Ok(Some(redeemed))
    })
    .map_err(DomainError::from)
}

/// Set a new password with a reset token: consumed at once, the password
/// replaced, every session ended. It signs nobody in and leaves 2FA on.
pub fn reset_password(conn: &mut Db, token: &str, new_hash: &str) -> Result<Option<Redeemed>> {
    write_tx(conn, |conn| -> Result<Option<Redeemed>, TxError> {
        let Some(redeemed) = consume(conn, token, TokenPurpose::PasswordReset)? else { return Ok(None) };
        super::set_password(conn, &redeemed.tenant, &redeemed.person, new_hash, false)?;
        Ok(Some(redeemed))
    })
    .map_err(DomainError::from)
}

fn seed_context(tenant: &TenantId, person: &PersonId) -> String {
    format!("totp:{tenant}:{person}")
}

fn totp(seed: Vec<u8>, label: &str, issuer: &str) -> Result<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(seed)
        .with_account_name(label.replace(':', " "))
        .with_issuer(Some(issuer.replace(':', " ")))
        .build()
        .map_err(|e| DomainError::Internal(e.to_string()))
}

/// A TOTP enrolment to show the person once.
#[derive(Debug)]
pub struct Enrolment {
    /// The seed, base32 (for manual entry).
    pub secret: Zeroizing<String>,
    /// The `otpauth://` URI (for a QR code).
    pub otpauth_uri: Zeroizing<String>,
}

/// Start enrolling TOTP: a new sealed seed, not active until confirmed.
pub fn enrol_totp(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    person: &PersonId,
    label: &str,
    issuer: &str,
) -> Result<Enrolment> {
    let mut seed = Zeroizing::new(vec![0u8; 20]);
    crypto::fill_random(&mut seed).map_err(|e| DomainError::Internal(e.to_string()))?;
    let sealed = master.seal(&seed_context(tenant, person), &seed).map_err(|e| DomainError::Internal(e.to_string()))?;
    let totp = totp(seed.to_vec(), label, issuer)?;
    let uri = totp.to_url().map_err(|e| DomainError::Internal(e.to_string()))?;
    let n = diesel::update(
        accounts::table
            .filter(accounts::tenant_id.eq(tenant.as_str()))
            .filter(accounts::person_id.eq(person.as_str()))
            .filter(accounts::totp_enabled.eq(false)),
    )
    .set((accounts::totp_seed.eq(Some(sealed)), accounts::totp_last_step.eq(None::<i64>)))
    .execute(conn)
    .domain()?;
    if n == 0 {
        return Err(DomainError::Conflict {
            code: "totp_enabled",
            message: "two-factor authentication is already on".into(),
        });
    }
    Ok(Enrolment { secret: Zeroizing::new(totp.secret().to_base32()), otpauth_uri: Zeroizing::new(uri) })
}

/// Check a TOTP code, refusing a step already used (a replay in its window).
pub fn check_totp(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    person: &PersonId,
    code: &str,
) -> Result<bool, TxError> {
    let (sealed, last_step): (Option<Vec<u8>>, Option<i64>) = accounts::table
        .filter(accounts::tenant_id.eq(tenant.as_str()))
        .filter(accounts::person_id.eq(person.as_str()))
        .select((accounts::totp_seed, accounts::totp_last_step))
        .first(conn)?;
    let Some(sealed) = sealed else { return Ok(false) };
    let seed = master.open(&seed_context(tenant, person), &sealed).map_err(|e| DomainError::Internal(e.to_string()))?;
    let totp = totp(seed.to_vec(), "kluis", "kluis")?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0).unsigned_abs();
    let Some(step) = totp.check(code.trim(), now) else { return Ok(false) };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    if last_step.is_some_and(|last| step <= last) {
        return Ok(false);
    }
    // The conditional update makes two concurrent uses of one code race to one winner.
    let won = diesel::update(
        accounts::table
            .filter(accounts::tenant_id.eq(tenant.as_str()))
            .filter(accounts::person_id.eq(person.as_str()))
            .filter(accounts::totp_last_step.is_null().or(accounts::totp_last_step.lt(step))),
    )
    .set(accounts::totp_last_step.eq(Some(step)))
    .execute(conn)?;
    Ok(won == 1)
}

fn new_recovery_codes(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Zeroizing<String>>, TxError> {
    diesel::delete(
        recovery_codes::table
            .filter(recovery_codes::tenant_id.eq(tenant.as_str()))
            .filter(recovery_codes::person_id.eq(person.as_str())),
    )
    .execute(conn)?;
    let now = kluis_core::time::now();
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut bytes = [0u8; 10];
        crypto::fill_random(&mut bytes).map_err(|e| DomainError::Internal(e.to_string()))?;
        let code: String = bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let code = Zeroizing::new(format!("{}-{}", &code[..10], &code[10..]));
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::tenant_id.eq(tenant.as_str()),
                recovery_codes::person_id.eq(person.as_str()),
                recovery_codes::code_hash.eq(crypto::hash_secret(&code)),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
        codes.push(code);
    }
    Ok(codes)
}

/// Confirm TOTP with a first code: 2FA is on, and 10 recovery codes are
/// returned, this once.
pub fn confirm_totp(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    person: &PersonId,
    code: &str,
) -> Result<Option<Vec<Zeroizing<String>>>> {
    write_tx(conn, |conn| -> Result<Option<Vec<Zeroizing<String>>>, TxError> {
        let enabled: bool = accounts::table
            .filter(accounts::tenant_id.eq(tenant.as_str()))
            .filter(accounts::person_id.eq(person.as_str()))
            .select(accounts::totp_enabled)
            .first(conn)?;
        if enabled {
            return Err(DomainError::Conflict {
                code: "totp_enabled",
                message: "two-factor authentication is already on".into(),
            }
            .into());
        }
        if !check_totp(conn, master, tenant, person, code)? {
            return Ok(None);
        }
        diesel::update(
            accounts::table
                .filter(accounts::tenant_id.eq(tenant.as_str()))
                .filter(accounts::person_id.eq(person.as_str())),
        )
        .set((accounts::totp_enabled.eq(true), accounts::version.eq(accounts::version + 1)))
        .execute(conn)?;
        Ok(Some(new_recovery_codes(conn, tenant, person)?))
    })
    .map_err(DomainError::from)
}

/// Fresh recovery codes (the old ones stop working), with 2FA on.
pub fn regenerate_recovery_codes(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Vec<Zeroizing<String>>> {
    write_tx(conn, |conn| new_recovery_codes(conn, tenant, person)).map_err(DomainError::from)
}

/// Use a recovery code: true once per code.
pub fn use_recovery_code(conn: &mut Db, tenant: &TenantId, person: &PersonId, code: &str) -> Result<bool, TxError> {
    let n = diesel::delete(
        recovery_codes::table
            .filter(recovery_codes::tenant_id.eq(tenant.as_str()))
            .filter(recovery_codes::person_id.eq(person.as_str()))
            .filter(recovery_codes::code_hash.eq(crypto::hash_secret(code.trim()))),
    )
    .execute(conn)?;
    Ok(n == 1)
}

/// Turn 2FA off: seed and recovery codes deleted (admin reset, or the person
/// with a current code).
pub fn disable_totp(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<(), TxError> {
    let n = diesel::update(
        accounts::table.filter(accounts::tenant_id.eq(tenant.as_str())).filter(accounts::person_id.eq(person.as_str())),
    )
    .set((
        accounts::totp_enabled.eq(false),
        accounts::totp_seed.eq(None::<Vec<u8>>),
        accounts::totp_last_step.eq(None::<i64>),
        accounts::version.eq(accounts::version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(DomainError::NotFound.into());
    }
    diesel::delete(
        recovery_codes::table
            .filter(recovery_codes::tenant_id.eq(tenant.as_str()))
            .filter(recovery_codes::person_id.eq(person.as_str())),
    )
    .execute(conn)?;
    Ok(())
}

/// Delete the person's tokens and codes (erasure); rows per table.
pub(crate) fn erase(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<(&'static str, u64)>> {
    let tokens = diesel::delete(
        auth_tokens::table
            .filter(auth_tokens::tenant_id.eq(tenant.as_str()))
            .filter(auth_tokens::person_id.eq(person.as_str())),
    )
    .execute(conn)
    .domain()?;
    let codes = diesel::delete(
        recovery_codes::table
            .filter(recovery_codes::tenant_id.eq(tenant.as_str()))
            .filter(recovery_codes::person_id.eq(person.as_str())),
    )
    .execute(conn)
    .domain()?;
    Ok(vec![("auth_tokens", tokens as u64), ("recovery_codes", codes as u64)])
}
