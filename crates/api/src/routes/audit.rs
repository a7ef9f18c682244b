//! The audit log of the caller's tenant (`audit:read`): entries newest first,
//! and verification of the chain.

use actix_web::{HttpResponse, get, web};
use kluis_audit::{EventFilter, EventRecord, Verification};
use kluis_core::page::{Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use kluis_core::{PersonId, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::AuthErrors;
use crate::state::AppState;

/// An audit entry. It holds ids and field names, never values.
#[derive(Serialize, ToSchema)]
pub struct AuditEvent {
    /// Position in the tenant's chain, gapless from 1.
    pub seq: i64,
    /// Entry id.
    pub id: String,
    /// When it happened (RFC 3339).
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: time::PrimitiveDateTime,
    /// `operator`, `client`, `subject` or `system`.
    pub actor_kind: String,
    /// The caller's id.
    pub actor_id: String,
    /// Dotted action, e.g. `client.create`, `token.denied`.
    pub action: String,
    /// Kind of thing touched (`client`, `tenant`, `person`, ...).
    pub target_kind: Option<String>,
    /// Its id; never a person's.
    pub target_id: Option<String>,
    /// HMAC reference of the person concerned; unlinkable once they are erased.
    pub subject_ref: Option<String>,
    /// Names of the fields read or changed.
    pub fields: Vec<String>,
    /// Processing purpose.
    pub purpose: Option<String>,
    /// The request that caused it.
    pub request_id: Option<String>,
    /// The caller's IP, truncated (IPv4 /16, IPv6 /48).
    pub ip_prefix: Option<String>,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// SHA-256(prev_hash || canonical JSON of this entry).
    pub hash: String,
}

impl From<EventRecord> for AuditEvent {
    fn from(e: EventRecord) -> Self {
        AuditEvent {
            seq: e.seq,
            id: e.id,
            at: e.at,
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            action: e.action,
            target_kind: e.target_kind,
            target_id: e.target_id,
            subject_ref: e.subject_ref,
            fields: e.fields,
            purpose: e.purpose,
            request_id: e.request_id,
            ip_prefix: e.ip_prefix,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

/// A page of entries, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    /// Entries, newest first.
    pub items: Vec<AuditEvent>,
    /// Cursor of the next (older) page; null on the last.
    pub next_cursor: Option<String>,
}

/// The result of walking the chain.
#[derive(Serialize, ToSchema)]
pub struct VerifyResult {
    /// True when no entry was changed, removed or moved.
    pub ok: bool,
    /// Entries found intact.
    pub checked: i64,
    /// The first entry that is missing, moved or altered; null when ok.
    pub first_broken_seq: Option<i64>,
}

impl From<Verification> for VerifyResult {
    fn from(v: Verification) -> Self {
        VerifyResult { ok: v.ok, checked: v.checked, first_broken_seq: v.first_broken_seq }
    }
}

/// Filters of the event list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only this caller's entries.
    #[param(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub actor_id: Option<String>,
    /// Only this action.
    #[param(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub action: Option<String>,
    /// Only entries about this person (none once they are erased).
    #[param(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub person_id: Option<String>,
    /// At or after this instant (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Before this instant (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

impl EventQuery {
    /// The filter, the page size and the seq to continue before.
    fn parse(&self) -> Result<(EventFilter, i64, Option<i64>), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("limit", "must be between 1 and 200"));
        }
        let before = match &self.cursor {
            None => None,
            Some(cursor) => Some(
                Cursor::decode(cursor)
                    .and_then(|seq| seq.parse::<i64>().ok())
                    .ok_or_else(|| ApiError::invalid("cursor", "not a cursor kluis made"))?,
            ),
        };
        // A control character names no caller, action or person (and PostgreSQL
        // text cannot hold NUL): refused rather than sent to the database.
        for (field, value) in [("actor_id", &self.actor_id), ("action", &self.action), ("person_id", &self.person_id)] {
            if value.as_deref().is_some_and(|v| v.chars().any(char::is_control)) {
                return Err(ApiError::invalid(field, "must not contain control characters"));
            }
        }
        let filter = EventFilter {
            actor_id: self.actor_id.clone(),
            action: self.action.clone(),
            person: self.person_id.clone().map(PersonId),
            from: instant("from", self.from.as_deref())?,
            to: instant("to", self.to.as_deref())?,
        };
        Ok((filter, limit, before))
    }
}

fn instant(field: &str, text: Option<&str>) -> Result<Option<time::PrimitiveDateTime>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| ApiError::invalid(field, "must be an RFC 3339 timestamp"))?
        .to_offset(time::UtcOffset::UTC);
    Ok(Some(time::PrimitiveDateTime::new(at.date(), at.time())))
}

/// The tenant's audit entries, newest first.
#[utoipa::path(
    tag = "audit",
    params(EventQuery),
    responses((status = 200, body = AuditPage, description = "One page of entries, newest first"), AuthErrors),
    security(("bearer" = ["audit:read"]))
)]
#[get("/v1/audit/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::AuditRead)?;
    let (filter, limit, before) = query.parse()?;
    let page = kluis_app::audit_log::list(&state.app, &scoped, filter, limit, before).await?.map(AuditEvent::from);
    Ok(HttpResponse::Ok().json(AuditPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Walk the tenant's chain and report the first broken entry, if any.
#[utoipa::path(
    tag = "audit",
    responses((status = 200, body = VerifyResult, description = "The outcome of walking the chain"), AuthErrors),
    security(("bearer" = ["audit:read"]))
)]
#[get("/v1/audit/verify")]
pub async fn verify(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::AuditRead)?;
    let result = kluis_app::audit_log::verify(&state.app, &scoped).await?;
    Ok(HttpResponse::Ok().json(VerifyResult::from(result)))
}
