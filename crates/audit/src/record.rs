//! Recording: what happened, by whom, to what; appended to the tenant's chain
//! inside the caller's transaction.

use std::net::IpAddr;

use diesel::prelude::*;
use kluis_core::{Actor, ActorKind, DomainError, PersonId, Result, TenantId};
use kluis_store::error::{TxError, UniqueRow};
use kluis_store::schema::{audit_events, audit_heads};
use kluis_store::{Db, write_tx};
use time::PrimitiveDateTime;

use crate::chain::{EventRow, GENESIS, hash_of};
use crate::subject;

/// What was done. The dotted names are stable: filters and reports use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The operator created the tenant.
    TenantCreate,
    /// The operator changed the tenant (name, slug, status).
    TenantUpdate,
    /// An API client was created.
    ClientCreate,
    /// An API client was read.
    ClientRead,
    /// An API client was changed.
    ClientUpdate,
    /// An API client was revoked.
    ClientDelete,
    /// An API client's secret was rotated.
    ClientRotateSecret,
    /// An access token was issued.
    TokenIssue,
    /// A token request was refused.
    TokenDenied,
    /// A person was created.
    PersonCreate,
    /// A person's data was read.
    PersonRead,
    /// A person's profile was changed.
    PersonUpdate,
    /// A person was erased.
    PersonDelete,
    /// A contact was added to a person.
    ContactCreate,
    /// A contact was changed.
    ContactUpdate,
    /// A contact was removed.
    ContactDelete,
    /// An app registered a reference to a person.
    ReferenceCreate,
    /// A reference was removed.
    ReferenceDelete,
    /// An account was created.
    AccountCreate,
    /// An account was read.
    AccountRead,
    /// An account was changed (username, status, staff scopes).
    AccountUpdate,
    /// An administrator set a password.
    AccountPasswordSet,
    /// An administrator turned 2FA off.
    AccountTotpReset,
    /// A sign-in succeeded (a session started).
    LoginSucceeded,
    /// A sign-in failed.
    LoginFailed,
    /// A sign-in was refused: too many failures.
    LoginThrottled,
    /// A sign-in with the right password was refused: an unfamiliar device
    /// with nothing to confirm it by (no verified e-mail address, no TOTP).
    LoginRefused,
    /// A sign-in needs one more step.
    ChallengeIssued,
    /// A challenge was answered.
    ChallengePassed,
    /// A challenge was answered wrongly.
    ChallengeFailed,
    /// An e-mail address was verified.
    EmailVerified,
    /// A password reset mail was asked for.
    PasswordResetRequested,
    /// A password was reset with a mailed token.
    PasswordReset,
    /// A person changed their own password.
    PasswordChanged,
    /// A session was refreshed.
    SessionRefreshed,
    /// A session ended (logout or revocation).
    SessionRevoked,
    /// A used refresh token came back: the session was ended.
    SessionReuseDetected,
    /// 2FA was turned on.
    TotpEnabled,
    /// 2FA was turned off by the person.
    TotpDisabled,
    /// New recovery codes were made.
    RecoveryCodesRegenerated,
    /// A passkey was registered.
    PasskeyRegistered,
    /// A passkey was renamed.
    PasskeyRenamed,
    /// A passkey was removed (by its owner or an administrator); its sessions ended.
    PasskeyRevoked,
    /// A passkey sign-in was refused: unknown credential, bad signature, wrong origin, used or expired challenge.
    PasskeyFailed,
    /// A passkey's signature counter went backwards: the key may be cloned.
    PasskeyCloneWarning,
    /// An administrator listed a person's passkeys.
    PasskeyRead,
    /// A device was trusted (first, familiar, or after a step-up).
    DeviceTrusted,
    /// A device was removed (its sessions ended).
    DeviceRemoved,
    /// A mailed code for an unfamiliar device was entered right.
    StepUpPassed,
    /// A mailed code for an unfamiliar device was entered wrong.
    StepUpFailed,
    /// A person gave consent to a purpose (or, themselves, lifted an objection).
    ConsentGrant,
    /// A person's consent to a purpose was withdrawn.
    ConsentWithdraw,
    /// A person objected to a purpose (direct marketing, legitimate interests).
    ConsentObject,
    /// A person's consents, history or acceptances were read.
    ConsentRead,
    /// An unsubscribe link was issued for a person.
    UnsubscribeLink,
    /// A processing purpose was created.
    PurposeCreate,
    /// A processing purpose was changed.
    PurposeUpdate,
    /// A processing purpose was deleted.
    PurposeDelete,
    /// A tenant-defined attribute was defined.
    AttributeCreate,
    /// A tenant-defined attribute's definition was changed.
    AttributeUpdate,
    /// A tenant-defined attribute was deleted (with its values, when asked).
    AttributeDelete,
    /// A recipient was registered.
    RecipientCreate,
    /// A recipient was changed.
    RecipientUpdate,
    /// A recipient was removed.
    RecipientDelete,
    /// A version of a policy document was published.
    PolicyPublish,
    /// A person accepted a version of a policy document.
    AcceptanceCreate,
    /// A legal hold was placed on a person.
    HoldCreate,
    /// A legal hold was lifted.
    HoldLift,
    /// A person's data was exported whole (Art. 15/20).
    PersonExport,
    /// A person asked to be erased after the tenant's grace period.
    ErasureRequest,
    /// A person cancelled their erasure request within the grace period.
    ErasureCancel,
    /// A retention policy was made.
    RetentionPolicyCreate,
    /// A retention policy was changed.
    RetentionPolicyUpdate,
    /// A retention policy was deleted.
    RetentionPolicyDelete,
    /// A retention sweep ran (or, dry, counted).
    RetentionSweep,
    /// A data-subject request was received.
    RequestCreate,
    /// A request's details, person or state changed.
    RequestUpdate,
    /// A requester was verified (by staff, or by the mailed link).
    RequestVerify,
    /// A request's deadline was extended.
    RequestExtend,
    /// A request was completed.
    RequestComplete,
    /// A request was refused.
    RequestRefuse,
    /// The export of a completed request was downloaded.
    RequestDownload,
    /// The privacy contact was reminded of a request's deadline.
    RequestRemind,
    /// A person's processing was restricted (Art. 18), or its reason changed.
    RestrictionSet,
    /// A person's restriction was lifted.
    RestrictionLift,
    /// A breach was recorded in the register (by the tenant, or by the operator for the platform).
    BreachCreate,
    /// A breach's record was changed (reported, explained, closed, ...).
    BreachUpdate,
    /// The people affected by a high-risk breach were told.
    BreachNotify,
    /// A webhook endpoint was registered.
    WebhookCreate,
    /// A webhook endpoint was changed.
    WebhookUpdate,
    /// A webhook endpoint was deleted.
    WebhookDelete,
    /// A webhook endpoint's secret was rotated.
    WebhookRotateSecret,
    /// A webhook delivery was replayed.
    WebhookReplay,
    /// A whole-tenant archive was started (API) or written (CLI).
    TenantExport,
    /// A whole-tenant archive was downloaded.
    TenantExportDownload,
    /// The tenant was imported from an archive (the first entry after the archive's chain).
    TenantImport,
    /// A backup was started (by hand or by the schedule).
    BackupCreate,
    /// A backup was downloaded.
    BackupDownload,
    /// A backup was deleted (by hand, or by rotation: field `rotation`).
    BackupDelete,
    /// The tenant's backup rotation policy changed.
    BackupPolicyUpdate,
    /// The tenant's data was replaced by a backup's; its fields say how
    /// many erased people were erased again (`re_erasures=N`).
    TenantRestore,
    /// A serviced item was taken in.
    ServiceItemCreate,
    /// A serviced item was changed (its status too: `returned` deletes its credentials).
    ServiceItemUpdate,
    /// A serviced item was deleted.
    ServiceItemDelete,
    /// A customer credential was stored (sealed).
    ServiceCredentialCreate,
    /// A customer credential's secret was revealed; the entry's purpose is the reason given.
    ServiceCredentialReveal,
    /// A customer credential was deleted.
    ServiceCredentialDelete,
    /// A customer-data backup was recorded.
    ServiceBackupCreate,
    /// A customer-data backup was put back on the repaired equipment.
    ServiceBackupRestored,
    /// The privacy contact was reminded of a customer-data backup that outlived its item.
    ServiceBackupRemind,
    /// A service note was written.
    ServiceNoteCreate,
    /// A service note was changed.
    ServiceNoteUpdate,
    /// A service note was deleted.
    ServiceNoteDelete,
}

