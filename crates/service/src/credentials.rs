//! Sealed customer credentials (`service_credentials`): the login and secret
//! of a customer's device or account (Google account, Apple ID, a server
//! login) that the work needs. The secret is sealed with AES-256-GCM under
//! a per-tenant key derived from the master key (HKDF-SHA256, salt: the
//! tenant id, info: [`INFO`]), with a fresh random nonce per credential and
//! the row (`tenant:item:id`) as associated data, so a sealed value copied
//! to another row or tenant does not open. Nothing here returns the secret
//! but [`reveal`]; a credential goes when its item is returned.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use diesel::prelude::*;
use kluis_core::{DomainError, FieldError, PersonId, Result, TenantId};
use kluis_store::error::StoreResultExt;
use kluis_store::personal::Purge;
use kluis_store::schema::service_credentials as c;
use kluis_store::{Db, MasterKey};
use time::PrimitiveDateTime;
use zeroize::Zeroizing;

use crate::items::{Item, Status};
use crate::text::{self, corrupt, wire_enum};

/// The HKDF `info` of the per-tenant credential key.
pub const INFO: &[u8] = b"kluis service credentials v1";
/// Longest label or login, in characters.
pub const MAX_LABEL: usize = 200;
/// Longest secret, in characters.
pub const MAX_SECRET: usize = 1000;
const NONCE: usize = 12;

wire_enum! {
    /// What a credential opens.
    Kind {
        /// A Google account.
        GoogleAccount = "google_account",
        /// An Apple ID.
        AppleId = "apple_id",
        /// A Microsoft account.
        MicrosoftAccount = "microsoft_account",
        /// A server the firm can reach.
        Server = "server",
        /// The device itself (its local account, PIN, BIOS password).
        Device = "device",
        /// A mailbox.
        Email = "email",
        /// A wireless network.
        Wifi = "wifi",
        /// Anything else.
        Other = "other",
    }
}

/// A credential as lists and reads show it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Credential id.
    pub id: String,
    /// The item it belongs to.
    pub item_id: String,
    /// The customer.
    pub person_id: PersonId,
    /// What it opens.
    pub kind: Kind,
    /// A label ("Apple ID of the laptop").
    pub label: String,
    /// The login (user name, account address).
    pub login: String,
    /// When it was last revealed.
    pub revealed_at: Option<PrimitiveDateTime>,
    /// Stored.
    pub created_at: PrimitiveDateTime,
}

/// A credential to store.
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// What it opens.
    pub kind: Kind,
    /// Label: 1 to [`MAX_LABEL`] characters.
    pub label: String,
    /// Login: 1 to [`MAX_LABEL`] characters.
    pub login: String,
    /// The secret: 1 to [`MAX_SECRET`] characters; sealed before it is stored.
    pub secret: Zeroizing<String>,
}

type Row = (String, String, String, String, String, String, Option<PrimitiveDateTime>, PrimitiveDateTime);

macro_rules! columns {
    () => {
        (c::id, c::item_id, c::person_id, c::kind, c::label, c::login, c::revealed_at, c::created_at)
    };
}

fn credential((id, item_id, person_id, kind, label, login, revealed_at, created_at): Row) -> Result<Credential> {
    Ok(Credential {
        kind: Kind::parse(&kind).ok_or_else(|| corrupt("credential kind", &kind))?,
        id,
        item_id,
        person_id: PersonId(person_id),
        label,
        login,
        revealed_at,
        created_at,
    })
}

fn key(master: &MasterKey, tenant: &TenantId) -> Aes256Gcm {
    let key = master.derive(tenant.as_str().as_bytes(), INFO);
    Aes256Gcm::new(key.as_ref().into())
}

fn context(tenant: &TenantId, item: &str, id: &str) -> String {
    format!("service_credential:{tenant}:{item}:{id}")
}

