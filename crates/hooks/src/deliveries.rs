//! The deliveries: the webhooks' outbox. One row per event and endpoint,
//! written in the change's transaction; the worker claims due rows under a
//! lease (a conditional `UPDATE`, so two instances never send one delivery
//! at once), sends them in order per person and endpoint, and records each
//! attempt. A receiver may still see a retry; `webhook-id` (the row's
//! `event_id`, kept by replays) lets it deduplicate.

use diesel::prelude::*;
use kluis_core::page::Page;
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::schema::{webhook_attempts as a, webhook_deliveries as d, webhooks as w};
use time::{Duration, PrimitiveDateTime};

use crate::endpoints::{self, DISABLED_FAILING, DISABLED_GONE};
use crate::events::PERSON_ERASED;
use crate::schedule;

/// Most bytes of a receiver's answer kept.
pub const MAX_RESPONSE_BYTES: usize = 1024;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx came back.
    Succeeded,
    /// Given up: 410, three days of failures, or its endpoint was disabled.
    Failed,
}

impl Status {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Status {
        match text {
            "succeeded" => Status::Succeeded,
            "failed" => Status::Failed,
            _ => Status::Pending,
        }
    }
}

/// One event for one endpoint, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Delivery id.
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The `webhook-id` header (the same for every attempt and replay).
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The erasure a `person.erased` reports.
    pub erasure_id: Option<String>,
    /// Where it stands.
    pub status: Status,
    /// Attempts so far.
    pub attempts: i64,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<PrimitiveDateTime>,
    /// The last answer's status code.
    pub response_status: Option<i32>,
    /// The last attempt's duration in milliseconds.
    pub latency_ms: Option<i64>,
    /// The last answer's first KiB.
    pub response_body: Option<String>,
    /// Why the last attempt failed without an answer (or why it was given up).
    pub last_error: Option<String>,
    /// The first answer of any status.
    pub delivered_at: Option<PrimitiveDateTime>,
    /// The 2xx answer.
    pub acknowledged_at: Option<PrimitiveDateTime>,
    /// Queued.
    pub created_at: PrimitiveDateTime,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Attempt id.
    pub id: String,
    /// When it was due by the schedule.
    pub scheduled_at: PrimitiveDateTime,
    /// When it was made.
    pub attempted_at: PrimitiveDateTime,
    /// The answer's status code, if one came.
    pub response_status: Option<i32>,
    /// How long it took, in milliseconds.
    pub latency_ms: i64,
    /// The answer's first KiB.
    pub response_body: Option<String>,
    /// Why no answer came (connection refused, timeout, refused address).
    pub error: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = d)]
struct Row {
    id: String,
    webhook_id: String,
    event_id: String,
    event_type: String,
    erasure_id: Option<String>,
    status: String,
    attempts: i64,
    next_attempt_at: Option<PrimitiveDateTime>,
    response_status: Option<i32>,
    latency_ms: Option<i64>,
    response_body: Option<String>,
    last_error: Option<String>,
    delivered_at: Option<PrimitiveDateTime>,
    acknowledged_at: Option<PrimitiveDateTime>,
    created_at: PrimitiveDateTime,
}

impl From<Row> for Delivery {
    fn from(r: Row) -> Delivery {
        Delivery {
            status: Status::parse(&r.status),
            id: r.id,
            webhook_id: r.webhook_id,
            event_id: r.event_id,
            event_type: r.event_type,
            erasure_id: r.erasure_id,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            response_status: r.response_status,
            latency_ms: r.latency_ms,
            response_body: r.response_body,
            last_error: r.last_error,
            delivered_at: r.delivered_at,
            acknowledged_at: r.acknowledged_at,
            created_at: r.created_at,
        }
    }
}

/// Queue one delivery (inside the caller's transaction); its id.
pub fn enqueue(
    conn: &mut Db,
    tenant: &TenantId,
    webhook_id: &str,
    event_type: &str,
    person: Option<&PersonId>,
    erasure_id: Option<&str>,
    body: &str,
) -> Result<String> {
    let id = kluis_core::new_id();
    insert(conn, tenant, &id, webhook_id, &id, event_type, person.map(PersonId::as_str), erasure_id, body)?;
    Ok(id)
}

