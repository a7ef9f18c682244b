//! People's accounts, for administrators (`accounts:admin`): create, read,
//! change, set a password, turn 2FA off. Passwords are hashed off the
//! executor before the transaction; no answer holds a hash, seed or token.
//!
//! Staff scopes follow the rule API clients follow: nobody grants or takes
//! away a scope they do not hold themselves, and nobody changes their own.

use kluis_audit::{Action, Target};
use kluis_core::{Actor, ActorKind, DomainError, PersonId, Scope};
use kluis_people::accounts::{self, Account, AccountChanges, NewAccount, password, secrets};
use zeroize::Zeroizing;

use crate::fields::{AuditFields, present};
use crate::{App, AppResult, Scoped};

impl AuditFields for NewAccount {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("username", self.username.is_some()),
            ("password", self.password.is_some()),
            ("staff_scopes", !self.staff_scopes.is_empty()),
        ])
    }
}

impl AuditFields for AccountChanges {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("username", self.username.is_some()),
            ("status", self.status.is_some()),
            ("staff_scopes", self.staff_scopes.is_some()),
        ])
    }
}

/// Whether `actor` may set the staff scopes of `person`'s account from
/// `before` to `after`: never their own (403 `own_scopes`), and only with
/// every scope set or removed held by the caller (403 `scope_not_held`).
fn check_scope_change(actor: &Actor, person: &PersonId, before: &[Scope], after: &[Scope]) -> Result<(), DomainError> {
    if actor.kind == ActorKind::Subject && actor.id == person.0 {
        return Err(DomainError::Forbidden {
            code: "own_scopes",
            message: "a signed-in person cannot change the staff scopes of their own account".into(),
        });
    }
    let removed: Vec<Scope> = before.iter().filter(|s| !after.contains(s)).copied().collect();
    kluis_core::scope::check_held(&actor.scopes, after)?;
    kluis_core::scope::check_held(&actor.scopes, &removed)
}

/// Create a person's account (hashing its password first), and its audit
/// entry; a verification mail is queued when their primary e-mail is not
/// verified. Staff scopes go only to another person, and only those the
/// caller holds.
pub async fn create(app: &App, caller: &Scoped<'_>, person: PersonId, mut new: NewAccount) -> AppResult<Account> {
    accounts::check_new(&new)?;
    if !new.staff_scopes.is_empty() {
        check_scope_change(caller.actor(), &person, &[], &new.staff_scopes)?;
    }
    let fields = new.audit_fields();
    let hash = match new.password.take().map(Zeroizing::new) {
        Some(password) => Some(app.hash(move || password::hash(&password)).await??),
        None => None,
    };
    let (tenant, master, public_url) = (caller.tenant.clone(), app.master.clone(), app.settings.issuer.clone());
    app.audited(caller.audit(), Action::AccountCreate, fields, move |conn| {
        let account = accounts::create(conn, &master, &public_url, &tenant, &person, &new, hash)?;
        Ok((account, Target::person("account", &person)))
    })
    .await
}

/// Read a person's account; the read is audited.
pub async fn get(app: &App, caller: &Scoped<'_>, person: PersonId) -> AppResult<Account> {
    let target = Target::person("account", &person);
    let tenant = caller.tenant.clone();
    let account = app.read(move |conn| accounts::get(conn, &tenant, &person)).await?;
    app.audit_reads
        .read(&caller.audit(), Action::AccountRead, target, &["username", "status", "staff_scopes"], None)
        .await;
    Ok(account)
}

/// Change an account's username, status or staff scopes (blocking it or
/// changing its scopes ends its sessions), based on `if_version` when given.
/// New staff scopes are checked against the account's current ones, in the
/// same transaction: the caller must hold every scope set and every scope
/// removed, and cannot set their own.
pub async fn update(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    if_version: Option<i64>,
    changes: AccountChanges,
) -> AppResult<Account> {
    accounts::check_changes(&changes)?;
    let (tenant, actor) = (caller.tenant.clone(), caller.actor().clone());
    app.audited(caller.audit(), Action::AccountUpdate, changes.audit_fields(), move |conn| {
        if let Some(scopes) = &changes.staff_scopes {
            let current = accounts::get(conn, &tenant, &person)?;
            check_scope_change(&actor, &person, &current.staff_scopes, scopes)?;
        }
        let account = accounts::update(conn, &tenant, &person, if_version, &changes)?;
        Ok((account, Target::person("account", &person)))
    })
    .await
}

/// Set a person's password as an administrator: they must change it at
/// their next sign-in, and every session of theirs ends.
pub async fn set_password(app: &App, caller: &Scoped<'_>, person: PersonId, new: Zeroizing<String>) -> AppResult<()> {
    password::check("password", &new)?;
    let hash = app.hash(move || password::hash(&new)).await??;
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::AccountPasswordSet, vec!["password"], move |conn| {
        accounts::set_password(conn, &tenant, &person, &hash, true)?;
        Ok(((), Target::person("account", &person)))
    })
    .await
}

/// Turn off a person's 2FA (a lost phone): seed and recovery codes go.
pub async fn reset_totp(app: &App, caller: &Scoped<'_>, person: PersonId) -> AppResult<()> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::AccountTotpReset, vec!["totp"], move |conn| {
        secrets::disable_totp(conn, &tenant, &person)?;
        Ok(((), Target::person("account", &person)))
    })
    .await
}
