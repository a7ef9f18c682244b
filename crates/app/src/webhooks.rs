//! Webhooks (`webhooks:admin`): endpoints registered, listed, changed,
//! deleted, their secret rotated (shown once each time), their delivery log
//! read and a delivery replayed; and the events the other use cases emit in
//! their own transactions (a person created or changed, a consent changed,
//! an erasure), each also a row of the people changes feed. Changes are audited in the change's transaction; the worker
//! that sends deliveries is the server's, over [`due`] and [`record`].

use kluis_audit::{Action, Target};
use kluis_consent::ConsentEvent;
use kluis_core::page::Page;
use kluis_core::{DomainError, FieldError, PersonId, TenantId};
use kluis_hooks::deliveries::{self, After, Attempt, Claimed, Delivery, Outcome};
use kluis_hooks::endpoints::{self, NewWebhook, Webhook, WebhookPatch};
use kluis_hooks::events::{self, Event};
use kluis_people::Reference;
use kluis_people::changes::ChangeKind;
use kluis_store::Db;
use kluis_store::tenancy::clients;
use serde_json::json;
use zeroize::Zeroizing;

use crate::fields::{AuditFields, present};
use crate::{App, AppResult, Scoped};

/// An endpoint to register; without `client_id` it speaks for the caller.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// The app (client of the tenant) it speaks for.
    pub client_id: Option<String>,
    /// The URL.
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// Event types.
    pub event_types: Vec<String>,
    /// Purpose keys of the tenant.
    pub purposes: Vec<String>,
}

impl AuditFields for NewEndpoint {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("client_id", self.client_id.is_some()),
            ("url", true),
            ("description", self.description.is_some()),
            ("event_types", true),
            ("purposes", !self.purposes.is_empty()),
        ])
    }
}

impl AuditFields for WebhookPatch {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("url", self.url.is_some()),
            ("description", self.description.is_some()),
            ("event_types", self.event_types.is_some()),
            ("purposes", self.purposes.is_some()),
            ("enabled", self.enabled.is_some()),
        ])
    }
}

/// An endpoint with its secret, as made or rotated: the only time the secret is shown.
#[derive(Debug)]
pub struct WithSecret {
    /// The endpoint.
    pub webhook: Webhook,
    /// `whsec_...`.
    pub secret: Zeroizing<String>,
}

/// A delivery with its attempts.
#[derive(Debug)]
pub struct DeliveryLog {
    /// The delivery.
    pub delivery: Delivery,
    /// Its attempts, oldest first.
    pub attempts: Vec<Attempt>,
}

/// Each purpose must be one of the tenant's (422 naming the entry).
fn check_purposes(conn: &mut Db, tenant: &TenantId, purposes: &[String]) -> Result<(), DomainError> {
    let mut errors = Vec::new();
    for (i, key) in purposes.iter().enumerate() {
        match kluis_consent::purposes::get(conn, tenant, key) {
            Ok(_) => {}
            Err(DomainError::NotFound) => {
                errors.push(FieldError::new(format!("purposes[{i}]"), "is not a purpose of the tenant"));
            }
            Err(e) => return Err(e),
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(DomainError::Validation(errors)) }
}

/// Register an endpoint (the URL's host must not resolve to an internal
/// address unless the operator allows it); it and its secret.
pub async fn create(app: &App, caller: &Scoped<'_>, new: NewEndpoint) -> AppResult<WithSecret> {
    let tenant = caller.tenant.clone();
    let policy = app.settings.webhooks;
    let master = app.master.clone();
    let fields = new.audit_fields();
    let client_id = new.client_id.clone().unwrap_or_else(|| caller.actor().id.clone());
    let new = NewWebhook {
        client_id,
        url: new.url,
        description: new.description,
        event_types: new.event_types,
        purposes: new.purposes,
    };
    endpoints::check(&new, &policy)?;
    // DNS outside the transaction: it may take a while.
    let url = new.url.clone();
    app.with_conn(move |_| endpoints::check_url_resolved(&url, &policy).map_err(|e| DomainError::Validation(vec![e])))
        .await?;
    app.audited(caller.audit(), Action::WebhookCreate, fields, move |conn| {
        match clients::get(conn, &tenant, &new.client_id) {
            Ok(_) => {}
            Err(DomainError::NotFound) => {
                return Err(DomainError::invalid("client_id", "is not a client of the tenant").into());
            }
            Err(e) => return Err(e.into()),
        }
        check_purposes(conn, &tenant, &new.purposes)?;
        let (webhook, secret) = endpoints::create(conn, &master, &tenant, &new, &policy)?;
        let target = Target::resource("webhook", &webhook.id);
        Ok((WithSecret { webhook, secret }, target))
    })
    .await
}

/// The tenant's endpoints, oldest first.
pub async fn list(app: &App, caller: &Scoped<'_>, limit: i64, after: Option<String>) -> AppResult<Page<Webhook>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| endpoints::list(conn, &tenant, limit, after.as_deref())).await
}

/// One endpoint.
pub async fn get(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<Webhook> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| endpoints::get(conn, &tenant, &id)).await
}

