//! One-click unsubscribe (RFC 8058): a signed, expiring token per person and
//! purpose, to put in a mail's `List-Unsubscribe` header. The token is
//! `base64url(payload) "." base64url(HMAC-SHA256(tenant key, payload))`
//! where the payload names the tenant, person, purpose and expiry; the key is
//! the tenant's own random 32 bytes. A token works once: used ones are
//! remembered by the hash of their payload until they expire.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use kluis_core::{Actor, DomainError, PersonId, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError, is_unique_violation};
use kluis_store::schema::consent_unsubscribes as u;
use kluis_store::{Db, write_tx};
use sha2::{Digest, Sha256};
use time::{Duration, PrimitiveDateTime};

use crate::model::{ConsentAction, ConsentEvent, LegalBasis, NewEvent, Proof, Purpose, Source};
use crate::{ledger, purposes, setup};

/// How long a link works.
pub const LINK_TTL: Duration = Duration::days(365);

/// Format version of the payload.
const VERSION: &str = "u1";

/// A token whose signature holds.
#[derive(Clone, Debug)]
pub struct Token {
    /// The tenant.
    pub tenant: TenantId,
    /// The person.
    pub person: PersonId,
    /// Purpose key.
    pub purpose: String,
    /// When it stops working.
    pub expires_at: PrimitiveDateTime,
    hash: Vec<u8>,
}

/// What a presented token turned out to be.
#[derive(Clone, Debug)]
pub enum Opened {
    /// Signed by its tenant and not expired.
    Valid(Token),
    /// Signed, but past its expiry.
    Expired,
    /// Not a token kluis made, or altered.
    Invalid,
}

/// What redeeming a valid token did.
#[derive(Clone, Debug)]
pub enum Redeemed {
    /// The withdrawal (or objection) was recorded.
    Recorded(Box<ConsentEvent>),
    /// The token was used before: nothing recorded.
    Used,
    /// Its purpose no longer exists: nothing recorded.
    Gone,
}

fn mac(key: &[u8], payload: &[u8]) -> Result<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| DomainError::Internal(e.to_string()))?;
    mac.update(payload);
    Ok(mac)
}

/// The action an unsubscribe records: a withdrawal of consent, or an
/// objection where the purpose rests on another basis one may object to.
fn action_for(basis: LegalBasis) -> Option<ConsentAction> {
    if basis.requires_consent() {
        Some(ConsentAction::Withdraw)
    } else if basis.objectable() {
        Some(ConsentAction::Object)
    } else {
        None
    }
}

/// A token for the person and purpose, valid until `expires_at`. Only a
/// purpose one can withdraw from or object to has one (422 otherwise).
pub fn issue(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    purpose: &str,
    expires_at: PrimitiveDateTime,
) -> Result<String> {
    let Some(found) = purposes::find(conn, tenant, purpose)? else {
        return Err(DomainError::invalid("purpose", "no such purpose"));
    };
    if action_for(found.legal_basis).is_none() {
        return Err(DomainError::invalid(
            "purpose",
            format!("`{purpose}` is based on {}: there is nothing to unsubscribe from", found.legal_basis),
        ));
    }
    let key = setup::unsubscribe_key(conn, tenant)?
        .ok_or_else(|| DomainError::Internal(format!("tenant {tenant} has no unsubscribe key")))?;
    let expiry = kluis_core::time::unix(expires_at);
    let payload = format!("{VERSION}.{tenant}.{person}.{purpose}.{expiry}");
    let signature = mac(&key, payload.as_bytes())?.finalize().into_bytes();
    Ok(format!("{}.{}", URL_SAFE_NO_PAD.encode(payload.as_bytes()), URL_SAFE_NO_PAD.encode(signature)))
}

