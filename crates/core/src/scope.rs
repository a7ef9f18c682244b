//! Scopes: what a token may do. The operator holds only `tenants:admin`;
//! tenant clients hold any of the tenant scopes; signed-in people hold `self`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// One permission carried in a token's `scope` claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Operator: manage tenants and their first admin client.
    #[serde(rename = "tenants:admin")]
    TenantsAdmin,
    /// Manage a tenant's API clients.
    #[serde(rename = "clients:admin")]
    ClientsAdmin,
    /// Read people.
    #[serde(rename = "people:read")]
    PeopleRead,
    /// Create, change and delete people.
    #[serde(rename = "people:write")]
    PeopleWrite,
    /// Define the tenant's own person attributes (their type, validation,
    /// data category and purposes).
    #[serde(rename = "people:admin")]
    PeopleAdmin,
    /// Manage accounts (block, set password, reset 2FA).
    #[serde(rename = "accounts:admin")]
    AccountsAdmin,
    /// Read consents, purposes, recipients and the register.
    #[serde(rename = "consent:read")]
    ConsentRead,
    /// Record consents and manage purposes, recipients and policies.
    #[serde(rename = "consent:write")]
    ConsentWrite,
    /// Read devices and visit statistics.
    #[serde(rename = "devices:read")]
    DevicesRead,
    /// Remove devices and record visits.
    #[serde(rename = "devices:write")]
    DevicesWrite,
    /// Retention policies, exports, erasure and backups.
    #[serde(rename = "retention:admin")]
    RetentionAdmin,
    /// Data-subject requests and restriction (Art. 12, 15-22).
    #[serde(rename = "requests:admin")]
    RequestsAdmin,
    /// The breach register (Art. 33, 34).
    #[serde(rename = "breaches:admin")]
    BreachesAdmin,
    /// Webhook endpoints and their deliveries.
    #[serde(rename = "webhooks:admin")]
    WebhooksAdmin,
    /// Read serviced devices, credential labels (never secrets), customer-data backups and service notes.
    #[serde(rename = "service:read")]
    ServiceRead,
    /// Take in, change and return serviced devices; store credentials, record backups, write service notes.
    #[serde(rename = "service:write")]
    ServiceWrite,
    /// Reveal a sealed customer credential, with a reason. Never implied by
    /// another scope: only the tenant's admin client holds it by default.
    #[serde(rename = "service:reveal")]
    ServiceReveal,
    /// Read the audit log.
    #[serde(rename = "audit:read")]
    AuditRead,
    /// A signed-in person acting on their own data.
    #[serde(rename = "self")]
    OwnData,
}

impl Scope {
    /// Every scope, in a stable order.
    pub const ALL: [Scope; 19] = [
        Scope::TenantsAdmin,
        Scope::ClientsAdmin,
        Scope::PeopleRead,
        Scope::PeopleWrite,
        Scope::PeopleAdmin,
        Scope::AccountsAdmin,
        Scope::ConsentRead,
        Scope::ConsentWrite,
        Scope::DevicesRead,
        Scope::DevicesWrite,
        Scope::RetentionAdmin,
        Scope::RequestsAdmin,
        Scope::BreachesAdmin,
        Scope::WebhooksAdmin,
        Scope::ServiceRead,
        Scope::ServiceWrite,
        Scope::ServiceReveal,
        Scope::AuditRead,
        Scope::OwnData,
    ];

    /// The scopes a tenant's API client may hold (everything but the
    /// operator's and the signed-in person's).
    pub fn tenant_client_scopes() -> impl Iterator<Item = Scope> {
        Self::ALL.into_iter().filter(|s| !matches!(s, Scope::TenantsAdmin | Scope::OwnData))
    }

    /// The wire name, e.g. `people:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::TenantsAdmin => "tenants:admin",
            Scope::ClientsAdmin => "clients:admin",
            Scope::PeopleRead => "people:read",
            Scope::PeopleWrite => "people:write",
            Scope::PeopleAdmin => "people:admin",
            Scope::AccountsAdmin => "accounts:admin",
            Scope::ConsentRead => "consent:read",
            Scope::ConsentWrite => "consent:write",
            Scope::DevicesRead => "devices:read",
            Scope::DevicesWrite => "devices:write",
            Scope::RetentionAdmin => "retention:admin",
            Scope::RequestsAdmin => "requests:admin",
            Scope::BreachesAdmin => "breaches:admin",
            Scope::WebhooksAdmin => "webhooks:admin",
            Scope::ServiceRead => "service:read",
            Scope::ServiceWrite => "service:write",
            Scope::ServiceReveal => "service:reveal",
            Scope::AuditRead => "audit:read",
            Scope::OwnData => "self",
        }
    }

    /// Parse a space-separated scope string (the OAuth form); unknown names fail.
    pub fn parse_list(text: &str) -> Result<Vec<Scope>, UnknownScope> {
        let mut scopes: Vec<Scope> = text.split_ascii_whitespace().map(Scope::from_str).collect::<Result<_, _>>()?;
        scopes.sort();
        scopes.dedup();
        Ok(scopes)
    }

    /// The space-separated form of a list of scopes.
    pub fn join(scopes: &[Scope]) -> String {
        scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Nobody grants or takes away a scope they do not hold themselves, to an
/// API client or to a staff account: 403 `scope_not_held`, naming the first
/// of `scopes` that `held` lacks.
pub fn check_held(held: &[Scope], scopes: &[Scope]) -> Result<(), DomainError> {
    match scopes.iter().find(|s| !held.contains(s)) {
        None => Ok(()),
        Some(scope) => Err(DomainError::Forbidden {
            code: "scope_not_held",
            message: format!("the `{scope}` scope can be granted or removed only by a caller that holds it"),
        }),
    }
}

/// A scope name kluis does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}`")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s).ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), scope);
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(json, format!("\"{}\"", scope.as_str()));
        }
    }

    #[test]
    fn parse_list_sorts_dedups_and_rejects_unknown() {
        let scopes = Scope::parse_list("people:write people:read  people:read").unwrap();
        assert_eq!(scopes, vec![Scope::PeopleRead, Scope::PeopleWrite]);
        assert_eq!(Scope::parse_list("people:read root").unwrap_err(), UnknownScope("root".into()));
    }

    #[test]
    fn only_held_scopes_pass_and_the_first_missing_one_is_named() {
        let held = [Scope::AccountsAdmin, Scope::PeopleRead];
        assert!(check_held(&held, &[]).is_ok());
        assert!(check_held(&held, &[Scope::PeopleRead, Scope::AccountsAdmin]).is_ok());
        let refused = check_held(&held, &[Scope::PeopleRead, Scope::AuditRead, Scope::ClientsAdmin]).unwrap_err();
        match refused {
            DomainError::Forbidden { code, message } => {
                assert_eq!(code, "scope_not_held");
                assert!(message.contains("`audit:read`"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tenant_clients_never_get_operator_or_self() {
        let scopes: Vec<_> = Scope::tenant_client_scopes().collect();
        assert!(!scopes.contains(&Scope::TenantsAdmin));
        assert!(!scopes.contains(&Scope::OwnData));
        assert_eq!(scopes.len(), 17);
    }
}