#[expect(clippy::too_many_arguments, reason = "one row's columns")]
fn insert(
    conn: &mut Db,
    tenant: &TenantId,
    id: &str,
    webhook_id: &str,
    event_id: &str,
    event_type: &str,
    person: Option<&str>,
    erasure_id: Option<&str>,
    body: &str,
) -> Result<()> {
    let now = kluis_core::time::now();
    diesel::insert_into(d::table)
        .values((
            d::tenant_id.eq(tenant.as_str()),
            d::id.eq(id),
            d::webhook_id.eq(webhook_id),
            d::event_id.eq(event_id),
            d::event_type.eq(event_type),
            d::person_id.eq(person),
            d::erasure_id.eq(erasure_id),
            d::payload.eq(body),
            d::status.eq(Status::Pending.as_str()),
            d::attempts.eq(0i64),
            d::next_attempt_at.eq(Some(now)),
            d::created_at.eq(now),
        ))
        .execute(conn)
        .domain()?;
    Ok(())
}

/// An endpoint's deliveries, newest first, `limit` at a time before the id `before`.
pub fn list(
    conn: &mut Db,
    tenant: &TenantId,
    webhook_id: &str,
    limit: i64,
    before: Option<&str>,
) -> Result<Page<Delivery>> {
    let mut query = d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .filter(d::webhook_id.eq(webhook_id))
        .order(d::id.desc())
        .limit(limit + 1)
        .select(Row::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(d::id.lt(before.to_owned()));
    }
    let rows: Vec<Row> = query.load(conn).domain()?;
    Ok(Page::from_rows(rows.into_iter().map(Delivery::from).collect(), limit, |x| x.id.clone()))
}

/// One delivery of an endpoint.
pub fn get(conn: &mut Db, tenant: &TenantId, webhook_id: &str, id: &str) -> Result<Delivery> {
    Ok(d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .filter(d::webhook_id.eq(webhook_id))
        .filter(d::id.eq(id))
        .select(Row::as_select())
        .first(conn)
        .domain()?
        .into())
}

/// A delivery's attempts, oldest first.
pub fn attempts(conn: &mut Db, tenant: &TenantId, delivery_id: &str) -> Result<Vec<Attempt>> {
    type AttemptRow = (String, PrimitiveDateTime, PrimitiveDateTime, Option<i32>, i64, Option<String>, Option<String>);
    let rows: Vec<AttemptRow> = a::table
        .filter(a::tenant_id.eq(tenant.as_str()))
        .filter(a::delivery_id.eq(delivery_id))
        .order(a::id.asc())
        .select((
            a::id,
            a::scheduled_at,
            a::attempted_at,
            a::response_status,
            a::latency_ms,
            a::response_body,
            a::error,
        ))
        .load(conn)
        .domain()?;
    Ok(rows
        .into_iter()
        .map(|(id, scheduled_at, attempted_at, response_status, latency_ms, response_body, error)| Attempt {
            id,
            scheduled_at,
            attempted_at,
            response_status,
            latency_ms,
            response_body,
            error,
        })
        .collect())
}

/// Send a delivery again, as a new delivery with the same `webhook-id` and
/// body, due now. Refused (409) while its endpoint is disabled, and for an
/// acknowledged `person.erased`, whose body is dropped once delivered.
pub fn replay(conn: &mut Db, tenant: &TenantId, webhook_id: &str, id: &str) -> Result<Delivery> {
    let hook = endpoints::get(conn, tenant, webhook_id)?;
    let original = get(conn, tenant, webhook_id, id)?;
    if !hook.enabled {
        return Err(DomainError::Conflict {
            code: "webhook_disabled",
            message: "the endpoint is disabled; enable it (PATCH enabled: true) before replaying".into(),
        });
    }
    let (payload, person): (String, Option<String>) = d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .filter(d::id.eq(id))
        .select((d::payload, d::person_id))
        .first(conn)
        .domain()?;
    if payload.is_empty() {
        return Err(DomainError::Conflict {
            code: "payload_gone",
            message: "this event named an erased person; its body was dropped once the endpoint acknowledged it".into(),
        });
    }
    let new_id = kluis_core::new_id();
    insert(
        conn,
        tenant,
        &new_id,
        webhook_id,
        &original.event_id,
        &original.event_type,
        person.as_deref(),
        original.erasure_id.as_deref(),
        &payload,
    )?;
    get(conn, tenant, webhook_id, &new_id)
}

