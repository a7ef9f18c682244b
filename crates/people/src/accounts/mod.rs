//! Accounts: one per person, to sign in to the tenant's website or app (and,
//! with staff scopes, its back office). The administrator manages every
//! account but never sees a password, hash, seed or token: none of them
//! leaves this module except as the single answer that creates it.
//!
//! Sign-in is split so that argon2 never runs inside a transaction:
//! [`begin_sign_in`] reserves one attempt (atomically, so parallel attempts
//! cannot overshoot the limit) and hands back what verification needs; the
//! caller verifies off the executor; [`finish_sign_in`] records the outcome.

pub mod challenges;
pub mod mail;
pub mod passkeys;
pub mod password;
pub mod secrets;
pub mod sessions;

use diesel::prelude::*;
use kluis_core::{DomainError, PersonId, Result, Scope, TenantId};
use kluis_store::error::{StoreResultExt, TxError, is_unique_violation};
use kluis_store::schema::{accounts, people, person_emails};
use kluis_store::{Db, MasterKey, write_tx};
use time::{Duration, PrimitiveDateTime};

use crate::persons;

/// Failed sign-ins tolerated per window before the account is throttled.
pub const MAX_FAILURES: i64 = 10;
/// The window failed sign-ins are counted in.
pub const FAILURE_WINDOW: Duration = Duration::minutes(15);

/// Whether an account may sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountStatus {
    /// It may.
    Active,
    /// Blocked by an administrator: no sign-in, no session.
    Blocked,
}

impl AccountStatus {
    fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Blocked => "blocked",
        }
    }

    fn parse(s: &str) -> AccountStatus {
        if s == "blocked" { AccountStatus::Blocked } else { AccountStatus::Active }
    }
}

/// An account, as the administrator sees it: no hash, no seed.
#[derive(Clone, Debug)]
pub struct Account {
    /// The person it belongs to (also its id).
    pub person_id: PersonId,
    /// Username, unique in the tenant; sign-in also takes the primary e-mail.
    pub username: Option<String>,
    /// Active or blocked.
    pub status: AccountStatus,
    /// The next sign-in must set a new password (an administrator set it).
    pub must_change_password: bool,
    /// Tenant scopes a signed-in staff member may act with.
    pub staff_scopes: Vec<Scope>,
    /// Whether two-factor authentication is on.
    pub totp_enabled: bool,
    /// Whether a password is set.
    pub has_password: bool,
    /// When the password last changed.
    pub password_changed_at: Option<PrimitiveDateTime>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Created.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

type AccountRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    bool,
    String,
    bool,
    Option<PrimitiveDateTime>,
    i64,
    PrimitiveDateTime,
    PrimitiveDateTime,
);

fn from_row(row: AccountRow) -> Result<Account> {
    let (person, username, hash, status, must_change, scopes, totp, changed_at, version, created_at, updated_at) = row;
    Ok(Account {
        person_id: PersonId(person),
        username,
        status: AccountStatus::parse(&status),
        must_change_password: must_change,
        staff_scopes: Scope::parse_list(&scopes).map_err(|e| DomainError::Internal(e.to_string()))?,
        totp_enabled: totp,
        has_password: hash.is_some(),
        password_changed_at: changed_at,
        version,
        created_at,
        updated_at,
    })
}

macro_rules! account_columns {
    () => {
        (
            accounts::person_id,
            accounts::username,
            accounts::password_hash,
            accounts::status,
            accounts::must_change_password,
            accounts::staff_scopes,
            accounts::totp_enabled,
            accounts::password_changed_at,
            accounts::version,
            accounts::created_at,
            accounts::updated_at,
        )
    };
}

fn username_taken() -> DomainError {
    DomainError::Conflict { code: "username_taken", message: "another account of this tenant has this username".into() }
}

fn check_username(username: &str) -> Result<()> {
    let ok = (3..=64).contains(&username.chars().count())
        && username.chars().all(|c| c.is_alphanumeric() || "._-@+".contains(c));
    if ok { Ok(()) } else { Err(DomainError::invalid("username", "must be 3 to 64 letters, digits or . _ - @ +")) }
}

