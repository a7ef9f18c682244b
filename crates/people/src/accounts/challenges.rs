//! Sign-in challenges: a step between a right password and a session (a TOTP
//! code, or a new password after an administrator set one). A challenge is
//! bound to its account, lives 5 minutes, and dies after 5 wrong tries.

use diesel::prelude::*;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::{StoreResultExt, TxError};
use kluis_store::schema::challenges;
use time::{Duration, PrimitiveDateTime};

/// How long a challenge may be answered.
pub const TTL: Duration = Duration::minutes(5);
/// How long a mailed code may be used.
pub const EMAIL_CODE_TTL: Duration = Duration::minutes(10);
/// Wrong answers before the challenge is dead.
pub const MAX_TRIES: i64 = 5;

/// What a challenge asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeKind {
    /// A TOTP code (or a recovery code).
    Totp,
    /// A new password.
    PasswordChange,
    /// A code mailed to the person (sign-in from an unfamiliar device).
    EmailCode,
}

impl ChallengeKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Totp => "totp",
            ChallengeKind::PasswordChange => "password_change",
            ChallengeKind::EmailCode => "email_code",
        }
    }

    fn parse(s: &str) -> ChallengeKind {
        match s {
            "totp" => ChallengeKind::Totp,
            "email_code" => ChallengeKind::EmailCode,
            _ => ChallengeKind::PasswordChange,
        }
    }
}

/// An open challenge.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// Challenge id.
    pub id: String,
    /// Tenant.
    pub tenant: TenantId,
    /// Whose sign-in.
    pub person_id: PersonId,
    /// What it asks.
    pub kind: ChallengeKind,
    /// What the sign-in carries to its next step (the device observation, JSON).
    pub pending: Option<String>,
    /// The SHA-256 of the mailed code (`email_code`).
    pub code_hash: Option<Vec<u8>>,
}

/// Open a challenge, inside the caller's transaction. `pending` travels to
/// the next step; `code_hash` is the hash of a mailed code.
pub fn open(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    kind: ChallengeKind,
    pending: Option<String>,
    code_hash: Option<Vec<u8>>,
) -> Result<Challenge, TxError> {
    let id = kluis_core::new_id();
    let now = kluis_core::time::now();
    diesel::insert_into(challenges::table)
        .values((
            challenges::tenant_id.eq(tenant.as_str()),
            challenges::id.eq(&id),
            challenges::person_id.eq(person.as_str()),
            challenges::kind.eq(kind.as_str()),
            challenges::tries.eq(0i64),
            challenges::pending_device.eq(&pending),
            challenges::code_hash.eq(&code_hash),
            challenges::expires_at.eq(now + if kind == ChallengeKind::EmailCode { EMAIL_CODE_TTL } else { TTL }),
            challenges::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Challenge { id, tenant: tenant.clone(), person_id: person.clone(), kind, pending, code_hash })
}

/// Take one try at a live challenge (`None`: unknown, expired or dead).
/// The try is counted before the answer is checked, so concurrent guesses
/// cannot exceed the limit.
pub fn take_try(conn: &mut Db, id: &str) -> Result<Option<Challenge>, TxError> {
    type Found = (String, String, String, Option<String>, Option<Vec<u8>>, PrimitiveDateTime);
    let found: Option<Found> = challenges::table
        .filter(challenges::id.eq(id))
        .select((
            challenges::tenant_id,
            challenges::person_id,
            challenges::kind,
            challenges::pending_device,
            challenges::code_hash,
            challenges::expires_at,
        ))
        .first(conn)
        .optional()?;
    let Some((tenant, person, kind, pending, code_hash, expires_at)) = found else { return Ok(None) };
    let this = challenges::table.filter(challenges::tenant_id.eq(&tenant)).filter(challenges::id.eq(id));
    if expires_at <= kluis_core::time::now() {
        diesel::delete(this).execute(conn)?;
        return Ok(None);
    }
    let counted = diesel::update(this.filter(challenges::tries.lt(MAX_TRIES)))
        .set(challenges::tries.eq(challenges::tries + 1))
        .execute(conn)?;
    if counted == 0 {
        diesel::delete(this).execute(conn)?;
        return Ok(None);
    }
    Ok(Some(Challenge {
        id: id.to_owned(),
        tenant: TenantId(tenant),
        person_id: PersonId(person),
        kind: ChallengeKind::parse(&kind),
        pending,
        code_hash,
    }))
}

/// The challenge is answered: gone.
pub fn close(conn: &mut Db, challenge: &Challenge) -> Result<(), TxError> {
    diesel::delete(
        challenges::table
            .filter(challenges::tenant_id.eq(challenge.tenant.as_str()))
            .filter(challenges::id.eq(&challenge.id)),
    )
    .execute(conn)?;
    Ok(())
}

/// Delete a person's challenges (erasure).
pub(crate) fn erase(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(
        challenges::table
            .filter(challenges::tenant_id.eq(tenant.as_str()))
            .filter(challenges::person_id.eq(person.as_str())),
    )
    .execute(conn)
    .domain()?;
    Ok(n as u64)
}

/// What remains between this account and a session, in order: a TOTP code
/// when 2FA is on, then a new password when one is due. `done` lists what
/// was already answered in this sign-in.
pub fn next_kind(totp_enabled: bool, must_change_password: bool, done: &[ChallengeKind]) -> Option<ChallengeKind> {
    if totp_enabled && !done.contains(&ChallengeKind::Totp) {
        Some(ChallengeKind::Totp)
    } else if must_change_password && !done.contains(&ChallengeKind::PasswordChange) {
        Some(ChallengeKind::PasswordChange)
    } else {
        None
    }
}