impl Action {
    /// The dotted name, e.g. `client.create`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::TenantCreate => "tenant.create",
            Action::TenantUpdate => "tenant.update",
            Action::ClientCreate => "client.create",
            Action::ClientRead => "client.read",
            Action::ClientUpdate => "client.update",
            Action::ClientDelete => "client.delete",
            Action::ClientRotateSecret => "client.rotate_secret",
            Action::TokenIssue => "token.issue",
            Action::TokenDenied => "token.denied",
            Action::PersonCreate => "person.create",
            Action::PersonRead => "person.read",
            Action::PersonUpdate => "person.update",
            Action::PersonDelete => "person.delete",
            Action::ContactCreate => "contact.create",
            Action::ContactUpdate => "contact.update",
            Action::ContactDelete => "contact.delete",
            Action::ReferenceCreate => "reference.create",
            Action::ReferenceDelete => "reference.delete",
            Action::AccountCreate => "account.create",
            Action::AccountRead => "account.read",
            Action::AccountUpdate => "account.update",
            Action::AccountPasswordSet => "account.password_set",
            Action::AccountTotpReset => "account.totp_reset",
            Action::LoginSucceeded => "login.succeeded",
            Action::LoginFailed => "login.failed",
            Action::LoginThrottled => "login.throttled",
            Action::LoginRefused => "login.refused",
            Action::ChallengeIssued => "challenge.issued",
            Action::ChallengePassed => "challenge.passed",
            Action::ChallengeFailed => "challenge.failed",
            Action::EmailVerified => "email.verified",
            Action::PasswordResetRequested => "password.reset_requested",
            Action::PasswordReset => "password.reset",
            Action::PasswordChanged => "password.changed",
            Action::SessionRefreshed => "session.refreshed",
            Action::SessionRevoked => "session.revoked",
            Action::SessionReuseDetected => "session.reuse_detected",
            Action::TotpEnabled => "totp.enabled",
            Action::TotpDisabled => "totp.disabled",
            Action::RecoveryCodesRegenerated => "recovery_codes.regenerated",
            Action::PasskeyRegistered => "passkey.registered",
            Action::PasskeyRenamed => "passkey.renamed",
            Action::PasskeyRevoked => "passkey.revoked",
            Action::PasskeyFailed => "passkey.failed",
            Action::PasskeyCloneWarning => "passkey.clone_warning",
            Action::PasskeyRead => "passkey.read",
            Action::DeviceTrusted => "device.trusted",
            Action::DeviceRemoved => "device.removed",
            Action::StepUpPassed => "step_up.passed",
            Action::StepUpFailed => "step_up.failed",
            Action::ConsentGrant => "consent.grant",
            Action::ConsentWithdraw => "consent.withdraw",
            Action::ConsentObject => "consent.object",
            Action::ConsentRead => "consent.read",
            Action::UnsubscribeLink => "unsubscribe.link",
            Action::PurposeCreate => "purpose.create",
            Action::PurposeUpdate => "purpose.update",
            Action::PurposeDelete => "purpose.delete",
            Action::AttributeCreate => "attribute.create",
            Action::AttributeUpdate => "attribute.update",
            Action::AttributeDelete => "attribute.delete",
            Action::RecipientCreate => "recipient.create",
            Action::RecipientUpdate => "recipient.update",
            Action::RecipientDelete => "recipient.delete",
            Action::PolicyPublish => "policy.publish",
            Action::AcceptanceCreate => "acceptance.create",
            Action::HoldCreate => "hold.create",
            Action::HoldLift => "hold.lift",
            Action::PersonExport => "person.export",
            Action::ErasureRequest => "erasure.request",
            Action::ErasureCancel => "erasure.cancel",
            Action::RetentionPolicyCreate => "retention_policy.create",
            Action::RetentionPolicyUpdate => "retention_policy.update",
            Action::RetentionPolicyDelete => "retention_policy.delete",
            Action::RetentionSweep => "retention.sweep",
            Action::RequestCreate => "request.create",
            Action::RequestUpdate => "request.update",
            Action::RequestVerify => "request.verify",
            Action::RequestExtend => "request.extend",
            Action::RequestComplete => "request.complete",
            Action::RequestRefuse => "request.refuse",
            Action::RequestDownload => "request.download",
            Action::RequestRemind => "request.remind",
            Action::RestrictionSet => "restriction.set",
            Action::RestrictionLift => "restriction.lift",
            Action::BreachCreate => "breach.create",
            Action::BreachUpdate => "breach.update",
            Action::BreachNotify => "breach.notify",
            Action::WebhookCreate => "webhook.create",
            Action::WebhookUpdate => "webhook.update",
            Action::WebhookDelete => "webhook.delete",
            Action::WebhookRotateSecret => "webhook.rotate_secret",
            Action::WebhookReplay => "webhook.replay",
            Action::TenantExport => "tenant.export",
            Action::TenantExportDownload => "tenant.export_download",
            Action::TenantImport => "tenant.import",
            Action::BackupCreate => "backup.create",
            Action::BackupDownload => "backup.download",
            Action::BackupDelete => "backup.delete",
            Action::BackupPolicyUpdate => "backup.policy_update",
            Action::TenantRestore => "tenant.restore",
            Action::ServiceItemCreate => "service_item.create",
            Action::ServiceItemUpdate => "service_item.update",
            Action::ServiceItemDelete => "service_item.delete",
            Action::ServiceCredentialCreate => "service_credential.create",
            Action::ServiceCredentialReveal => "service_credential.reveal",
            Action::ServiceCredentialDelete => "service_credential.delete",
            Action::ServiceBackupCreate => "service_backup.create",
            Action::ServiceBackupRestored => "service_backup.restored",
            Action::ServiceBackupRemind => "service_backup.remind",
            Action::ServiceNoteCreate => "service_note.create",
            Action::ServiceNoteUpdate => "service_note.update",
            Action::ServiceNoteDelete => "service_note.delete",
        }
    }
}

