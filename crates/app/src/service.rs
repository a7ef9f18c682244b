//! Serviced devices as use cases (`service:read` / `service:write`): items
//! taken in for a person, their sealed credentials, customer-data backup
//! records and notes per customer. Every change is audited in its
//! transaction; reads as reads of the person's data. Returning an item
//! deletes its credentials in the same transaction. Revealing a
//! credential (`service:reveal`) takes a reason, which the audit entry
//! keeps as its purpose (never the secret); it is rate limited per caller,
//! and a staff member needs 2FA for it.

use kluis_audit::{Action, Target};
use kluis_core::page::Page;
use kluis_core::{ActorKind, DomainError, FieldError, PersonId, TenantId};
use kluis_people::{accounts, persons};
use kluis_service::backups::{self, Backup, NewBackup, Outliving};
use kluis_service::credentials::{self, Credential, NewCredential};
use kluis_service::items::{self, Changes as ItemChanges, Item, NewItem};
use kluis_service::notes::{self, Changes as NoteChanges, NewNote, Note};
use kluis_store::tenancy::tenants;
use kluis_store::{Db, MasterKey};
use time::PrimitiveDateTime;
use zeroize::Zeroizing;

use crate::fields::{AuditFields, present};
use crate::limiter::Flow;
use crate::{App, AppResult, Scoped};

/// Longest reason for revealing a credential, in characters.
pub const MAX_REASON: usize = 500;

impl AuditFields for NewItem {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("kind", true),
            ("make", self.make.is_some()),
            ("model", self.model.is_some()),
            ("serial", self.serial.is_some()),
            ("request", true),
            ("received_at", self.received_at.is_some()),
        ])
    }
}

impl AuditFields for ItemChanges {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("kind", self.kind.is_some()),
            ("make", self.make.is_some()),
            ("model", self.model.is_some()),
            ("serial", self.serial.is_some()),
            ("request", self.request.is_some()),
            ("status", self.status.is_some()),
        ])
    }
}

impl AuditFields for NewCredential {
    fn audit_fields(&self) -> Vec<&'static str> {
        vec!["kind", "label", "login", "secret"]
    }
}

impl AuditFields for NewBackup {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("location", true),
            ("size_bytes", self.size_bytes.is_some()),
            ("checksum", self.checksum.is_some()),
            ("encrypted", true),
            ("made_at", self.made_at.is_some()),
        ])
    }
}

impl AuditFields for NewNote {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[("kind", true), ("category", true), ("title", true), ("body", true)])
    }
}

impl AuditFields for NoteChanges {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("kind", self.kind.is_some()),
            ("category", self.category.is_some()),
            ("title", self.title.is_some()),
            ("body", self.body.is_some()),
        ])
    }
}

fn target(kind: &'static str, person: &PersonId) -> Target {
    Target::person(kind, person)
}

async fn audit_read(app: &App, caller: &Scoped<'_>, person: &PersonId, kind: &'static str, fields: &[&str]) {
    app.audit_reads.read(&caller.audit(), Action::PersonRead, target(kind, person), fields, None).await;
}

// --- Items ---

/// Take in an item for `person` (404 when they are not the tenant's).
pub async fn create_item(app: &App, caller: &Scoped<'_>, person: PersonId, new: NewItem) -> AppResult<Item> {
    items::check(&new, kluis_core::time::now())?;
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::ServiceItemCreate, fields, move |conn| {
        persons::version(conn, &tenant, &person)?;
        let item = items::create(conn, &tenant, &person, &new)?;
        Ok((item, target("service_item", &person)))
    })
    .await
}

/// A page of a person's items; the read is audited.
pub async fn list_items(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    limit: i64,
    after: Option<String>,
) -> AppResult<Page<Item>> {
    let tenant = caller.tenant.clone();
    let who = person.clone();
    let page = app
        .read(move |conn| {
            persons::version(conn, &tenant, &who)?;
            items::list(conn, &tenant, &who, limit, after.as_deref())
        })
        .await?;
    audit_read(app, caller, &person, "service_item", &["service_items"]).await;
    Ok(page)
}