/// Seal `secret` for credential `id` of `item`: nonce || ciphertext+tag.
pub fn seal(master: &MasterKey, tenant: &TenantId, item: &str, id: &str, secret: &str) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE];
    kluis_store::crypto::fill_random(&mut nonce).map_err(|e| DomainError::Internal(e.to_string()))?;
    let aad = context(tenant, item, id);
    let sealed = key(master, tenant)
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret.as_bytes(), aad: aad.as_bytes() })
        .map_err(|_| DomainError::Internal("sealing a credential failed".into()))?;
    let mut out = Vec::with_capacity(NONCE + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Open what [`seal`] sealed for the same row.
pub fn open(master: &MasterKey, tenant: &TenantId, item: &str, id: &str, sealed: &[u8]) -> Result<Zeroizing<String>> {
    let broken = || DomainError::Internal("a sealed credential does not open under this master key".into());
    if sealed.len() < NONCE {
        return Err(broken());
    }
    let (nonce, body) = sealed.split_at(NONCE);
    let aad = context(tenant, item, id);
    let plain = Zeroizing::new(
        key(master, tenant)
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: aad.as_bytes() })
            .map_err(|_| broken())?,
    );
    String::from_utf8(plain.to_vec()).map(Zeroizing::new).map_err(|_| broken())
}

/// The rules of a new credential, each broken one named by its field. The
/// secret is only measured (it may be anything a password can be).
pub fn check(new: &NewCredential) -> Result<()> {
    let mut errors = Vec::new();
    text::check("label", &new.label, 1, MAX_LABEL, false, &mut errors);
    text::check("login", &new.login, 1, MAX_LABEL, false, &mut errors);
    let n = new.secret.chars().count();
    if n == 0 || n > MAX_SECRET {
        errors.push(FieldError::new("secret", format!("must be 1 to {MAX_SECRET} characters")));
    }
    if errors.is_empty() { Ok(()) } else { Err(DomainError::Validation(errors)) }
}

/// The refusal to keep a credential of a returned item.
fn returned() -> DomainError {
    DomainError::Conflict {
        code: "service_item_returned",
        message: "the item was returned: its credentials are deleted and no new one is kept".into(),
    }
}

/// Store a credential of `item`, its secret sealed.
pub fn create(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    item: &Item,
    new: &NewCredential,
) -> Result<Credential> {
    check(new)?;
    if item.status == Status::Returned {
        return Err(returned());
    }
    let id = kluis_core::new_id();
    let sealed = seal(master, tenant, &item.id, &id, &new.secret)?;
    let now = kluis_core::time::now();
    diesel::insert_into(c::table)
        .values((
            c::tenant_id.eq(tenant.as_str()),
            c::id.eq(&id),
            c::item_id.eq(&item.id),
            c::person_id.eq(item.person_id.as_str()),
            c::kind.eq(new.kind.as_str()),
            c::label.eq(new.label.trim()),
            c::login.eq(new.login.trim()),
            c::secret.eq(&sealed),
            c::created_at.eq(now),
        ))
        .execute(conn)
        .domain()?;
    get(conn, tenant, item, &id)
}

/// Credential `id` of `item`, without its secret.
pub fn get(conn: &mut Db, tenant: &TenantId, item: &Item, id: &str) -> Result<Credential> {
    let row: Option<Row> = c::table
        .filter(c::tenant_id.eq(tenant.as_str()))
        .filter(c::item_id.eq(&item.id))
        .filter(c::id.eq(id))
        .select(columns!())
        .first(conn)
        .optional()
        .domain()?;
    credential(row.ok_or(DomainError::NotFound)?)
}

/// The credentials of `item`, oldest first, without secrets.
pub fn list(conn: &mut Db, tenant: &TenantId, item: &Item) -> Result<Vec<Credential>> {
    let rows: Vec<Row> = c::table
        .filter(c::tenant_id.eq(tenant.as_str()))
        .filter(c::item_id.eq(&item.id))
        .order(c::id.asc())
        .select(columns!())
        .load(conn)
        .domain()?;
    rows.into_iter().map(credential).collect()
}

