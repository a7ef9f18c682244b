//! The platform's own tables: tenants, their API clients, the operator's
//! clients and the token signing keys. Every domain stands on these; none of
//! them holds personal data.

pub mod clients;
pub mod keys;
pub mod operator;
pub mod rules;
pub mod tenants;

pub use clients::{ApiClient, ClientChanges, IssuedClient, NewClient};
pub use tenants::{NewTenant, Tenant, TenantChanges, TenantStatus, UnverifiedDevice};

use kluis_core::{ClientId, TenantId};

/// Prefix of client secrets, so secret scanners can spot a leaked one.
pub const CLIENT_SECRET_PREFIX: &str = "ksec_";

/// A client that proved its secret at the token endpoint.
#[derive(Debug)]
pub enum Authenticated {
    /// One of the platform operator's clients.
    Operator {
        /// The operator client's id.
        client_id: ClientId,
    },
    /// A tenant's API client.
    Tenant(ApiClient),
}

/// Why client authentication failed. The token endpoint answers all of these
/// with the same `invalid_client`, except that a caller holding the right
/// secret learns that its tenant is suspended.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// Unknown id, revoked client or wrong secret; `tenant` when the id is a
    /// live client of that tenant (so the attempt lands in its audit log).
    BadCredentials {
        /// The client's tenant, if the id names one of its live clients.
        tenant: Option<TenantId>,
    },
    /// Right secret, but the tenant is suspended.
    TenantSuspended {
        /// The suspended tenant.
        tenant: TenantId,
    },
}

/// What a token's caller must still be, checked on every request so that
/// revoking a client or suspending a tenant takes effect at once.
#[derive(Debug, Clone)]
pub struct TokenSubject<'a> {
    /// The token's `tid`; `None` for the operator.
    pub tenant: Option<&'a TenantId>,
    /// The token's `sub` (a client id).
    pub client_id: &'a str,
    /// When the token was issued, Unix milliseconds (from its UUIDv7 `jti`;
    /// `iat` has only whole seconds, too coarse to order it against a
    /// rotation in the same second).
    pub issued_at_ms: i64,
}

/// Authenticate a client by id and secret, operator or tenant. The secret is
/// compared in constant time; an unknown id still pays for a comparison.
pub fn authenticate(
    conn: &mut crate::Db,
    client_id: &str,
    secret: &str,
) -> kluis_core::Result<Result<Authenticated, AuthFailure>> {
    if let Some((client, secret_hash, tenant_active)) = clients::find_for_auth(conn, client_id)? {
        if !crate::crypto::verify_secret(secret, &secret_hash) {
            return Ok(Err(AuthFailure::BadCredentials { tenant: Some(client.tenant_id) }));
        }
        if !tenant_active {
            return Ok(Err(AuthFailure::TenantSuspended { tenant: client.tenant_id }));
        }
        return Ok(Ok(Authenticated::Tenant(client)));
    }
    if let Some(secret_hash) = operator::find_for_auth(conn, client_id)? {
        return Ok(if crate::crypto::verify_secret(secret, &secret_hash) {
            Ok(Authenticated::Operator { client_id: ClientId(client_id.to_owned()) })
        } else {
            Err(AuthFailure::BadCredentials { tenant: None })
        });
    }
    // Same work as a known id, so response time does not reveal which ids exist.
    let _ = crate::crypto::verify_secret(secret, &[0u8; 32]);
    Ok(Err(AuthFailure::BadCredentials { tenant: None }))
}

/// True while the token's client is not revoked, its tenant (if any) exists
/// and is active, and the token was issued after the client's last secret
/// rotation.
pub fn token_subject_is_live(conn: &mut crate::Db, subject: &TokenSubject<'_>) -> kluis_core::Result<bool> {
    match subject.tenant {
        Some(tenant) => clients::is_live(conn, tenant, subject.client_id, subject.issued_at_ms),
        None => operator::is_live(conn, subject.client_id, subject.issued_at_ms),
    }
}
