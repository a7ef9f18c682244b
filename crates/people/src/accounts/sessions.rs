//! Sessions of signed-in people. A session has short access tokens (minted
//! by the API) and an opaque refresh token, stored hashed and replaced on
//! every use; presenting a replaced one again means it was stolen, and ends
//! the session.

use diesel::prelude::*;
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::crypto;
use kluis_store::error::{StoreResultExt, TxError, UniqueRow};
use kluis_store::schema::{accounts, refresh_tokens, sessions};
use kluis_store::{Db, write_tx};
use time::{Duration, PrimitiveDateTime};
use zeroize::Zeroizing;

/// How long a session lives without being refreshed.
pub const IDLE: Duration = Duration::days(30);

const REFRESH_PREFIX: &str = "kref_";

/// A session as its owner sees it.
#[derive(Debug, Clone)]
pub struct Session {
    /// Session id (`sid` in access tokens).
    pub id: String,
    /// Whose.
    pub person_id: PersonId,
    /// Where it started, truncated.
    pub ip_prefix: Option<String>,
    /// The User-Agent it started with.
    pub user_agent: Option<String>,
    /// Started.
    pub created_at: PrimitiveDateTime,
    /// Last refreshed.
    pub last_used_at: PrimitiveDateTime,
    /// Ends unless refreshed.
    pub expires_at: PrimitiveDateTime,
}

/// A started or refreshed session with its new refresh token (shown once).
#[derive(Debug)]
pub struct Started {
    /// The session.
    pub session: Session,
    /// The refresh token.
    pub refresh_token: Zeroizing<String>,
}

fn issue_refresh(conn: &mut Db, tenant: &TenantId, session: &str) -> Result<Zeroizing<String>, TxError> {
    let token = crypto::new_secret(REFRESH_PREFIX).map_err(|e| DomainError::Internal(e.to_string()))?;
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::tenant_id.eq(tenant.as_str()),
            refresh_tokens::token_hash.eq(crypto::hash_secret(&token)),
            refresh_tokens::session_id.eq(session),
            refresh_tokens::created_at.eq(kluis_core::time::now()),
        ))
        .execute(conn)?;
    Ok(token)
}

type Row = (String, String, Option<String>, Option<String>, PrimitiveDateTime, PrimitiveDateTime, PrimitiveDateTime);

fn session(row: Row) -> Session {
    let (id, person, ip_prefix, user_agent, created_at, last_used_at, expires_at) = row;
    Session { id, person_id: PersonId(person), ip_prefix, user_agent, created_at, last_used_at, expires_at }
}

macro_rules! session_columns {
    () => {
        (
            sessions::id,
            sessions::person_id,
            sessions::ip_prefix,
            sessions::user_agent,
            sessions::created_at,
            sessions::last_used_at,
            sessions::expires_at,
        )
    };
}

/// Start a session on a device, inside the caller's transaction.
pub fn start(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    device_id: Option<&str>,
    ip_prefix: Option<String>,
    user_agent: Option<String>,
) -> Result<Started, TxError> {
    let now = kluis_core::time::now();
    let id = kluis_core::new_id();
    let user_agent = user_agent.map(|ua| ua.chars().take(512).collect::<String>());
    diesel::insert_into(sessions::table)
        .values((
            sessions::tenant_id.eq(tenant.as_str()),
            sessions::id.eq(&id),
            sessions::person_id.eq(person.as_str()),
            sessions::ip_prefix.eq(&ip_prefix),
            sessions::user_agent.eq(&user_agent),
            sessions::created_at.eq(now),
            sessions::last_used_at.eq(now),
            sessions::expires_at.eq(now + IDLE),
            sessions::device_id.eq(device_id),
        ))
        .execute(conn)?;
    let refresh_token = issue_refresh(conn, tenant, &id)?;
    let session = Session {
        id,
        person_id: person.clone(),
        ip_prefix,
        user_agent,
        created_at: now,
        last_used_at: now,
        expires_at: now + IDLE,
    };
    Ok(Started { session, refresh_token })
}