fn check_staff_scopes(scopes: &[Scope]) -> Result<()> {
    if scopes.iter().all(|s| Scope::tenant_client_scopes().any(|t| t == *s)) {
        Ok(())
    } else {
        Err(DomainError::invalid("staff_scopes", "staff can hold only tenant scopes"))
    }
}

/// What creating an account takes.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    /// Username (optional: the primary e-mail signs in too).
    pub username: Option<String>,
    /// Password (optional: without one, only a reset lets the person in).
    pub password: Option<String>,
    /// Blocked from the start.
    pub blocked: bool,
    /// Staff scopes.
    pub staff_scopes: Vec<Scope>,
}

/// The account of a person.
pub fn get(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Account> {
    let row: AccountRow = accounts::table
        .filter(accounts::tenant_id.eq(tenant.as_str()))
        .filter(accounts::person_id.eq(person.as_str()))
        .select(account_columns!())
        .first(conn)
        .domain()?;
    from_row(row)
}

/// Check a new account's input; the password hash is made by the caller
/// (off the executor) with [`password::hash`].
pub fn check_new(new: &NewAccount) -> Result<()> {
    if let Some(username) = &new.username {
        check_username(username)?;
    }
    if let Some(password) = &new.password {
        password::check("password", password)?;
    }
    check_staff_scopes(&new.staff_scopes)
}

/// Create a person's account. `password_hash` comes from [`password::hash`].
/// When the person's primary e-mail is not verified, a verification mail is
/// queued in the same transaction.
pub fn create(
    conn: &mut Db,
    master: &MasterKey,
    public_url: &str,
    tenant: &TenantId,
    person: &PersonId,
    new: &NewAccount,
    password_hash: Option<String>,
) -> Result<Account> {
    check_new(new)?;
    let now = kluis_core::time::now();
    write_tx(conn, |conn| -> Result<(), TxError> {
        persons::exists(conn, tenant, person)?;
        if get(conn, tenant, person).is_ok() {
            return Err(DomainError::Conflict {
                code: "account_exists",
                message: "this person already has an account".into(),
            }
            .into());
        }
        diesel::insert_into(accounts::table)
            .values((
                accounts::tenant_id.eq(tenant.as_str()),
                accounts::person_id.eq(person.as_str()),
                accounts::username.eq(&new.username),
                accounts::username_key.eq(new.username.as_ref().map(|u| u.to_lowercase())),
                accounts::password_hash.eq(&password_hash),
                accounts::status.eq(if new.blocked { "blocked" } else { "active" }),
                accounts::must_change_password.eq(false),
                accounts::staff_scopes.eq(Scope::join(&new.staff_scopes)),
                accounts::totp_enabled.eq(false),
                accounts::failed_count.eq(0i64),
                accounts::password_changed_at.eq(password_hash.as_ref().map(|_| now)),
                accounts::version.eq(1i64),
                accounts::created_at.eq(now),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(|e| if is_unique_violation(&e) { TxError(username_taken()) } else { TxError::from(e) })?;
        secrets::request_verification(conn, master, public_url, tenant, person)?;
        Ok(())
    })
    .map_err(DomainError::from)?;
    get(conn, tenant, person)
}

/// A change to an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    /// New username (`Some(None)` removes it).
    pub username: Option<Option<String>>,
    /// Block or unblock.
    pub status: Option<AccountStatus>,
    /// New staff scopes.
    pub staff_scopes: Option<Vec<Scope>>,
}

/// Check a change's input (before anything is read).
pub fn check_changes(changes: &AccountChanges) -> Result<()> {
    if let Some(Some(username)) = &changes.username {
        check_username(username)?;
    }
    match &changes.staff_scopes {
        Some(scopes) => check_staff_scopes(scopes),
        None => Ok(()),
    }
}

/// Change an account. Blocking it revokes all its sessions at once.
pub fn update(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    if_version: Option<i64>,
    changes: &AccountChanges,
) -> Result<Account> {
    check_changes(changes)?;
    write_tx(conn, |conn| -> Result<(), TxError> {
        let current = get(conn, tenant, person)?;
        if if_version.is_some_and(|v| v != current.version) {
            return Err(DomainError::VersionMismatch.into());
        }
        let username = changes.username.clone().unwrap_or(current.username.clone());
        let status = changes.status.unwrap_or(current.status);
        let scopes = changes.staff_scopes.clone().unwrap_or(current.staff_scopes.clone());
        diesel::update(
            accounts::table
                .filter(accounts::tenant_id.eq(tenant.as_str()))
                .filter(accounts::person_id.eq(person.as_str())),
        )
        .set((
            accounts::username.eq(&username),
            accounts::username_key.eq(username.as_ref().map(|u| u.to_lowercase())),
            accounts::status.eq(status.as_str()),
            accounts::staff_scopes.eq(Scope::join(&scopes)),
            accounts::version.eq(current.version + 1),
            accounts::updated_at.eq(kluis_core::time::now()),
        ))
        .execute(conn)
        .map_err(|e| if is_unique_violation(&e) { TxError(username_taken()) } else { TxError::from(e) })?;
        if status == AccountStatus::Blocked || changes.staff_scopes.is_some() {
            sessions::revoke_all(conn, tenant, person)?;
        }
        Ok(())
    })
    .map_err(DomainError::from)?;
    get(conn, tenant, person)
}

/// Set a new password hash. `must_change` forces a change at the next
/// sign-in (an administrator set it). Every session ends.
pub fn set_password(conn: &mut Db, tenant: &TenantId, person: &PersonId, hash: &str, must_change: bool) -> Result<()> {
    write_tx(conn, |conn| -> Result<(), TxError> {
        let now = kluis_core::time::now();
        let n = diesel::update(
            accounts::table
                .filter(accounts::tenant_id.eq(tenant.as_str()))
                .filter(accounts::person_id.eq(person.as_str())),
        )
        .set((
            accounts::password_hash.eq(Some(hash)),
            accounts::must_change_password.eq(must_change),
            accounts::password_changed_at.eq(Some(now)),
            accounts::failed_count.eq(0i64),
            accounts::failed_window_start.eq(None::<PrimitiveDateTime>),
            accounts::version.eq(accounts::version + 1),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(DomainError::NotFound.into());
        }
        sessions::revoke_all(conn, tenant, person)?;
        Ok(())
    })
    .map_err(DomainError::from)
}

/// The stored hash (for verifying the current password on a change).
pub fn password_hash(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Option<String>> {
    accounts::table
        .filter(accounts::tenant_id.eq(tenant.as_str()))
        .filter(accounts::person_id.eq(person.as_str()))
        .select(accounts::password_hash)
        .first(conn)
        .domain()
}

/// What verifying a sign-in needs.
#[derive(Debug, Clone)]
pub struct SignInTarget {
    /// The account's person.
    pub person_id: PersonId,
    /// The stored hash, if any.
    pub password_hash: Option<String>,
    /// Blocked accounts fail like wrong passwords.
    pub status: AccountStatus,
}

/// The first step of a sign-in.
#[derive(Debug)]
pub enum Attempt {
    /// Verify the password against this (`None`: unknown identifier).
    Verify(Option<SignInTarget>),
    /// Too many failures: try again in this many seconds.
    Throttled(u64),
}

/// Find the account an identifier (username, or the primary e-mail, in any
/// case) names, and reserve one attempt on it: at most [`MAX_FAILURES`]
/// unfinished or failed attempts per [`FAILURE_WINDOW`].
pub fn begin_sign_in(conn: &mut Db, tenant: &TenantId, identifier: &str) -> Result<Attempt> {
    let key = identifier.trim().to_lowercase();
    write_tx(conn, |conn| -> Result<Attempt, TxError> {
        let by_username: Option<String> = accounts::table
            .filter(accounts::tenant_id.eq(tenant.as_str()))
            .filter(accounts::username_key.eq(&key))
            .select(accounts::person_id)
            .first(conn)
            .optional()?;
        let person = match by_username {
            Some(person) => Some(person),
            None => person_emails::table
                .inner_join(
                    accounts::table.on(accounts::tenant_id
                        .eq(person_emails::tenant_id)
                        .and(accounts::person_id.eq(person_emails::person_id))),
                )
                .filter(person_emails::tenant_id.eq(tenant.as_str()))
                .filter(person_emails::address_key.eq(&key))
                .filter(person_emails::is_primary.eq(true))
                .select(person_emails::person_id)
                .first(conn)
                .optional()?,
        };
        let Some(person) = person else { return Ok(Attempt::Verify(None)) };
        let now = kluis_core::time::now();
        let cutoff = now - FAILURE_WINDOW;
        let this =
            accounts::table.filter(accounts::tenant_id.eq(tenant.as_str())).filter(accounts::person_id.eq(&person));
        // A window that ended starts afresh.
        diesel::update(
            this.filter(accounts::failed_window_start.is_null().or(accounts::failed_window_start.lt(cutoff))),
        )
        .set((accounts::failed_count.eq(0i64), accounts::failed_window_start.eq(Some(now))))
        .execute(conn)?;
        let reserved = diesel::update(this.filter(accounts::failed_count.lt(MAX_FAILURES)))
            .set(accounts::failed_count.eq(accounts::failed_count + 1))
            .execute(conn)?;
        let (hash, status, window_start): (Option<String>, String, Option<PrimitiveDateTime>) =
            this.select((accounts::password_hash, accounts::status, accounts::failed_window_start)).first(conn)?;
        if reserved == 0 {
            let ends = window_start.unwrap_or(now) + FAILURE_WINDOW;
            let retry = (ends - now).whole_seconds().max(1);
            return Ok(Attempt::Throttled(u64::try_from(retry).unwrap_or(1)));
        }
        Ok(Attempt::Verify(Some(SignInTarget {
            person_id: PersonId(person),
            password_hash: hash,
            status: AccountStatus::parse(&status),
        })))
    })
    .map_err(DomainError::from)
}

/// A successful sign-in gives its reserved attempt back and clears the
/// count; `rehash` replaces a hash made with old parameters.
pub fn finish_sign_in(conn: &mut Db, tenant: &TenantId, person: &PersonId, rehash: Option<String>) -> Result<Account> {
    let this =
        accounts::table.filter(accounts::tenant_id.eq(tenant.as_str())).filter(accounts::person_id.eq(person.as_str()));
    diesel::update(this)
        .set((accounts::failed_count.eq(0i64), accounts::failed_window_start.eq(None::<PrimitiveDateTime>)))
        .execute(conn)
        .domain()?;
    if let Some(hash) = rehash {
        diesel::update(this).set(accounts::password_hash.eq(Some(hash))).execute(conn).domain()?;
    }
    get(conn, tenant, person)
}

/// The person's language, for mails.
pub(crate) fn language(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Option<String>, TxError> {
    Ok(people::table
        .filter(people::tenant_id.eq(tenant.as_str()))
        .filter(people::id.eq(person.as_str()))
        .select(people::language)
        .first(conn)?)
}

/// Delete the account and everything hanging off it (erasure); rows per table.
pub(crate) fn erase(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<(&'static str, u64)>> {
    let mut removed = sessions::erase(conn, tenant, person)?;
    removed.extend(passkeys::erase(conn, tenant, person)?);
    removed.extend(secrets::erase(conn, tenant, person)?);
    removed.push(("challenges", challenges::erase(conn, tenant, person)?));
    removed.push(("outbox", kluis_store::outbox::erase_person(conn, tenant, person)?));
    let n = diesel::delete(
        accounts::table.filter(accounts::tenant_id.eq(tenant.as_str())).filter(accounts::person_id.eq(person.as_str())),
    )
    .execute(conn)
    .domain()?;
    removed.push(("accounts", n as u64));
    Ok(removed)
}