/// Change an endpoint; with `if_version`, only while it is that version.
pub async fn update(
    app: &App,
    caller: &Scoped<'_>,
    id: String,
    if_version: Option<i64>,
    patch: WebhookPatch,
) -> AppResult<Webhook> {
    let tenant = caller.tenant.clone();
    let policy = app.settings.webhooks;
    let fields = patch.audit_fields();
    endpoints::check_patch(&patch, &policy)?;
    if let Some(url) = patch.url.clone() {
        app.with_conn(move |_| {
            endpoints::check_url_resolved(&url, &policy).map_err(|e| DomainError::Validation(vec![e]))
        })
        .await?;
    }
    app.audited(caller.audit(), Action::WebhookUpdate, fields, move |conn| {
        if let Some(purposes) = &patch.purposes {
            endpoints::get(conn, &tenant, &id)?;
            check_purposes(conn, &tenant, purposes)?;
        }
        let webhook = endpoints::update(conn, &tenant, &id, if_version, &patch, &policy)?;
        Ok((webhook, Target::resource("webhook", &id)))
    })
    .await
}

/// Delete an endpoint and its delivery log.
pub async fn delete(app: &App, caller: &Scoped<'_>, id: String, if_version: Option<i64>) -> AppResult<()> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::WebhookDelete, Vec::new(), move |conn| {
        endpoints::delete(conn, &tenant, &id, if_version)?;
        Ok(((), Target::resource("webhook", &id)))
    })
    .await
}

/// A new secret for an endpoint; the previous one keeps signing for 24 hours.
pub async fn rotate_secret(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<WithSecret> {
    let tenant = caller.tenant.clone();
    let master = app.master.clone();
    app.audited(caller.audit(), Action::WebhookRotateSecret, Vec::new(), move |conn| {
        let (webhook, secret) = endpoints::rotate(conn, &master, &tenant, &id)?;
        Ok((WithSecret { webhook, secret }, Target::resource("webhook", &id)))
    })
    .await
}

/// An endpoint's deliveries, newest first (404 for an unknown endpoint).
pub async fn deliveries(
    app: &App,
    caller: &Scoped<'_>,
    webhook: String,
    limit: i64,
    before: Option<String>,
) -> AppResult<Page<DeliveryLog>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| {
        endpoints::get(conn, &tenant, &webhook)?;
        let page = deliveries::list(conn, &tenant, &webhook, limit, before.as_deref())?;
        let mut items = Vec::with_capacity(page.items.len());
        for delivery in page.items {
            let attempts = deliveries::attempts(conn, &tenant, &delivery.id)?;
            items.push(DeliveryLog { delivery, attempts });
        }
        Ok(Page { items, next_cursor: page.next_cursor })
    })
    .await
}

/// Send a delivery again (same `webhook-id` and body, a new delivery, due now).
pub async fn replay(app: &App, caller: &Scoped<'_>, webhook: String, delivery: String) -> AppResult<DeliveryLog> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::WebhookReplay, Vec::new(), move |conn| {
        let delivery = deliveries::replay(conn, &tenant, &webhook, &delivery)?;
        Ok((DeliveryLog { delivery, attempts: Vec::new() }, Target::resource("webhook", &webhook)))
    })
    .await
}

