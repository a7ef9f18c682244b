//! Who is calling: built by the API layer from a validated token and handed
//! to domain code, which records it in the audit log.

use serde::Serialize;

use crate::{ClientId, Scope, TenantId};

/// The kind of caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// The platform operator: manages tenants, never reads their data.
    Operator,
    /// A tenant's API client (back office, SPA backend, processor).
    Client,
    /// A signed-in person.
    Subject,
    /// kluis itself (workers, sweeps, bootstrap).
    System,
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Actor {
    /// What kind of caller this is.
    pub kind: ActorKind,
    /// The client id (operator and client) or the person id (subject).
    pub id: String,
    /// The tenant the caller acts in; `None` only for the operator and system.
    pub tenant: Option<TenantId>,
    /// The scopes the token grants.
    pub scopes: Vec<Scope>,
    /// The processing purposes a processor client is bound to.
    pub purposes: Vec<String>,
}

impl Actor {
    /// True when the token grants `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// The client id, for operator and client callers.
    pub fn client_id(&self) -> Option<ClientId> {
        matches!(self.kind, ActorKind::Operator | ActorKind::Client).then(|| ClientId(self.id.clone()))
    }
}