/// What a refresh found.
#[derive(Debug)]
pub enum Refreshed {
    /// A new refresh token for the same session.
    Rotated {
        /// Tenant.
        tenant: TenantId,
        /// The session, extended.
        started: Started,
    },
    /// An old refresh token came back: the session is ended.
    Reused {
        /// Tenant.
        tenant: TenantId,
        /// The ended session.
        session_id: String,
        /// Whose.
        person: PersonId,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Use a refresh token.
pub fn refresh(conn: &mut Db, token: &str) -> Result<Refreshed> {
    let hash = crypto::hash_secret(token);
    write_tx(conn, |conn| -> Result<Refreshed, TxError> {
        let found: Option<(String, String, Option<PrimitiveDateTime>)> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(&hash))
            .select((refresh_tokens::tenant_id, refresh_tokens::session_id, refresh_tokens::used_at))
            .first(conn)
            .optional()?;
        let Some((tenant, session_id, used_at)) = found else { return Ok(Refreshed::Invalid) };
        let tenant = TenantId(tenant);
        let now = kluis_core::time::now();
        let row: Option<(Row, Option<PrimitiveDateTime>, String)> = sessions::table
            .inner_join(
                accounts::table
                    .on(accounts::tenant_id.eq(sessions::tenant_id).and(accounts::person_id.eq(sessions::person_id))),
            )
            .filter(sessions::tenant_id.eq(tenant.as_str()))
            .filter(sessions::id.eq(&session_id))
            .select((session_columns!(), sessions::revoked_at, accounts::status))
            .first(conn)
            .optional()?;
        let Some((row, revoked_at, status)) = row else { return Ok(Refreshed::Invalid) };
        let mut current = session(row);
        if used_at.is_some() {
            revoke(conn, &tenant, &current.person_id, &session_id)?;
            return Ok(Refreshed::Reused { tenant, session_id, person: current.person_id });
        }
        if revoked_at.is_some() || current.expires_at <= now || status != "active" {
            return Ok(Refreshed::Invalid);
        }
        // Mark used only if still unused: of two concurrent refreshes one wins.
        let won = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::tenant_id.eq(tenant.as_str()))
                .filter(refresh_tokens::token_hash.eq(&hash))
                .filter(refresh_tokens::used_at.is_null()),
        )
        .set(refresh_tokens::used_at.eq(Some(now)))
        .execute(conn)?;
        if won != 1 {
            return Ok(Refreshed::Invalid);
        }
        diesel::update(
            sessions::table.filter(sessions::tenant_id.eq(tenant.as_str())).filter(sessions::id.eq(&session_id)),
        )
        .set((sessions::last_used_at.eq(now), sessions::expires_at.eq(now + IDLE)))
        .execute(conn)?;
        current.last_used_at = now;
        current.expires_at = now + IDLE;
        let refresh_token = issue_refresh(conn, &tenant, &session_id)?;
        Ok(Refreshed::Rotated { tenant, started: Started { session: current, refresh_token } })
    })
    .map_err(DomainError::from)
}