/// One item of a person; the read is audited.
pub async fn get_item(app: &App, caller: &Scoped<'_>, person: PersonId, id: String) -> AppResult<Item> {
    let tenant = caller.tenant.clone();
    let who = person.clone();
    let item = app.read(move |conn| items::get(conn, &tenant, &who, &id)).await?;
    audit_read(app, caller, &person, "service_item", &["service_items"]).await;
    Ok(item)
}

/// Change an item at `if_version`: its facts or its status (409
/// `service_status_transition` for a move that cannot be). Returning it
/// deletes its credentials in the same transaction.
pub async fn update_item(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    id: String,
    if_version: Option<i64>,
    changes: ItemChanges,
) -> AppResult<Item> {
    let tenant = caller.tenant.clone();
    let fields = changes.audit_fields();
    app.audited(caller.audit(), Action::ServiceItemUpdate, fields, move |conn| {
        let mut item = items::load(conn, &tenant, &person, &id, if_version)?;
        if items::update(conn, &tenant, &mut item, &changes)? {
            credentials::delete_for_items(conn, &tenant, std::slice::from_ref(&item.id))?;
        }
        Ok((item, target("service_item", &person)))
    })
    .await
}

/// Delete an item at `if_version`, with its credentials and backup records.
pub async fn delete_item(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    id: String,
    if_version: Option<i64>,
) -> AppResult<()> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::ServiceItemDelete, Vec::new(), move |conn| {
        let item = items::load(conn, &tenant, &person, &id, if_version)?;
        credentials::delete_for_items(conn, &tenant, std::slice::from_ref(&item.id))?;
        items::delete(conn, &tenant, &item)?;
        Ok(((), target("service_item", &person)))
    })
    .await
}

// --- Credentials ---

/// Store a credential of an item, its secret sealed (409 for a returned item).
pub async fn create_credential(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    item: String,
    new: NewCredential,
) -> AppResult<Credential> {
    credentials::check(&new)?;
    let tenant = caller.tenant.clone();
    let master = app.master.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::ServiceCredentialCreate, fields, move |conn| {
        let item = items::get(conn, &tenant, &person, &item)?;
        let credential = credentials::create(conn, &master, &tenant, &item, &new)?;
        Ok((credential, target("service_credential", &person)))
    })
    .await
}

/// The credentials of an item, never their secrets; the read is audited.
pub async fn list_credentials(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    item: String,
) -> AppResult<Vec<Credential>> {
    let tenant = caller.tenant.clone();
    let who = person.clone();
    let list = app
        .read(move |conn| {
            let item = items::get(conn, &tenant, &who, &item)?;
            credentials::list(conn, &tenant, &item)
        })
        .await?;
    audit_read(app, caller, &person, "service_credential", &["label", "login"]).await;
    Ok(list)
}

/// The rules of a reveal's reason (422 naming `reason`).
pub fn check_reason(reason: Option<&str>) -> Result<String, DomainError> {
    let mut errors = Vec::new();
    match reason {
        None => errors.push(FieldError::new("reason", "is required: say why the secret is needed")),
        Some(reason) => {
            let count = reason.trim().chars().count();
            if count == 0 || count > MAX_REASON {
                errors.push(FieldError::new("reason", format!("must be 1 to {MAX_REASON} characters")));
            } else if reason.chars().any(char::is_control) {
                errors.push(FieldError::new("reason", "must not contain control characters"));
            } else if kluis_core::validate::contains_card_number(reason) {
                errors.push(FieldError::new("reason", "looks like a payment card number, which kluis never stores"));
            }
        }
    }
    if errors.is_empty() {
        Ok(reason.unwrap_or_default().trim().to_owned())
    } else {
        Err(DomainError::Validation(errors))
    }
}

