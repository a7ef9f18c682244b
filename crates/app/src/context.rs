//! Who is calling, from where, in which request: what every use case is
//! given, resolved once per request by the HTTP layer (or the CLI).

use std::net::IpAddr;

use kluis_core::{Actor, ActorKind, PersonId, Scope, TenantId};

use crate::error::AppError;

/// Where a request comes from, before anyone is authenticated: the client's
/// IP (behind a trusted proxy, the address that proxy saw) and the request id.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The request id.
    pub request_id: Option<String>,
    /// The client's IP (truncated before it is stored anywhere but a session).
    pub ip: Option<IpAddr>,
}

impl Origin {
    /// The audit context of an unauthenticated person (or, with `None`,
    /// an unknown one) acting in `tenant`: signing in, redeeming a mailed token.
    pub fn person_audit(&self, tenant: TenantId, person: Option<&PersonId>) -> kluis_audit::Context {
        kluis_audit::Context::person(tenant, person, self.request_id.clone(), self.ip)
    }
}

/// An authenticated caller: the context every authenticated use case takes.
#[derive(Debug, Clone)]
pub struct Context {
    /// Who is calling.
    pub actor: Actor,
    /// The session of a signed-in person.
    pub session: Option<String>,
    /// Where the request comes from.
    pub origin: Origin,
}

impl Context {
    /// The caller's IP.
    pub fn ip(&self) -> Option<IpAddr> {
        self.origin.ip
    }

    /// The audit context of this caller in its own tenant (the operator,
    /// who has none, records in the tenant it acts on: [`Context::audit_in`]).
    pub fn audit(&self) -> Result<kluis_audit::Context, AppError> {
        let tenant = self.actor.tenant.clone().ok_or_else(|| AppError::internal("no tenant for audit"))?;
        Ok(self.audit_in(tenant))
    }

    /// The audit context of this caller recorded in `tenant`'s chain.
    pub fn audit_in(&self, tenant: TenantId) -> kluis_audit::Context {
        kluis_audit::Context::new(&self.actor, tenant, self.origin.request_id.clone(), self.origin.ip)
    }

    /// 403 unless the token grants `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), AppError> {
        if self.actor.has(scope) {
            Ok(())
        } else {
            Err(AppError::forbidden("insufficient_scope", format!("this endpoint needs the `{scope}` scope")))
        }
    }

    /// For tenant operations: the caller's tenant, once it holds `scope`.
    /// The operator has no tenant and is refused here, whatever it holds.
    pub fn tenant_with(&self, scope: Scope) -> Result<TenantId, AppError> {
        let Some(tenant) = self.actor.tenant.clone() else {
            return Err(AppError::forbidden("operator_not_allowed", "operator tokens cannot use tenant endpoints"));
        };
        self.require(scope)?;
        Ok(tenant)
    }

    /// Authorise a tenant operation: the caller, in its tenant, holding
    /// `scope` (403 otherwise; the operator always). The HTTP layer does
    /// this first, before it validates input; use cases take the result.
    pub fn scoped(&self, scope: Scope) -> Result<Scoped<'_>, AppError> {
        let tenant = self.tenant_with(scope)?;
        Ok(Scoped { ctx: self, tenant })
    }

    /// The caller's tenant (no scope asked).
    pub fn tenant(&self) -> Result<TenantId, AppError> {
        self.actor
            .tenant
            .clone()
            .ok_or_else(|| AppError::forbidden("operator_not_allowed", "operator tokens cannot use tenant endpoints"))
    }

    /// For a person's own operations (`/v1/me`): the signed-in person and
    /// their tenant.
    pub fn person(&self) -> Result<(TenantId, PersonId), AppError> {
        match (&self.actor.kind, &self.actor.tenant) {
            (ActorKind::Subject, Some(tenant)) if self.actor.has(Scope::OwnData) => {
                Ok((tenant.clone(), PersonId(self.actor.id.clone())))
            }
            _ => Err(AppError::forbidden(
                "not_a_person",
                "this endpoint is for a signed-in person's own token (scope `self`)",
            )),
        }
    }

    /// The session of a signed-in person's token.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }
}

/// A caller authorised for a tenant operation (made by [`Context::scoped`]):
/// what a tenant use case takes.
#[derive(Debug, Clone)]
pub struct Scoped<'a> {
    /// The caller.
    pub ctx: &'a Context,
    /// The caller's tenant.
    pub tenant: TenantId,
}

impl Scoped<'_> {
    /// The audit context of this caller in its tenant.
    pub fn audit(&self) -> kluis_audit::Context {
        self.ctx.audit_in(self.tenant.clone())
    }

    /// The caller's actor.
    pub fn actor(&self) -> &Actor {
        &self.ctx.actor
    }
}