/// Give up an endpoint's pending deliveries (it was disabled).
pub fn fail_pending(conn: &mut Db, tenant: &TenantId, webhook_id: &str, reason: &str) -> Result<u64> {
    let n = diesel::update(
        d::table
            .filter(d::tenant_id.eq(tenant.as_str()))
            .filter(d::webhook_id.eq(webhook_id))
            .filter(d::status.eq(Status::Pending.as_str())),
    )
    .set((
        d::status.eq(Status::Failed.as_str()),
        d::next_attempt_at.eq(None::<PrimitiveDateTime>),
        d::last_error.eq(Some(reason)),
    ))
    .execute(conn)
    .domain()?;
    Ok(n as u64)
}

/// The deliveries reporting an erasure (its `person.erased` to each endpoint), oldest first.
pub fn of_erasure(conn: &mut Db, tenant: &TenantId, erasure_id: &str) -> Result<Vec<Delivery>> {
    let rows: Vec<Row> = d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .filter(d::erasure_id.eq(erasure_id))
        .order(d::id.asc())
        .select(Row::as_select())
        .load(conn)
        .domain()?;
    Ok(rows.into_iter().map(Delivery::from).collect())
}

/// A delivery claimed by a worker, with what sending it needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Tenant.
    pub tenant: TenantId,
    /// Delivery id.
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// Its URL.
    pub url: String,
    /// The `webhook-id`.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The body.
    pub payload: String,
    /// Attempts before this one.
    pub attempts: i64,
    /// When this attempt was due.
    pub scheduled_at: PrimitiveDateTime,
    /// Queued.
    pub created_at: PrimitiveDateTime,
}

type Candidate =
    (String, String, String, String, String, Option<String>, String, i64, Option<PrimitiveDateTime>, PrimitiveDateTime);

/// Claim up to `limit` deliveries due at `now` for `holder`, for `lease`.
/// A delivery waits while an earlier one to the same endpoint about the
/// same person is pending (order per person). The claim is a conditional
/// `UPDATE`: of two instances racing for a row, one wins.
pub fn claim_due(
    conn: &mut Db,
    holder: &str,
    now: PrimitiveDateTime,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Claimed>> {
    let candidates: Vec<Candidate> = d::table
        .filter(d::status.eq(Status::Pending.as_str()))
        .filter(d::next_attempt_at.le(now))
        .filter(d::lease_holder.is_null().or(d::lease_expires_at.lt(now)))
        .order(d::next_attempt_at.asc())
        .limit(limit)
        .select((
            d::tenant_id,
            d::id,
            d::webhook_id,
            d::event_id,
            d::event_type,
            d::person_id,
            d::payload,
            d::attempts,
            d::next_attempt_at,
            d::created_at,
        ))
        .load(conn)
        .domain()?;
    let mut claimed = Vec::with_capacity(candidates.len());
    for (tenant, id, webhook_id, event_id, event_type, person, payload, attempts, due, created_at) in candidates {
        if let Some(person) = &person {
            let earlier: i64 = d::table
                .filter(d::tenant_id.eq(&tenant))
                .filter(d::person_id.eq(person))
                .filter(d::webhook_id.eq(&webhook_id))
                .filter(d::id.lt(&id))
                .filter(d::status.eq(Status::Pending.as_str()))
                .count()
                .get_result(conn)
                .domain()?;
            if earlier > 0 {
                continue;
            }
        }
        let taken = diesel::update(
            d::table
                .filter(d::tenant_id.eq(&tenant))
                .filter(d::id.eq(&id))
                .filter(d::status.eq(Status::Pending.as_str()))
                .filter(d::lease_holder.is_null().or(d::lease_expires_at.lt(now))),
        )
        .set((d::lease_holder.eq(Some(holder)), d::lease_expires_at.eq(Some(now + lease))))
        .execute(conn)
        .domain()?;
        if taken != 1 {
            continue;
        }
        let url: Option<String> = w::table
            .filter(w::tenant_id.eq(&tenant))
            .filter(w::id.eq(&webhook_id))
            .select(w::url)
            .first(conn)
            .optional()
            .domain()?;
        let Some(url) = url else { continue };
        claimed.push(Claimed {
            tenant: TenantId(tenant),
            id,
            webhook_id,
            url,
            event_id,
            event_type,
            payload,
            attempts,
            scheduled_at: due.unwrap_or(now),
            created_at,
        });
    }
    Ok(claimed)
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// When it started.
    pub attempted_at: PrimitiveDateTime,
    /// How long it took.
    pub latency_ms: i64,
    /// The answer's status, if one came.
    pub status: Option<u16>,
    /// The answer's first KiB.
    pub body: Option<String>,
    /// Why no answer came.
    pub error: Option<String>,
}

/// What the worker's recording decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Acknowledged (2xx).
    Succeeded,
    /// Tried again at this moment.
    Retry(PrimitiveDateTime),
    /// The endpoint answered 410: it is disabled.
    Gone,
    /// Three days of failures: given up, the endpoint disabled.
    GaveUp,
    /// The lease was lost meanwhile (another instance owns it now): nothing recorded.
    LeaseLost,
}