/// Check a presented token: its tenant's signature first, then its expiry.
pub fn open(conn: &mut Db, token: &str) -> Result<Opened> {
    let Some((payload, signature)) = token.split_once('.') else {
        return Ok(Opened::Invalid);
    };
    let (Ok(payload), Ok(signature)) = (URL_SAFE_NO_PAD.decode(payload), URL_SAFE_NO_PAD.decode(signature)) else {
        return Ok(Opened::Invalid);
    };
    let Ok(text) = std::str::from_utf8(&payload) else {
        return Ok(Opened::Invalid);
    };
    let parts: Vec<&str> = text.split('.').collect();
    let [VERSION, tenant, person, purpose, expiry] = parts.as_slice() else {
        return Ok(Opened::Invalid);
    };
    let Ok(expiry) = expiry.parse::<i64>() else {
        return Ok(Opened::Invalid);
    };
    if !kluis_core::ids::is_uuid(tenant) || !kluis_core::ids::is_uuid(person) {
        return Ok(Opened::Invalid);
    }
    let tenant = TenantId((*tenant).to_owned());
    let Some(key) = setup::unsubscribe_key(conn, &tenant)? else {
        return Ok(Opened::Invalid);
    };
    if mac(&key, &payload)?.verify_slice(&signature).is_err() {
        return Ok(Opened::Invalid);
    }
    let Some(expires_at) = kluis_core::time::from_unix(expiry) else {
        return Ok(Opened::Invalid);
    };
    if expires_at <= kluis_core::time::now() {
        return Ok(Opened::Expired);
    }
    Ok(Opened::Valid(Token {
        tenant,
        person: PersonId((*person).to_owned()),
        purpose: (*purpose).to_owned(),
        expires_at,
        hash: Sha256::digest(&payload).to_vec(),
    }))
}

/// Record the withdrawal (or objection) a valid token asks for, once, with
/// source `unsubscribe`. The person must exist (the caller checks).
pub fn redeem(conn: &mut Db, token: &Token, actor: &Actor, proof: Proof) -> Result<Redeemed> {
    let tenant = &token.tenant;
    write_tx(conn, |conn| -> Result<Redeemed, TxError> {
        let now = kluis_core::time::now();
        // Used tokens are only remembered until they expire.
        diesel::delete(u::table.filter(u::tenant_id.eq(tenant.as_str())).filter(u::expires_at.le(now)))
            .execute(conn)?;
        let Some(action) = purposes::find(conn, tenant, &token.purpose)?.and_then(|p| action_for(p.legal_basis)) else {
            return Ok(Redeemed::Gone);
        };
        // A savepoint: a token used concurrently waits for the first use and then finds it.
        let claimed = write_tx(conn, |conn| {
            diesel::insert_into(u::table)
                .values((
                    u::tenant_id.eq(tenant.as_str()),
                    u::token_hash.eq(&token.hash),
                    u::person_id.eq(token.person.as_str()),
                    u::purpose.eq(&token.purpose),
                    u::expires_at.eq(token.expires_at),
                    u::used_at.eq(now),
                ))
                .execute(conn)
        });
        match claimed {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(Redeemed::Used),
            Err(e) => return Err(e.into()),
        }
        let new = NewEvent {
            purpose: token.purpose.clone(),
            action,
            source: Source::Unsubscribe,
            policy_version: None,
            occurred_at: Some(now),
            expires_at: None,
            proof,
        };
        Ok(Redeemed::Recorded(Box::new(ledger::record(conn, tenant, &token.person, actor, &new)?)))
    })
    .map_err(DomainError::from)
}

/// What redeeming a valid token would do now, found without doing it: the
/// page a link opens in a browser says it, and a GET must never act (mail
/// scanners follow links).
#[derive(Clone, Debug)]
pub enum Pending {
    /// Redeeming it would record `action` for `purpose`.
    Ready {
        /// The purpose, as it is now.
        purpose: Box<Purpose>,
        /// A withdrawal, or an objection.
        action: ConsentAction,
    },
    /// It was used before.
    Used,
    /// Its purpose no longer exists, or is no longer one to unsubscribe from.
    Gone,
}

/// What [`redeem`] would find for a valid token, in the same order, reading only.
pub fn pending(conn: &mut Db, token: &Token) -> Result<Pending> {
    let tenant = &token.tenant;
    let Some(purpose) = purposes::find(conn, tenant, &token.purpose)? else {
        return Ok(Pending::Gone);
    };
    let Some(action) = action_for(purpose.legal_basis) else {
        return Ok(Pending::Gone);
    };
    let used: i64 = u::table
        .filter(u::tenant_id.eq(tenant.as_str()))
        .filter(u::token_hash.eq(&token.hash))
        .count()
        .get_result(conn)
        .domain()?;
    if used > 0 {
        return Ok(Pending::Used);
    }
    Ok(Pending::Ready { purpose: Box::new(purpose), action })
}

/// The purposes a person used a link for, and when (export; the token's
/// hash stays out).
pub(crate) fn used_by(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<(String, PrimitiveDateTime)>> {
    u::table
        .filter(u::tenant_id.eq(tenant.as_str()))
        .filter(u::person_id.eq(person.as_str()))
        .order(u::used_at.asc())
        .select((u::purpose, u::used_at))
        .load(conn)
        .domain()
}

/// Delete the used tokens of a person; rows removed.
pub(crate) fn erase_all(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(u::table.filter(u::tenant_id.eq(tenant.as_str())).filter(u::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}
