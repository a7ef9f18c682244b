//! The event types (the one list of them) and the fan-out: an event becomes
//! one delivery per enabled endpoint that receives it, written in the
//! caller's transaction, so an event exists exactly when its change does.
//! The body is the Standard Webhooks shape: `{"type","timestamp","data"}`.

use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use serde_json::{Value, json};
use time::PrimitiveDateTime;

use crate::deliveries;
use crate::endpoints::{self, Webhook};

/// A person was created: `data` `{"person_id"}`.
pub const PERSON_CREATED: &str = "person.created";
/// A person's profile or contacts changed: `data` `{"person_id","fields"}`
/// (the names of what changed, never values).
pub const PERSON_UPDATED: &str = "person.updated";
/// A person was erased: `data` `{"person_id","erasure_id","references"}`
/// with the references the endpoint's app held (Art. 17(2), 19).
pub const PERSON_ERASED: &str = "person.erased";
/// A consent was given, withdrawn or objected to: `data`
/// `{"person_id","purpose","action","consent_event_id","occurred_at"}`.
pub const CONSENT_CHANGED: &str = "consent.changed";

/// A data-subject request was received: `data` `{"request_id","kind","state","person_id"}`
/// (`person_id` null while the request names nobody); ids and kind only, never what was written.
pub const REQUEST_CREATED: &str = "request.created";
/// A request's requester was verified: `data` as [`REQUEST_CREATED`].
pub const REQUEST_VERIFIED: &str = "request.verified";
/// A request's deadline was extended: `data` as [`REQUEST_CREATED`].
pub const REQUEST_EXTENDED: &str = "request.extended";
/// A request was completed: `data` as [`REQUEST_CREATED`].
pub const REQUEST_COMPLETED: &str = "request.completed";
/// A request was refused: `data` as [`REQUEST_CREATED`].
pub const REQUEST_REFUSED: &str = "request.refused";
/// A breach was recorded in the tenant's register (its own, or one at the
/// platform): `data` `{"breach_id","source","risk","detected_at","authority_due_at"}`.
pub const BREACH_CREATED: &str = "breach.created";

/// Every event type an endpoint can receive.
pub const EVENT_TYPES: &[&str] = &[
    PERSON_CREATED,
    PERSON_UPDATED,
    PERSON_ERASED,
    CONSENT_CHANGED,
    REQUEST_CREATED,
    REQUEST_VERIFIED,
    REQUEST_EXTENDED,
    REQUEST_COMPLETED,
    REQUEST_REFUSED,
    BREACH_CREATED,
];

/// An event to send.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// One of [`EVENT_TYPES`].
    pub event_type: &'static str,
    /// Whom it is about (its deliveries keep this person's order).
    pub person: Option<&'a PersonId>,
    /// The purpose of a consent event (endpoints narrowed to purposes want only theirs).
    pub purpose: Option<&'a str>,
    /// The `data` member.
    pub data: Value,
}

/// The Standard Webhooks body of an event.
pub fn body(event_type: &str, at: PrimitiveDateTime, data: &Value) -> String {
    json!({"type": event_type, "timestamp": kluis_core::time::utc(at).format(&time::format_description::well_known::Rfc3339).unwrap_or_default(), "data": data}).to_string()
}

/// Queue `event` for every endpoint of the tenant that receives it, inside
/// the caller's transaction; how many deliveries were queued.
pub fn emit(conn: &mut Db, tenant: &TenantId, event: &Event<'_>) -> Result<usize> {
    let hooks = endpoints::subscribed(conn, tenant, event.event_type, event.purpose)?;
    if hooks.is_empty() {
        return Ok(0);
    }
    let body = body(event.event_type, kluis_core::time::now(), &event.data);
    for hook in &hooks {
        deliveries::enqueue(conn, tenant, &hook.id, event.event_type, event.person, None, &body)?;
    }
    Ok(hooks.len())
}

/// Queue one event for one endpoint, with its own `data` (a `person.erased`
/// carries each app only its own references) and the erasure it belongs to.
pub fn emit_to(
    conn: &mut Db,
    tenant: &TenantId,
    hook: &Webhook,
    event_type: &str,
    erasure_id: Option<&str>,
    data: &Value,
) -> Result<String> {
    let body = body(event_type, kluis_core::time::now(), data);
    deliveries::enqueue(conn, tenant, &hook.id, event_type, None, erasure_id, &body)
}