/// What an action touched: a kind, an id when the target is not a person,
/// and the person when it is (stored only as their `subject_ref`).
#[derive(Clone, Debug, Default)]
pub struct Target {
    kind: Option<&'static str>,
    id: Option<String>,
    person: Option<PersonId>,
}

impl Target {
    /// No particular target.
    pub fn none() -> Target {
        Target::default()
    }

    /// A tenant.
    pub fn tenant(id: &TenantId) -> Target {
        Target { kind: Some("tenant"), id: Some(id.0.clone()), person: None }
    }

    /// An API client.
    pub fn client(id: &str) -> Target {
        Target { kind: Some("client"), id: Some(id.to_owned()), person: None }
    }

    /// Any other tenant resource that is not a person (a purpose, a
    /// recipient, a policy version), by its kind and id.
    pub fn resource(kind: &'static str, id: &str) -> Target {
        Target { kind: Some(kind), id: Some(id.to_owned()), person: None }
    }

    /// A person: their id is never stored, only their subject reference.
    pub fn person(kind: &'static str, person: &PersonId) -> Target {
        Target { kind: Some(kind), id: None, person: Some(person.clone()) }
    }
}

/// The actor id of a sign-in attempt that names no known account.
pub const ANONYMOUS: &str = "anonymous";

/// Who acts, in which tenant's chain, from where, in which request.
#[derive(Clone, Debug)]
pub struct Context {
    /// The chain the entry goes to.
    pub tenant: TenantId,
    /// The kind of caller.
    pub actor_kind: ActorKind,
    /// The caller's id (client, operator client or person id).
    pub actor_id: String,
    /// The request id.
    pub request_id: Option<String>,
    /// The caller's IP, truncated (IPv4 /16, IPv6 /48).
    pub ip_prefix: Option<String>,
}