/// End one session of a person; `NotFound` when not theirs or already ended.
pub fn revoke(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str) -> Result<(), TxError> {
    let n = diesel::update(
        sessions::table
            .filter(sessions::tenant_id.eq(tenant.as_str()))
            .filter(sessions::person_id.eq(person.as_str()))
            .filter(sessions::id.eq(id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(kluis_core::time::now())))
    .execute(conn)?;
    if n == 1 { Ok(()) } else { Err(DomainError::NotFound.into()) }
}

/// End every session of a person; how many were live.
pub fn revoke_all(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<usize, TxError> {
    Ok(diesel::update(
        sessions::table
            .filter(sessions::tenant_id.eq(tenant.as_str()))
            .filter(sessions::person_id.eq(person.as_str()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(kluis_core::time::now())))
    .execute(conn)?)
}

/// A person's live sessions, newest first.
pub fn list(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Session>> {
    let rows: Vec<Row> = sessions::table
        .filter(sessions::tenant_id.eq(tenant.as_str()))
        .filter(sessions::person_id.eq(person.as_str()))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(kluis_core::time::now()))
        .order(sessions::id.desc())
        .select(session_columns!())
        .load(conn)
        .domain()?;
    Ok(rows.into_iter().map(session).collect())
}

/// While the session is not revoked or expired and its account is active:
/// `Some(its device)`; otherwise `None`.
pub fn live(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str) -> Result<Option<Option<String>>> {
    let found: Option<(String, Option<String>)> = sessions::table
        .inner_join(
            accounts::table
                .on(accounts::tenant_id.eq(sessions::tenant_id).and(accounts::person_id.eq(sessions::person_id))),
        )
        .filter(sessions::tenant_id.eq(tenant.as_str()))
        .filter(sessions::id.eq(id))
        .filter(sessions::person_id.eq(person.as_str()))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(kluis_core::time::now()))
        .select((accounts::status, sessions::device_id))
        .unique_row(conn)
        .domain()?;
    Ok(found.filter(|(status, _)| status == "active").map(|(_, device)| device))
}

/// End the sessions started on a device (the device was removed).
pub fn revoke_device(conn: &mut Db, tenant: &TenantId, person: &PersonId, device_id: &str) -> Result<usize, TxError> {
    Ok(diesel::update(
        sessions::table
            .filter(sessions::tenant_id.eq(tenant.as_str()))
            .filter(sessions::person_id.eq(person.as_str()))
            .filter(sessions::device_id.eq(device_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(kluis_core::time::now())))
    .execute(conn)?)
}

/// Record the passkey a session was started with (ended when it is revoked).
pub fn mark_passkey(conn: &mut Db, tenant: &TenantId, id: &str, passkey_id: &str) -> Result<(), TxError> {
    diesel::update(sessions::table.filter(sessions::tenant_id.eq(tenant.as_str())).filter(sessions::id.eq(id)))
        .set(sessions::passkey_id.eq(Some(passkey_id)))
        .execute(conn)?;
    Ok(())
}

/// The passkey a session was started with, if any.
pub fn passkey_of(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<Option<String>, TxError> {
    let found: Option<Option<String>> = sessions::table
        .filter(sessions::tenant_id.eq(tenant.as_str()))
        .filter(sessions::id.eq(id))
        .select(sessions::passkey_id)
        .first(conn)
        .optional()?;
    Ok(found.flatten())
}

/// When one of a person's sessions started (their sign-in); `None` when
/// the session is not theirs.
pub fn started_at(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str) -> Result<Option<PrimitiveDateTime>> {
    sessions::table
        .filter(sessions::tenant_id.eq(tenant.as_str()))
        .filter(sessions::person_id.eq(person.as_str()))
        .filter(sessions::id.eq(id))
        .select(sessions::created_at)
        .first(conn)
        .optional()
        .domain()
}

/// Delete a person's sessions and refresh tokens (erasure); rows per table.
pub(crate) fn erase(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<(&'static str, u64)>> {
    let ids: Vec<String> = sessions::table
        .filter(sessions::tenant_id.eq(tenant.as_str()))
        .filter(sessions::person_id.eq(person.as_str()))
        .select(sessions::id)
        .load(conn)
        .domain()?;
    let tokens = diesel::delete(
        refresh_tokens::table
            .filter(refresh_tokens::tenant_id.eq(tenant.as_str()))
            .filter(refresh_tokens::session_id.eq_any(&ids)),
    )
    .execute(conn)
    .domain()?;
    let n = diesel::delete(
        sessions::table.filter(sessions::tenant_id.eq(tenant.as_str())).filter(sessions::person_id.eq(person.as_str())),
    )
    .execute(conn)
    .domain()?;
    Ok(vec![("refresh_tokens", tokens as u64), ("sessions", n as u64)])
}