// The events, emitted inside the transaction of the change.

/// A person was created.
pub(crate) fn person_created(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    fields: &[&'static str],
) -> Result<(), DomainError> {
    crate::processors::feed(conn, tenant, person, ChangeKind::Created, fields, &[])?;
    let event = Event {
        event_type: events::PERSON_CREATED,
        person: Some(person),
        purpose: None,
        data: json!({"person_id": person.as_str()}),
    };
    events::emit(conn, tenant, &event).map(|_| ())
}

/// A person's profile or contacts changed: which fields, never their values.
pub(crate) fn person_updated(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    fields: &[&'static str],
) -> Result<(), DomainError> {
    crate::processors::feed(conn, tenant, person, ChangeKind::Updated, fields, &[])?;
    let event = Event {
        event_type: events::PERSON_UPDATED,
        person: Some(person),
        purpose: None,
        data: json!({"person_id": person.as_str(), "fields": fields}),
    };
    events::emit(conn, tenant, &event).map(|_| ())
}

/// A consent event was recorded.
pub(crate) fn consent_changed(conn: &mut Db, tenant: &TenantId, event: &ConsentEvent) -> Result<(), DomainError> {
    let at = kluis_core::time::utc(event.occurred_at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let hook_event = Event {
        event_type: events::CONSENT_CHANGED,
        person: Some(&event.person_id),
        purpose: Some(&event.purpose),
        data: json!({
            "person_id": event.person_id.as_str(),
            "purpose": event.purpose,
            "action": event.action.as_str(),
            "consent_event_id": event.id,
            "occurred_at": at,
        }),
    };
    events::emit(conn, tenant, &hook_event).map(|_| ())
}

/// A data-subject request changed (`request.*`): its id, kind, state and
/// person id, never what the person wrote.
pub(crate) fn request_event(
    conn: &mut Db,
    tenant: &TenantId,
    event_type: &'static str,
    request: &kluis_rights::requests::Request,
) -> Result<(), DomainError> {
    let event = Event {
        event_type,
        person: request.person_id.as_ref(),
        purpose: None,
        data: json!({
            "request_id": request.id,
            "kind": request.kind.as_str(),
            "state": request.state.as_str(),
            "person_id": request.person_id.as_ref().map(PersonId::as_str),
        }),
    };
    events::emit(conn, tenant, &event).map(|_| ())
}

/// A breach was recorded in the tenant's register: ids, risk and the clock, nothing about anyone.
pub(crate) fn breach_created(
    conn: &mut Db,
    tenant: &TenantId,
    breach: &kluis_rights::breaches::Breach,
) -> Result<(), DomainError> {
    let at = |t: time::PrimitiveDateTime| {
        kluis_core::time::utc(t).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
    };
    let event = Event {
        event_type: events::BREACH_CREATED,
        person: None,
        purpose: None,
        data: json!({
            "breach_id": breach.id,
            "source": breach.source.as_str(),
            "risk": breach.risk.as_str(),
            "detected_at": at(breach.detected_at),
            "authority_due_at": at(breach.authority_due_at),
        }),
    };
    events::emit(conn, tenant, &event).map(|_| ())
}

/// A person was erased: every endpoint that receives `person.erased` is
/// told, each with the references its own app held (read before erasing).
pub(crate) fn person_erased(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    erasure_id: &str,
    references: &[Reference],
    allowed: &[String],
) -> Result<(), DomainError> {
    crate::processors::feed(conn, tenant, person, ChangeKind::Erased, &[], allowed)?;
    for hook in endpoints::subscribed(conn, tenant, events::PERSON_ERASED, None)? {
        let own: Vec<_> = references
            .iter()
            .filter(|r| r.client_id == hook.client_id)
            .map(|r| json!({"id": r.id, "app": r.app, "external_ref": r.external_ref}))
            .collect();
        let data = json!({"person_id": person.as_str(), "erasure_id": erasure_id, "references": own});
        events::emit_to(conn, tenant, &hook, events::PERSON_ERASED, Some(erasure_id), &data)?;
    }
    Ok(())
}

/// The `person.erased` deliveries of an erasure, with the endpoint's app.
pub(crate) fn told(conn: &mut Db, tenant: &TenantId, erasure_id: &str) -> Result<Vec<ToldEndpoint>, DomainError> {
    let mut out = Vec::new();
    for delivery in deliveries::of_erasure(conn, tenant, erasure_id)? {
        let client_id = match endpoints::get(conn, tenant, &delivery.webhook_id) {
            Ok(hook) => Some(hook.client_id),
            Err(DomainError::NotFound) => None,
            Err(e) => return Err(e),
        };
        out.push(ToldEndpoint { client_id, delivery });
    }
    Ok(out)
}

/// An endpoint told of an erasure.
#[derive(Debug, Clone)]
pub struct ToldEndpoint {
    /// The app the endpoint speaks for.
    pub client_id: Option<String>,
    /// The `person.erased` delivery: when delivered, when acknowledged.
    pub delivery: Delivery,
}

// The worker's side.

/// How long a claim holds: longer than a receiver may take (15 s), short
/// enough that an instance killed mid-delivery delays its claims little.
const CLAIM: time::Duration = time::Duration::seconds(30);

/// A claimed delivery with the secrets that sign it now.
pub type Signable = (Claimed, Vec<Zeroizing<String>>);

/// Claim deliveries due now for `holder` (see [`deliveries::claim_due`]).
pub fn due(app: &App, holder: &str, limit: i64) -> Result<Vec<Signable>, DomainError> {
    let mut conn = app.pool.get().map_err(kluis_store::error::from_pool)?;
    let now = kluis_core::time::now();
    let claimed = kluis_store::write_tx(&mut conn, |conn| {
        deliveries::claim_due(conn, holder, now, limit, CLAIM).map_err(kluis_store::error::TxError)
    })
    .map_err(DomainError::from)?;
    let mut out = Vec::with_capacity(claimed.len());
    for c in claimed {
        let secrets = endpoints::secrets(&mut conn, &app.master, &c.tenant, &c.webhook_id, now)?;
        out.push((c, secrets));
    }
    Ok(out)
}

/// The endpoint of `claimed` was just disabled: mail the tenant's privacy
/// contact, when it has one, in the same transaction.
fn tell_contact(conn: &mut Db, master: &kluis_store::MasterKey, claimed: &Claimed) -> Result<(), DomainError> {
    let tenant = kluis_store::tenancy::tenants::get(conn, &claimed.tenant)?;
    let Some(to) = tenant.privacy_contact_email else { return Ok(()) };
    let hook = endpoints::get(conn, &claimed.tenant, &claimed.webhook_id)?;
    let reason = hook.disabled_reason.clone().unwrap_or_default();
    kluis_hooks::mail::queue_disabled(conn, master, &claimed.tenant, &to, &hook, &reason)
}

/// Record an attempt of a claimed delivery and schedule what follows; when
/// it disables the endpoint (410, or three days of failures), the tenant's
/// privacy contact is mailed.
pub fn record(app: &App, holder: &str, claimed: &Claimed, outcome: &Outcome) -> Result<After, DomainError> {
    let mut conn = app.pool.get().map_err(kluis_store::error::from_pool)?;
    let base = app.settings.webhooks.retry_base;
    let master = app.master.clone();
    let after = kluis_store::write_tx(&mut conn, |conn| -> Result<After, kluis_store::error::TxError> {
        let after = deliveries::record(conn, holder, claimed, outcome, base).map_err(kluis_store::error::TxError)?;
        if matches!(after, After::Gone | After::GaveUp) {
            tell_contact(conn, &master, claimed).map_err(kluis_store::error::TxError)?;
        }
        Ok(after)
    })
    .map_err(DomainError::from)?;
    match after {
        After::Gone => {
            tracing::warn!(tenant.id = %claimed.tenant, webhook.id = %claimed.webhook_id, "webhook endpoint answered 410: disabled")
        }
        After::GaveUp => {
            tracing::warn!(tenant.id = %claimed.tenant, webhook.id = %claimed.webhook_id, "webhook delivery failed for 3 days: endpoint disabled")
        }
        _ => {}
    }
    Ok(after)
}