impl Context {
    /// The context of `actor` acting in `tenant`; the IP is truncated here.
    pub fn new(actor: &Actor, tenant: TenantId, request_id: Option<String>, ip: Option<IpAddr>) -> Context {
        Context {
            tenant,
            actor_kind: actor.kind,
            actor_id: actor.id.clone(),
            request_id,
            ip_prefix: ip.map(|ip| kluis_core::net::ip_prefix(ip).to_string()),
        }
    }

    /// A person (or, with [`ANONYMOUS`], an unknown one) acting without a
    /// token yet: signing in, redeeming a mailed token.
    pub fn person(
        tenant: TenantId,
        person: Option<&PersonId>,
        request_id: Option<String>,
        ip: Option<IpAddr>,
    ) -> Context {
        Context {
            tenant,
            actor_kind: ActorKind::Subject,
            actor_id: person.map_or_else(|| ANONYMOUS.to_owned(), |p| p.0.clone()),
            request_id,
            ip_prefix: ip.map(|ip| kluis_core::net::ip_prefix(ip).to_string()),
        }
    }

    /// The same caller, recorded in another tenant's chain (the operator
    /// acting on a tenant).
    pub fn in_tenant(&self, tenant: TenantId) -> Context {
        Context { tenant, ..self.clone() }
    }
}