/// Reveal a credential's secret, with a reason: the reason is checked
/// (422), the caller's rate counted (429), a staff member's 2FA required
/// (403 `totp_required`); the secret is opened and the reveal audited with
/// the reason as its purpose, in one transaction.
pub async fn reveal_credential(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    item: String,
    id: String,
    reason: Option<String>,
) -> AppResult<(Credential, Zeroizing<String>)> {
    let reason = check_reason(reason.as_deref())?;
    let actor = caller.actor();
    app.rates.hit(Flow::RevealPerCaller, &format!("{}:{}", caller.tenant, actor.id))?;
    let staff = (actor.kind == ActorKind::Subject).then(|| PersonId(actor.id.clone()));
    let tenant = caller.tenant.clone();
    let master = app.master.clone();
    let audit = caller.audit();
    app.in_transaction(move |conn| {
        if let Some(staff) = &staff
            && !accounts::get(conn, &tenant, staff)?.totp_enabled
        {
            return Err(DomainError::Forbidden {
                code: "totp_required",
                message: "revealing a customer credential needs two-factor authentication on the staff account".into(),
            }
            .into());
        }
        let item = items::get(conn, &tenant, &person, &item)?;
        let (credential, secret) = credentials::reveal(conn, &master, &tenant, &item, &id)?;
        let target = target("service_credential", &person);
        kluis_audit::record(conn, &audit, Action::ServiceCredentialReveal, target, &["secret"], Some(&reason))?;
        Ok((credential, secret))
    })
    .await
}

/// Delete a credential of an item.
pub async fn delete_credential(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    item: String,
    id: String,
) -> AppResult<()> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::ServiceCredentialDelete, Vec::new(), move |conn| {
        let item = items::get(conn, &tenant, &person, &item)?;
        credentials::delete(conn, &tenant, &item, &id)?;
        Ok(((), target("service_credential", &person)))
    })
    .await
}

// --- Backups ---

/// Record a backup of an item's data (409 for a returned item).
pub async fn create_backup(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    item: String,
    new: NewBackup,
) -> AppResult<Backup> {
    backups::check(&new, kluis_core::time::now())?;
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::ServiceBackupCreate, fields, move |conn| {
        let item = items::get(conn, &tenant, &person, &item)?;
        let backup = backups::create(conn, &tenant, &item, &new)?;
        Ok((backup, target("service_backup", &person)))
    })
    .await
}

/// The backup records of an item; the read is audited.
pub async fn list_backups(app: &App, caller: &Scoped<'_>, person: PersonId, item: String) -> AppResult<Vec<Backup>> {
    let tenant = caller.tenant.clone();
    let who = person.clone();
    let list = app
        .read(move |conn| {
            let item = items::get(conn, &tenant, &who, &item)?;
            backups::list(conn, &tenant, &item)
        })
        .await?;
    audit_read(app, caller, &person, "service_backup", &["service_backups"]).await;
    Ok(list)
}

/// Mark a backup's data put back on the repaired equipment: its
/// retention (`restored_or_returned`) starts now.
pub async fn mark_restored(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    item: String,
    id: String,
) -> AppResult<Backup> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::ServiceBackupRestored, vec!["restored_at"], move |conn| {
        let item = items::get(conn, &tenant, &person, &item)?;
        let backup = backups::mark_restored(conn, &tenant, &item, &id)?;
        Ok((backup, target("service_backup", &person)))
    })
    .await
}

// --- Reminders (the worker) ---

/// Days a customer-data backup may outlive its returned item before the
/// tenant's privacy contact is reminded of it (`KLUIS_SERVICE_BACKUP_REMINDER_DAYS`).
pub const BACKUP_REMINDER_DAYS: u32 = 30;

