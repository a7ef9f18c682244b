//! Webhooks (`webhooks:admin`), as the Standard Webhooks specification has
//! them: endpoints receive `POST`s signed with `webhook-id`,
//! `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `{webhook-id}.{webhook-timestamp}.{body}`, the body
//! `{"type","timestamp","data"}`. The secret is shown once, when made and
//! when rotated (the previous one keeps signing for 24 hours). Deliveries are
//! retried with exponential backoff and jitter for 3 days, in order per
//! person; a 410 or 3 days of failure disable the endpoint.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_app::webhooks::{DeliveryLog, NewEndpoint, WithSecret};
use kluis_core::Scope;
use kluis_hooks::deliveries::Attempt;
use kluis_hooks::endpoints::{MAX_DESCRIPTION, MAX_URL, Webhook, WebhookPatch};
use kluis_hooks::events::EVENT_TYPES;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json, ListQuery};
use crate::routes::{check_id, created, versioned};
use crate::state::AppState;

/// The event types an endpoint can receive (for the schema; the wire form is the string).
#[derive(ToSchema)]
#[schema(as = WebhookEventType)]
pub enum EventTypeSchema {
    /// A person was created: `data` `{"person_id"}`.
    #[schema(rename = "person.created")]
    PersonCreated,
    /// A person's profile or contacts changed: `data` `{"person_id","fields"}` (names, never values).
    #[schema(rename = "person.updated")]
    PersonUpdated,
    /// A person was erased: `data` `{"person_id","erasure_id","references"}`, the references the endpoint's app held.
    #[schema(rename = "person.erased")]
    PersonErased,
    /// A consent was granted, withdrawn or objected to: `data` `{"person_id","purpose","action","consent_event_id","occurred_at"}`.
    #[schema(rename = "consent.changed")]
    ConsentChanged,
    /// A data-subject request was received: `data` `{"request_id","kind","state","person_id"}` (ids and kind only).
    #[schema(rename = "request.created")]
    RequestCreated,
    /// A request's requester was verified: `data` `{"request_id","kind","state","person_id"}`.
    #[schema(rename = "request.verified")]
    RequestVerified,
    /// A request's deadline was extended: `data` `{"request_id","kind","state","person_id"}`.
    #[schema(rename = "request.extended")]
    RequestExtended,
    /// A request was completed: `data` `{"request_id","kind","state","person_id"}`.
    #[schema(rename = "request.completed")]
    RequestCompleted,
    /// A request was refused: `data` `{"request_id","kind","state","person_id"}`.
    #[schema(rename = "request.refused")]
    RequestRefused,
    /// A breach was recorded in the tenant's register (its own or the platform's): `data` `{"breach_id","source","risk","detected_at","authority_due_at"}`.
    #[schema(rename = "breach.created")]
    BreachCreated,
}

const _: () =
    assert!(EVENT_TYPES.len() == 10, "EventTypeSchema lists every event type, and the lists below hold at most 10");
const _: () = assert!(MAX_URL == 2048 && MAX_DESCRIPTION == 200, "the schemas below say 2048 and 200");