fn actor_kind_name(kind: ActorKind) -> &'static str {
    match kind {
        ActorKind::Operator => "operator",
        ActorKind::Client => "client",
        ActorKind::Subject => "subject",
        ActorKind::System => "system",
    }
}

/// An entry waiting for its place in the chain.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub ctx: Context,
    pub at: PrimitiveDateTime,
    pub action: Action,
    pub target: Target,
    pub fields: Vec<String>,
    pub purpose: Option<String>,
}

impl Pending {
    pub fn new(ctx: &Context, action: Action, target: Target, fields: &[&str], purpose: Option<&str>) -> Pending {
        Pending {
            ctx: ctx.clone(),
            at: kluis_core::time::now(),
            action,
            target,
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            purpose: purpose.map(str::to_owned),
        }
    }
}

/// Start a tenant's chain; call in the transaction that creates the tenant.
pub fn init_chain(conn: &mut Db, tenant: &TenantId) -> Result<()> {
    diesel::insert_into(audit_heads::table)
        .values((audit_heads::tenant_id.eq(tenant.as_str()), audit_heads::seq.eq(0i64), audit_heads::hash.eq(GENESIS)))
        .execute(conn)
        .map(|_| ())
        .map_err(kluis_store::error::from_diesel)
}

/// Start a tenant's chain unless it has one (the tenant-setup registry).
pub fn ensure_chain(conn: &mut Db, tenant: &TenantId) -> Result<()> {
    let exists: Option<i64> = audit_heads::table
        .find(tenant.as_str())
        .select(audit_heads::seq)
        .unique_row(conn)
        .map_err(kluis_store::error::from_diesel)?;
    if exists.is_some() { Ok(()) } else { init_chain(conn, tenant) }
}

/// Record one entry in `ctx.tenant`'s chain, inside the caller's
/// transaction. `fields` names what was read or changed, never values.
pub fn record(
    conn: &mut Db,
    ctx: &Context,
    action: Action,
    target: Target,
    fields: &[&str],
    purpose: Option<&str>,
) -> Result<()> {
    append(conn, &ctx.tenant, vec![Pending::new(ctx, action, target, fields, purpose)], true)
}

/// One entry for [`record_many`]: who, what, on whom, which fields, for
/// which purpose.
pub type Entry<'a> = (&'a Context, Action, Target, &'a [&'a str], Option<&'a str>);

/// Record several entries in one tenant's chain with one append (one lock
/// of the head row for all), inside the caller's transaction: for writers
/// of many changes at once, such as imports.
pub fn record_many<'a>(conn: &mut Db, tenant: &TenantId, entries: impl IntoIterator<Item = Entry<'a>>) -> Result<()> {
    let pending: Vec<Pending> = entries
        .into_iter()
        .map(|(ctx, action, target, fields, purpose)| Pending::new(ctx, action, target, fields, purpose))
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    append(conn, tenant, pending, true)
}

/// Rows per INSERT on PostgreSQL: 16 columns each, well under its 65,535
/// bound parameters.
const ROWS_PER_INSERT: usize = 1000;