/// Record an attempt of a claimed delivery (in the caller's transaction)
/// and decide what comes next; `retry_base` is the schedule's first interval.
pub fn record(
    conn: &mut Db,
    holder: &str,
    claimed: &Claimed,
    outcome: &Outcome,
    retry_base: std::time::Duration,
) -> Result<After> {
    let tenant = &claimed.tenant;
    let ours = d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .filter(d::id.eq(&claimed.id))
        .filter(d::lease_holder.eq(holder));
    let still: Option<String> = ours.select(d::id).first(conn).optional().domain()?;
    if still.is_none() {
        return Ok(After::LeaseLost);
    }
    let body = outcome.body.as_deref().map(|b| truncate(b, MAX_RESPONSE_BYTES));
    let error = outcome.error.as_deref().map(|e| truncate(e, 500));
    let status_code = outcome.status.map(i32::from);
    diesel::insert_into(a::table)
        .values((
            a::tenant_id.eq(tenant.as_str()),
            a::id.eq(kluis_core::new_id()),
            a::delivery_id.eq(&claimed.id),
            a::scheduled_at.eq(claimed.scheduled_at),
            a::attempted_at.eq(outcome.attempted_at),
            a::response_status.eq(status_code),
            a::latency_ms.eq(outcome.latency_ms),
            a::response_body.eq(&body),
            a::error.eq(&error),
        ))
        .execute(conn)
        .domain()?;
    let now = kluis_core::time::now();
    let attempts = claimed.attempts + 1;
    let answered = outcome.status.is_some();
    let after = match outcome.status {
        Some(200..=299) => After::Succeeded,
        Some(410) => After::Gone,
        _ => match schedule::next_attempt(retry_base, attempts, claimed.created_at, now) {
            Some(at) => After::Retry(at),
            None => After::GaveUp,
        },
    };
    let (status, next) = match after {
        After::Succeeded => (Status::Succeeded, None),
        After::Retry(at) => (Status::Pending, Some(at)),
        _ => (Status::Failed, None),
    };
    diesel::update(ours)
        .set((
            d::status.eq(status.as_str()),
            d::attempts.eq(attempts),
            d::next_attempt_at.eq(next),
            d::lease_holder.eq(None::<String>),
            d::lease_expires_at.eq(None::<PrimitiveDateTime>),
            d::response_status.eq(status_code),
            d::latency_ms.eq(Some(outcome.latency_ms)),
            d::response_body.eq(&body),
            d::last_error.eq(&error),
        ))
        .execute(conn)
        .domain()?;
    let row = d::table.filter(d::tenant_id.eq(tenant.as_str())).filter(d::id.eq(&claimed.id));
    if answered {
        diesel::update(row.filter(d::delivered_at.is_null()))
            .set(d::delivered_at.eq(Some(now)))
            .execute(conn)
            .domain()?;
    }
    match after {
        After::Succeeded => {
            diesel::update(row).set(d::acknowledged_at.eq(Some(now))).execute(conn).domain()?;
            if claimed.event_type == PERSON_ERASED {
                // The body names the erased person: once told, it goes.
                diesel::update(row).set(d::payload.eq("")).execute(conn).domain()?;
            }
        }
        After::Gone => {
            endpoints::disable(conn, tenant, &claimed.webhook_id, DISABLED_GONE)?;
        }
        After::GaveUp => {
            endpoints::disable(conn, tenant, &claimed.webhook_id, DISABLED_FAILING)?;
        }
        After::Retry(_) | After::LeaseLost => {}
    }
    Ok(after)
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// A delivery about a person as their export shows it: id, endpoint, type, status, queued.
pub type PersonDelivery = (String, String, String, String, PrimitiveDateTime);

/// The deliveries about a person (their export), oldest first.
pub fn of_person(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<PersonDelivery>> {
    d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .filter(d::person_id.eq(person.as_str()))
        .order(d::id.asc())
        .select((d::id, d::webhook_id, d::event_type, d::status, d::created_at))
        .load(conn)
        .domain()
}

/// Delete every delivery about a person (erasure); rows removed.
pub fn erase_person(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(d::table.filter(d::tenant_id.eq(tenant.as_str())).filter(d::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}
