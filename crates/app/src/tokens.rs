//! Access tokens for clients: the OAuth 2.0 client-credentials grant
//! (RFC 6749 §4.4). A client gets the scopes it asks for when it holds all
//! of them (all it holds when it asks none); every attempt on a tenant's
//! client lands in that tenant's audit log, issued or denied; repeated
//! failures for one client id are throttled, whatever the secret.

use std::sync::Arc;

use kluis_audit::{Action, Target};
use kluis_core::scope::UnknownScope;
use kluis_core::{Actor, ActorKind, Scope, TenantId};
use kluis_store::Db;
use kluis_store::error::TxError;
use kluis_store::tenancy::{self, AuthFailure, Authenticated};
use zeroize::Zeroizing;

use crate::auth::IssuedToken;
use crate::{App, AppError, AppResult, Origin};

/// A client's token request.
pub struct ClientCredentials {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub secret: Zeroizing<String>,
    /// Space-separated scopes asked for; all the client holds when absent.
    pub scope: Option<String>,
}

/// Why a token was refused (RFC 6749 §5.2 tells the HTTP layer how to say it).
#[derive(Debug)]
pub enum Refusal {
    /// Unknown or revoked client, or a wrong secret.
    BadClient,
    /// The right secret, but the client's tenant is suspended.
    TenantSuspended,
    /// A scope kluis does not know.
    UnknownScope(UnknownScope),
    /// The scopes asked for are none, or more than the client holds.
    ScopeNotHeld,
}

/// Authenticate a client and issue its access token, or refuse. A client id
/// with too many failures in the window is throttled (429) before its
/// secret is looked at; only wrong credentials count as failures.
pub async fn client_credentials(
    app: &Arc<App>,
    origin: &Origin,
    request: ClientCredentials,
) -> AppResult<Result<IssuedToken, Refusal>> {
    let ClientCredentials { client_id, secret, scope } = request;
    // Never a client's id, and PostgreSQL text cannot hold NUL: refused unlooked-up.
    if client_id.is_empty() || client_id.len() > 64 || client_id.chars().any(char::is_control) {
        return Ok(Err(Refusal::BadClient));
    }
    app.limiter.check(&client_id).map_err(AppError::RateLimited)?;
    let requested = match scope.as_deref().map(Scope::parse_list).transpose() {
        Ok(requested) => requested,
        Err(unknown) => return Ok(Err(Refusal::UnknownScope(unknown))),
    };
    let outcome = issue(app, origin, client_id.clone(), secret, requested).await?;
    match &outcome {
        Ok(_) => app.limiter.succeed(&client_id),
        Err(Refusal::BadClient) => app.limiter.fail(&client_id),
        Err(_) => {}
    }
    Ok(outcome)
}

/// In one transaction: authenticate the client, apply the scope rule, sign
/// the token and audit the attempt.
async fn issue(
    app: &Arc<App>,
    origin: &Origin,
    client_id: String,
    secret: Zeroizing<String>,
    requested: Option<Vec<Scope>>,
) -> AppResult<Result<IssuedToken, Refusal>> {
    let (shared, origin) = (app.clone(), origin.clone());
    app.in_transaction(move |conn| {
        let authenticated = match tenancy::authenticate(conn, &client_id, &secret)? {
            Ok(authenticated) => authenticated,
            Err(failure) => return deny(conn, &origin, &client_id, failure).map(Err),
        };
        let (tenant, held, purposes) = match authenticated {
            Authenticated::Operator { .. } => (None, vec![Scope::TenantsAdmin], Vec::new()),
            Authenticated::Tenant(client) => (Some(client.tenant_id), client.scopes, client.purposes),
        };
        let Some(granted) = grant(held, requested) else { return Ok(Err(Refusal::ScopeNotHeld)) };
        let issued = shared.tokens.issue(conn, tenant.as_ref(), &client_id, &granted, &purposes)?;
        if let Some(tenant) = tenant {
            let ctx = client_audit(&origin, &client_id, tenant);
            kluis_audit::record(conn, &ctx, Action::TokenIssue, Target::client(&client_id), &[], None)?;
        }
        Ok(Ok(issued))
    })
    .await
}

/// The scope-subset rule: all the client holds when it asks for none;
/// otherwise what it asks, if that is not empty and it holds all of it.
fn grant(held: Vec<Scope>, requested: Option<Vec<Scope>>) -> Option<Vec<Scope>> {
    match requested {
        None => Some(held),
        Some(requested) if !requested.is_empty() && requested.iter().all(|s| held.contains(s)) => Some(requested),
        Some(_) => None,
    }
}

/// A failed authentication: audited in the client's tenant when the id
/// names a live client of one.
fn deny(conn: &mut Db, origin: &Origin, client_id: &str, failure: AuthFailure) -> Result<Refusal, TxError> {
    let (tenant, refusal) = match failure {
        AuthFailure::BadCredentials { tenant } => (tenant, Refusal::BadClient),
        AuthFailure::TenantSuspended { tenant } => (Some(tenant), Refusal::TenantSuspended),
    };
    if let Some(tenant) = tenant {
        let ctx = client_audit(origin, client_id, tenant);
        kluis_audit::record(conn, &ctx, Action::TokenDenied, Target::client(client_id), &[], None)?;
    }
    Ok(refusal)
}

/// The audit context of a client asking for a token in its tenant.
fn client_audit(origin: &Origin, client_id: &str, tenant: TenantId) -> kluis_audit::Context {
    let actor = Actor {
        kind: ActorKind::Client,
        id: client_id.to_owned(),
        tenant: Some(tenant.clone()),
        scopes: vec![],
        purposes: vec![],
    };
    kluis_audit::Context::new(&actor, tenant, origin.request_id.clone(), origin.ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_scope_asked_grants_all_held() {
        let held = vec![Scope::PeopleRead, Scope::PeopleWrite];
        assert_eq!(grant(held.clone(), None), Some(held));
    }

    #[test]
    fn a_held_subset_is_granted_and_more_or_none_is_not() {
        let held = vec![Scope::PeopleRead, Scope::PeopleWrite];
        assert_eq!(grant(held.clone(), Some(vec![Scope::PeopleRead])), Some(vec![Scope::PeopleRead]));
        assert_eq!(grant(held.clone(), Some(vec![Scope::PeopleRead, Scope::AuditRead])), None);
        assert_eq!(grant(held, Some(vec![])), None);
    }
}