/// Append entries to one tenant's chain. Taking the head row's lock first
/// (the `UPDATE`) serialises appenders of a tenant on PostgreSQL; on SQLite
/// the write transaction already does. `create_keys` is false for entries
/// written after the fact (the reads appender): a person with no key by
/// then was erased in between, and the entry stays unlinked rather than
/// giving the erased person a new key.
pub(crate) fn append(conn: &mut Db, tenant: &TenantId, entries: Vec<Pending>, create_keys: bool) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let count = i64::try_from(entries.len()).map_err(|e| DomainError::Internal(e.to_string()))?;
    write_tx(conn, |conn| -> Result<(), TxError> {
        // Who the entries name is looked up before the head lock, which
        // serialises the tenant's appenders until commit on PostgreSQL, so
        // that under it run only the writes: the people of the whole group
        // in one query. A person's first key is still made under the lock:
        // two appenders never race to make it.
        let named: Vec<(Pending, Option<PersonId>)> = entries
            .into_iter()
            .map(|entry| {
                // A person acting is named like a person acted on: by reference,
                // so erasing them makes their own actions unlinkable too.
                let acting = (entry.ctx.actor_kind == ActorKind::Subject && entry.ctx.actor_id != ANONYMOUS)
                    .then(|| PersonId(entry.ctx.actor_id.clone()));
                (entry, acting)
            })
            .collect();
        let persons: Vec<&PersonId> =
            named.iter().flat_map(|(entry, acting)| entry.target.person.iter().chain(acting)).collect();
        let mut known = subject::subject_refs(conn, tenant, &persons)?;
        let locked = diesel::update(audit_heads::table.find(tenant.as_str()))
            .set(audit_heads::seq.eq(audit_heads::seq + count))
            .execute(conn)?;
        if locked == 0 {
            return Err(DomainError::Internal(format!("tenant {tenant} has no audit chain")).into());
        }
        let (last, mut prev): (i64, String) = audit_heads::table
            .find(tenant.as_str())
            .select((audit_heads::seq, audit_heads::hash))
            .unique_row(conn)?
            .ok_or(DomainError::NotFound)?;
        // The reference of a person named, with their key made first when
        // `create_keys` and they have none (kept for the rest of the group).
        let mut reference = |conn: &mut Db, person: &PersonId| -> Result<Option<String>, TxError> {
            if let Some(known) = known.get(person.as_str()) {
                return Ok(Some(known.clone()));
            }
            if !create_keys {
                return Ok(None);
            }
            let made = subject::ref_creating_key(conn, tenant, person)?;
            known.insert(person.0.clone(), made.clone());
            Ok(Some(made))
        };
        let mut rows = Vec::with_capacity(named.len());
        for (seq, (entry, acting)) in (last - count + 1..).zip(named) {
            let subject_ref = match &entry.target.person {
                Some(person) => reference(conn, person)?,
                None => None,
            };
            let actor_id = match &acting {
                Some(person) => reference(conn, person)?.unwrap_or_else(|| ANONYMOUS.to_owned()),
                None => entry.ctx.actor_id.clone(),
            };
            let fields = serde_json::to_string(&entry.fields).map_err(|e| DomainError::Internal(e.to_string()))?;
            let mut row = EventRow {
                tenant_id: tenant.0.clone(),
                seq,
                id: kluis_core::new_id(),
                at: entry.at,
                actor_kind: actor_kind_name(entry.ctx.actor_kind).to_owned(),
                actor_id,
                action: entry.action.as_str().to_owned(),
                target_kind: entry.target.kind.map(str::to_owned),
                target_id: entry.target.id,
                subject_ref,
                fields,
                purpose: entry.purpose,
                request_id: entry.ctx.request_id,
                ip_prefix: entry.ctx.ip_prefix,
                prev_hash: prev,
                hash: String::new(),
            };
            row.hash = hash_of(&row);
            prev = row.hash.clone();
            rows.push(row);
        }
        // PostgreSQL takes the group in multi-row INSERTs (a round trip
        // each); SQLite, in process, a statement per row. Either way one
        // transaction, so a group costs one commit.
        match conn {
            Db::Pg(pg) => {
                for chunk in rows.chunks(ROWS_PER_INSERT) {
                    diesel::insert_into(audit_events::table).values(chunk).execute(pg)?;
                }
            }
            Db::Sqlite(sqlite) => {
                for row in &rows {
                    diesel::insert_into(audit_events::table).values(row).execute(sqlite)?;
                }
            }
        }
        diesel::update(audit_heads::table.find(tenant.as_str())).set(audit_heads::hash.eq(&prev)).execute(conn)?;
        Ok(())
    })
    .map_err(DomainError::from)
}