/// A webhook endpoint (its secret is never shown again).
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    /// Endpoint id.
    pub id: String,
    /// The app (client) it speaks for: its references travel with `person.erased`.
    pub client_id: String,
    /// Where events are POSTed.
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// The event types it receives.
    #[schema(value_type = Vec<EventTypeSchema>)]
    pub event_types: Vec<String>,
    /// When not empty, consent events only of these purposes.
    #[schema(value_type = Vec<crate::contract::ClientPurpose>)]
    pub purposes: Vec<String>,
    /// Whether deliveries go out.
    pub enabled: bool,
    /// Why it is disabled: `gone` (it answered 410), `failing` (3 days of
    /// failed deliveries) or `manual`.
    pub disabled_reason: Option<String>,
    /// Until when the previous secret still signs, after a rotation.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub previous_secret_expires_at: Option<time::PrimitiveDateTime>,
    /// Version (also the `ETag`).
    pub version: i64,
    /// Made.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::PrimitiveDateTime,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: time::PrimitiveDateTime,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        let previous_secret_expires_at = w.previous_secret_until.filter(|until| *until > kluis_core::time::now());
        WebhookView {
            id: w.id,
            client_id: w.client_id,
            url: w.url,
            description: w.description,
            event_types: w.event_types,
            purposes: w.purposes,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason,
            previous_secret_expires_at,
            version: w.version,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// An endpoint with its signing secret, shown only now.
#[derive(Serialize, ToSchema)]
pub struct WebhookWithSecret {
    /// The endpoint.
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` + base64 of 32 random bytes, as Standard Webhooks libraries take it.
    pub secret: String,
}

impl From<WithSecret> for WebhookWithSecret {
    fn from(w: WithSecret) -> Self {
        WebhookWithSecret { secret: w.secret.to_string(), webhook: w.webhook.into() }
    }
}

/// A page of endpoints.
#[derive(Serialize, ToSchema)]
pub struct WebhookPage {
    /// Oldest first.
    pub items: Vec<WebhookView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// `Some(None)` for an explicit null, `None` for an absent field.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Register an endpoint.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// An absolute `https` URL (`http` only where the operator allows it),
    /// at most 2048 characters, without credentials or fragment, whose host
    /// is not (and does not resolve to) a loopback, private, link-local or
    /// metadata address.
    #[validate(length(min = 1, max = 2048, message = "must be 1 to 2048 characters"))]
    #[schema(min_length = 1, max_length = 2048, pattern = "^https?://[^\\s/?#@]+([/?][^\\s#]*)?$")]
    pub url: String,
    /// What it is for, at most 200 characters.
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub description: Option<String>,
    /// The event types it receives: at least one, each once.
    #[schema(value_type = Vec<EventTypeSchema>, min_items = 1, max_items = 10)]
    #[validate(length(min = 1, max = 10, message = "must name 1 to 10 event types"))]
    pub event_types: Vec<String>,
    /// Purpose keys of the tenant, each once: consent events only of these
    /// (empty or absent: all).
    #[serde(default)]
    #[validate(length(max = 50, message = "at most 50 purposes"))]
    #[schema(max_items = 50, value_type = Vec<crate::contract::ClientPurpose>)]
    pub purposes: Vec<String>,
    /// The app (a client of the tenant) it speaks for; default: the caller.
    pub client_id: Option<String>,
}

/// Change an endpoint; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    /// A new URL, under the same rules as on creation.
    #[validate(length(min = 1, max = 2048, message = "must be 1 to 2048 characters"))]
    #[schema(min_length = 1, max_length = 2048, pattern = "^https?://[^\\s/?#@]+([/?][^\\s#]*)?$")]
    pub url: Option<String>,
    /// A new description; null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(value_type = Option<String>, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub description: Option<Option<String>>,
    /// The new event types.
    #[schema(value_type = Option<Vec<EventTypeSchema>>, min_items = 1, max_items = 10)]
    #[validate(length(min = 1, max = 10, message = "must name 1 to 10 event types"))]
    pub event_types: Option<Vec<String>>,
    /// The new purposes.
    #[validate(length(max = 50, message = "at most 50 purposes"))]
    #[schema(max_items = 50, value_type = Option<Vec<crate::contract::ClientPurpose>>)]
    pub purposes: Option<Vec<String>>,
    /// `false` stops deliveries (pending ones fail; replay them later);
    /// `true` turns a disabled endpoint on again.
    pub enabled: Option<bool>,
}

impl From<UpdateWebhook> for WebhookPatch {
    fn from(b: UpdateWebhook) -> Self {
        WebhookPatch {
            url: b.url,
            description: b.description,
            event_types: b.event_types,
            purposes: b.purposes,
            enabled: b.enabled,
        }
    }
}

/// One attempt of a delivery.
#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    /// When the schedule made it due.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub scheduled_at: time::PrimitiveDateTime,
    /// When it was made.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub attempted_at: time::PrimitiveDateTime,
    /// The answer's status code; null when none came.
    pub response_status: Option<i32>,
    /// How long it took, in milliseconds.
    pub latency_ms: i64,
    /// At most the first KiB of the answer.
    pub response_body: Option<String>,
    /// Why no answer came.
    pub error: Option<String>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        AttemptView {
            scheduled_at: a.scheduled_at,
            attempted_at: a.attempted_at,
            response_status: a.response_status,
            latency_ms: a.latency_ms,
            response_body: a.response_body,
            error: a.error,
        }
    }
}

/// One event sent to one endpoint.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// Delivery id.
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The `webhook-id` header: the same for every attempt and replay.
    pub event_id: String,
    /// The event type.
    #[schema(value_type = EventTypeSchema)]
    pub event_type: String,
    /// The erasure a `person.erased` reports.
    pub erasure_id: Option<String>,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When the next attempt is due (pending only).
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<time::PrimitiveDateTime>,
    /// The last answer's status code.
    pub response_status: Option<i32>,
    /// The last attempt's duration, in milliseconds.
    pub latency_ms: Option<i64>,
    /// At most the first KiB of the last answer.
    pub response_body: Option<String>,
    /// Why the last attempt got no answer, or why the delivery was given up.
    pub last_error: Option<String>,
    /// The first answer of any status.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<time::PrimitiveDateTime>,
    /// The 2xx answer.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<time::PrimitiveDateTime>,
    /// Queued.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::PrimitiveDateTime,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptView>,
}

impl From<DeliveryLog> for DeliveryView {
    fn from(log: DeliveryLog) -> Self {
        let d = log.delivery;
        DeliveryView {
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            event_type: d.event_type,
            erasure_id: d.erasure_id,
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            response_status: d.response_status,
            latency_ms: d.latency_ms,
            response_body: d.response_body,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
            acknowledged_at: d.acknowledged_at,
            created_at: d.created_at,
            attempt_log: log.attempts.into_iter().map(AttemptView::from).collect(),
        }
    }
}

/// A page of deliveries.
#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    /// Newest first.
    pub items: Vec<DeliveryView>,
    /// Cursor of the next (older) page; null on the last.
    pub next_cursor: Option<String>,
}

/// Register a webhook endpoint; its signing secret is shown only in this answer.
#[utoipa::path(
    tag = "webhooks",
    request_body = CreateWebhook,
    responses((status = 201, body = WebhookWithSecret, headers(("ETag" = String)), description = "Created; `secret` is shown only now"), BodyErrors),
    security(("bearer" = ["webhooks:admin"]))
)]
#[post("/v1/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::WebhooksAdmin)?;
    body.0.validate()?;
    let b = body.0;
    let new = NewEndpoint {
        client_id: b.client_id,
        url: b.url,
        description: b.description,
        event_types: b.event_types,
        purposes: b.purposes,
    };
    let made = kluis_app::webhooks::create(&state.app, &scoped, new).await?;
    let location = format!("/v1/webhooks/{}", made.webhook.id);
    let version = made.webhook.version;
    Ok(created(location, version, &WebhookWithSecret::from(made)))
}

/// The tenant's webhook endpoints.
#[utoipa::path(
    tag = "webhooks",
    params(ListQuery),
    responses((status = 200, body = WebhookPage, description = "One page of endpoints"), AuthErrors),
    security(("bearer" = ["webhooks:admin"]))
)]
#[get("/v1/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::WebhooksAdmin)?;
    let (limit, after) = query.page()?;
    let page = kluis_app::webhooks::list(&state.app, &scoped, limit, after).await?.map(WebhookView::from);
    Ok(HttpResponse::Ok().json(WebhookPage { items: page.items, next_cursor: page.next_cursor }))
}

/// One webhook endpoint.
#[utoipa::path(
    tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = WebhookView, headers(("ETag" = String)), description = "The endpoint, its version in `ETag`"), AuthErrors, NotFound),
    security(("bearer" = ["webhooks:admin"]))
)]
#[get("/v1/webhooks/{webhook_id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::WebhooksAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let webhook = kluis_app::webhooks::get(&state.app, &scoped, id).await?;
    Ok(versioned(StatusCode::OK, webhook.version, &WebhookView::from(webhook)))
}

/// Change a webhook endpoint: its URL, description, event types, purposes, or whether it is enabled.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "Endpoint id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdateWebhook,
    responses((status = 200, body = WebhookView, headers(("ETag" = String)), description = "The endpoint, its version in `ETag`"), BodyErrors, NotFound, Precondition),
    security(("bearer" = ["webhooks:admin"]))
)]
#[patch("/v1/webhooks/{webhook_id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::WebhooksAdmin)?;
    body.0.validate()?;
    let id = path.into_inner();
    check_id(&id)?;
    let webhook = kluis_app::webhooks::update(&state.app, &scoped, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, webhook.version, &WebhookView::from(webhook)))
}

/// Delete a webhook endpoint and its delivery log.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "Endpoint id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["webhooks:admin"]))
)]
#[delete("/v1/webhooks/{webhook_id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::WebhooksAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    kluis_app::webhooks::delete(&state.app, &scoped, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a webhook endpoint's secret: the new one is shown only now; for
/// 24 hours deliveries carry a signature under each (two `v1,` values).
#[utoipa::path(
    tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = WebhookWithSecret, headers(("ETag" = String)), description = "The new secret, shown only now"), AuthErrors, NotFound),
    security(("bearer" = ["webhooks:admin"]))
)]
#[post("/v1/webhooks/{webhook_id}/secret")]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::WebhooksAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let rotated = kluis_app::webhooks::rotate_secret(&state.app, &scoped, id).await?;
    Ok(versioned(StatusCode::OK, rotated.webhook.version, &WebhookWithSecret::from(rotated)))
}

/// A webhook endpoint's delivery log, newest first: status, attempts,
/// latency, response code and at most 1 KiB of each answer.
#[utoipa::path(
    tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Endpoint id"), ListQuery),
    responses((status = 200, body = DeliveryPage, description = "One page of deliveries"), AuthErrors, NotFound),
    security(("bearer" = ["webhooks:admin"]))
)]
#[get("/v1/webhooks/{webhook_id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::WebhooksAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let (limit, before) = query.page()?;
    let page = kluis_app::webhooks::deliveries(&state.app, &scoped, id, limit, before).await?.map(DeliveryView::from);
    Ok(HttpResponse::Ok().json(DeliveryPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Send a delivery again: a new delivery with the same `webhook-id` and
/// body, due now. 409 while the endpoint is disabled, and for a
/// `person.erased` already acknowledged (its body is dropped then).
#[utoipa::path(
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "Endpoint id"),
        ("delivery_id" = String, Path, description = "Delivery id"),
    ),
    responses((status = 202, body = DeliveryView, description = "Queued again"), AuthErrors, NotFound, Conflict),
    security(("bearer" = ["webhooks:admin"]))
)]
#[post("/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay")]
pub async fn replay_delivery(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::WebhooksAdmin)?;
    let (webhook, delivery) = path.into_inner();
    check_id(&webhook)?;
    check_id(&delivery)?;
    let replayed = kluis_app::webhooks::replay(&state.app, &scoped, webhook, delivery).await?;
    Ok(HttpResponse::Accepted().json(DeliveryView::from(replayed)))
}