/// The credentials of a person, without secrets (export).
pub fn of_person(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Credential>> {
    let rows: Vec<Row> = c::table
        .filter(c::tenant_id.eq(tenant.as_str()))
        .filter(c::person_id.eq(person.as_str()))
        .order(c::id.asc())
        .select(columns!())
        .load(conn)
        .domain()?;
    rows.into_iter().map(credential).collect()
}

/// Open credential `id` of `item` and note when it was revealed: the
/// credential and its secret. The caller audits it with the reason.
pub fn reveal(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    item: &Item,
    id: &str,
) -> Result<(Credential, Zeroizing<String>)> {
    let mut found = get(conn, tenant, item, id)?;
    let sealed: Vec<u8> = c::table
        .filter(c::tenant_id.eq(tenant.as_str()))
        .filter(c::id.eq(id))
        .select(c::secret)
        .first(conn)
        .domain()?;
    let secret = open(master, tenant, &item.id, id, &sealed)?;
    let now = kluis_core::time::now();
    diesel::update(c::table.filter(c::tenant_id.eq(tenant.as_str())).filter(c::id.eq(id)))
        .set(c::revealed_at.eq(Some(now)))
        .execute(conn)
        .domain()?;
    found.revealed_at = Some(now);
    Ok((found, secret))
}

/// Delete credential `id` of `item`.
pub fn delete(conn: &mut Db, tenant: &TenantId, item: &Item, id: &str) -> Result<()> {
    let n = diesel::delete(
        c::table.filter(c::tenant_id.eq(tenant.as_str())).filter(c::item_id.eq(&item.id)).filter(c::id.eq(id)),
    )
    .execute(conn)
    .domain()?;
    if n == 0 { Err(DomainError::NotFound) } else { Ok(()) }
}

/// Delete every credential of the items `ids` (returned, deleted or
/// purged items); rows removed.
pub fn delete_for_items(conn: &mut Db, tenant: &TenantId, ids: &[String]) -> Result<u64> {
    let n = diesel::delete(c::table.filter(c::tenant_id.eq(tenant.as_str())).filter(c::item_id.eq_any(ids)))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// Count the credentials of the items `ids` (a dry run).
pub(crate) fn count_for_items(conn: &mut Db, tenant: &TenantId, ids: &[String]) -> Result<u64> {
    let n: i64 = c::table
        .filter(c::tenant_id.eq(tenant.as_str()))
        .filter(c::item_id.eq_any(ids))
        .count()
        .get_result(conn)
        .domain()?;
    Ok(n.unsigned_abs())
}

/// Delete every credential of a person (erasure); rows removed.
pub(crate) fn erase(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(c::table.filter(c::tenant_id.eq(tenant.as_str())).filter(c::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// Credentials due under `purge` (`user.service.credential`): stored
/// before the cutoff (the tenant's period for credentials), or of an item
/// returned before the event cutoff. Either action deletes them.
pub(crate) fn purge(conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<u64> {
    if purge.due.is_unbounded() || purge.due.idle_before().is_some() {
        return Ok(0);
    }
    let returned = match purge.due.ended_before {
        Some(at) => Some(crate::items::returned_before(conn, tenant, at)?),
        None => None,
    };
    let persons: Option<Vec<&str>> = purge.due.persons.map(|p| p.iter().map(PersonId::as_str).collect());
    let skip: Vec<&str> = purge.skip.iter().map(PersonId::as_str).collect();
    let due = || {
        let mut query = c::table.filter(c::tenant_id.eq(tenant.as_str())).into_boxed();
        if let Some(at) = purge.due.created_before {
            query = query.filter(c::created_at.lt(at));
        }
        if let Some(returned) = &returned {
            query = query.filter(c::item_id.eq_any(returned));
        }
        if let Some(persons) = &persons {
            query = query.filter(c::person_id.eq_any(persons));
        }
        if !skip.is_empty() {
            query = query.filter(c::person_id.ne_all(&skip));
        }
        query
    };
    if purge.dry_run {
        let n: i64 = due().count().get_result(conn).domain()?;
        return Ok(n.unsigned_abs());
    }
    let ids: Vec<String> = due().select(c::id).limit(purge.limit_i64()).load(conn).domain()?;
    let n = diesel::delete(c::table.filter(c::tenant_id.eq(tenant.as_str())).filter(c::id.eq_any(&ids)))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_row_and_tenant_and_differs_each_time() {
        let master = MasterKey::generate().unwrap();
        let t = TenantId("t1".into());
        let a = seal(&master, &t, "i", "c1", "hunter2").unwrap();
        let b = seal(&master, &t, "i", "c1", "hunter2").unwrap();
        assert_ne!(a, b, "a fresh nonce per seal");
        assert!(!a.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(open(&master, &t, "i", "c1", &a).unwrap().as_str(), "hunter2");
        assert!(open(&master, &t, "i", "c2", &a).is_err());
        assert!(open(&master, &TenantId("t2".into()), "i", "c1", &a).is_err());
        assert!(open(&MasterKey::generate().unwrap(), &t, "i", "c1", &a).is_err());
    }
}