/// Mail each active tenant's privacy contact about every customer-data
/// backup record whose item was returned more than `days` days before
/// `now`, once each (recorded on the record, audited); a tenant without a
/// contact gets none until it sets one. How many reminders were queued.
pub fn send_backup_reminders(app: &App, now: PrimitiveDateTime, days: u32) -> Result<usize, DomainError> {
    let cutoff = now - time::Duration::days(i64::from(days));
    let mut conn = app.pool.get().map_err(kluis_store::error::from_pool)?;
    let mut sent = 0;
    for tenant in tenants::all_ids(&mut conn)? {
        let settings = tenants::get(&mut conn, &tenant)?;
        let Some(contact) = settings.privacy_contact_email.clone() else { continue };
        if !settings.status.is_active() {
            continue;
        }
        for outliving in backups::outliving(&mut conn, &tenant, cutoff)? {
            let done = kluis_store::write_tx(&mut conn, |conn| {
                remind(conn, &app.master, &tenant, &contact, &outliving, days, now).map_err(kluis_store::error::TxError)
            });
            match done {
                Ok(true) => sent += 1,
                Ok(false) => {}
                Err(kluis_store::error::TxError(e)) => return Err(e),
            }
        }
    }
    Ok(sent)
}

/// One reminder, in its transaction: claimed on the record first, so two
/// instances never send it twice.
fn remind(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    contact: &str,
    outliving: &Outliving,
    days: u32,
    now: PrimitiveDateTime,
) -> Result<bool, DomainError> {
    let backup = &outliving.backup;
    if !backups::mark_reminded(conn, tenant, &backup.id, now)? {
        return Ok(false);
    }
    backups::queue_reminder(conn, master, tenant, contact, outliving, days)?;
    let audit = kluis_audit::Context {
        tenant: tenant.clone(),
        actor_kind: ActorKind::System,
        actor_id: "service-backup-reminders".to_owned(),
        request_id: None,
        ip_prefix: None,
    };
    let target = target("service_backup", &backup.person_id);
    kluis_audit::record(conn, &audit, Action::ServiceBackupRemind, target, &["reminded_at"], None)?;
    Ok(true)
}

// --- Notes ---

/// Write a note about `person`.
pub async fn create_note(app: &App, caller: &Scoped<'_>, person: PersonId, new: NewNote) -> AppResult<Note> {
    notes::check(&new)?;
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::ServiceNoteCreate, fields, move |conn| {
        persons::version(conn, &tenant, &person)?;
        let note = notes::create(conn, &tenant, &person, &new)?;
        Ok((note, target("service_note", &person)))
    })
    .await
}

/// A page of a person's notes; the read is audited.
pub async fn list_notes(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    limit: i64,
    after: Option<String>,
) -> AppResult<Page<Note>> {
    let tenant = caller.tenant.clone();
    let who = person.clone();
    let page = app
        .read(move |conn| {
            persons::version(conn, &tenant, &who)?;
            notes::list(conn, &tenant, &who, limit, after.as_deref())
        })
        .await?;
    audit_read(app, caller, &person, "service_note", &["service_notes"]).await;
    Ok(page)
}

/// One note; the read is audited.
pub async fn get_note(app: &App, caller: &Scoped<'_>, person: PersonId, id: String) -> AppResult<Note> {
    let tenant = caller.tenant.clone();
    let who = person.clone();
    let note = app.read(move |conn| notes::get(conn, &tenant, &who, &id)).await?;
    audit_read(app, caller, &person, "service_note", &["service_notes"]).await;
    Ok(note)
}

/// Change a note at `if_version`.
pub async fn update_note(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    id: String,
    if_version: Option<i64>,
    changes: NoteChanges,
) -> AppResult<Note> {
    let tenant = caller.tenant.clone();
    let fields = changes.audit_fields();
    app.audited(caller.audit(), Action::ServiceNoteUpdate, fields, move |conn| {
        let mut note = notes::load(conn, &tenant, &person, &id, if_version)?;
        notes::update(conn, &tenant, &mut note, &changes)?;
        Ok((note, target("service_note", &person)))
    })
    .await
}

/// Delete a note at `if_version`.
pub async fn delete_note(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    id: String,
    if_version: Option<i64>,
) -> AppResult<()> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::ServiceNoteDelete, Vec::new(), move |conn| {
        let note = notes::load(conn, &tenant, &person, &id, if_version)?;
        notes::delete(conn, &tenant, &note)?;
        Ok(((), target("service_note", &person)))
    })
    .await
}
