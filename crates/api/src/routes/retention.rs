//! Retention (`retention:admin`): the tenant's policies and its sweeps.
//! A policy names a data category from the catalogue or a purpose, a
//! period (ISO 8601), the moment it starts and what happens then; a sweep
//! applies them now (`POST`, synchronous: it answers the finished sweep),
//! or with `?dry_run=true` counts what it would remove and removes nothing.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_app::retention::InForce;
use kluis_core::Scope;
use kluis_retention::policies::action_name;
use kluis_retention::{NewPolicy, PolicyPatch, Start, Sweep, Target};
use kluis_store::personal::PurgeAction;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json, ListQuery};
use crate::routes::{check_id, created, versioned};
use crate::state::AppState;

type Time = time::PrimitiveDateTime;

/// `Some(None)` for an explicit null, `None` for an absent field.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// When a policy's period starts.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StartView {
    /// When the data was recorded (a device: first seen; visit statistics: their day).
    Created,
    /// When the person was last active: a device's or session's own last
    /// use for device and session rows; for the rest the latest of the
    /// person's profile change, session use and device activity.
    LastActivity,
    /// When the person's last consent covering the data was withdrawn or
    /// objected to, no consent covering it standing since.
    ConsentWithdrawn,
    /// When the person's last consent covering the data ran out.
    ConsentExpired,
    /// Event-based, for the serviced-device categories only
    /// (`user.service`, `user.service.credential`, `user.service.backup`):
    /// when a customer-data backup was restored or its item returned.
    RestoredOrReturned,
}

impl From<StartView> for Start {
    fn from(s: StartView) -> Self {
        match s {
            StartView::Created => Start::Created,
            StartView::LastActivity => Start::LastActivity,
            StartView::ConsentWithdrawn => Start::ConsentWithdrawn,
            StartView::ConsentExpired => Start::ConsentExpired,
            StartView::RestoredOrReturned => Start::RestoredOrReturned,
        }
    }
}

impl From<Start> for StartView {
    fn from(s: Start) -> Self {
        match s {
            Start::Created => StartView::Created,
            Start::LastActivity => StartView::LastActivity,
            Start::ConsentWithdrawn => StartView::ConsentWithdrawn,
            Start::ConsentExpired => StartView::ConsentExpired,
            Start::RestoredOrReturned => StartView::RestoredOrReturned,
        }
    }
}

/// What happens to data once its period is over.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionView {
    /// The rows go.
    Delete,
    /// What identifies the person is cleared (a device keeps its coarse
    /// estimate); rows that would keep nothing (contacts) go.
    Anonymise,
}

impl From<ActionView> for PurgeAction {
    fn from(a: ActionView) -> Self {
        match a {
            ActionView::Delete => PurgeAction::Delete,
            ActionView::Anonymise => PurgeAction::Anonymise,
        }
    }
}

/// A retention policy.
#[derive(Serialize, ToSchema)]
pub struct PolicyView {
    /// Policy id.
    pub id: String,
    /// The catalogue category it governs (a hard maximum), or null.
    pub category: Option<String>,
    /// The purpose whose data it governs, or null. Data several purposes
    /// share goes once every one of them has a policy that lets it go.
    pub purpose: Option<String>,
    /// Its own period (ISO 8601), or null: the purpose's retention.
    pub period: Option<String>,
    /// The period in force: its own, or its purpose's retention now.
    pub effective_period: Option<String>,
    /// When the period starts.
    pub start: StartView,
    /// `delete` or `anonymise`.
    #[schema(example = "delete")]
    pub action: String,
    /// Version for `If-Match`.
    pub version: i64,
    /// Created.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
}

impl From<InForce> for PolicyView {
    fn from(p: InForce) -> Self {
        let (category, purpose) = match p.policy.target {
            Target::Category(c) => (Some(c.as_str().to_owned()), None),
            Target::Purpose(key) => (None, Some(key)),
        };
        PolicyView {
            id: p.policy.id,
            category,
            purpose,
            period: p.policy.period,
            effective_period: p.period,
            start: p.policy.start.into(),
            action: action_name(p.policy.action).to_owned(),
            version: p.policy.version,
            created_at: p.policy.created_at,
            updated_at: p.policy.updated_at,
        }
    }
}

/// A page of policies.
#[derive(Serialize, ToSchema)]
pub struct PolicyPage {
    /// Policies in creation order.
    pub items: Vec<PolicyView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Make a policy: a `category` or a `purpose` (exactly one), a `period`
/// (required for a category; for a purpose it defaults to the purpose's
/// retention and follows it), a `start` and an `action`. The period may
/// not exceed the tenant's `max_retention`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreatePolicy {
    /// A catalogue category, e.g. `user.device`.
    pub category: Option<String>,
    /// A purpose key of the tenant, e.g. `session_recording`.
    pub purpose: Option<String>,
    /// ISO 8601 duration of whole units: `P3Y`, `P18M`, `P30D`, `PT12H`; not zero.
    #[schema(
        pattern = "^P(?:(?:[0-9]{1,9}Y(?:[0-9]{1,9}M)?(?:[0-9]{1,9}W)?(?:[0-9]{1,9}D)?|[0-9]{1,9}M(?:[0-9]{1,9}W)?(?:[0-9]{1,9}D)?|[0-9]{1,9}W(?:[0-9]{1,9}D)?|[0-9]{1,9}D)(?:T(?:[0-9]{1,9}H(?:[0-9]{1,9}M)?(?:[0-9]{1,9}S)?|[0-9]{1,9}M(?:[0-9]{1,9}S)?|[0-9]{1,9}S))?|T(?:[0-9]{1,9}H(?:[0-9]{1,9}M)?(?:[0-9]{1,9}S)?|[0-9]{1,9}M(?:[0-9]{1,9}S)?|[0-9]{1,9}S))$"
    )]
    pub period: Option<String>,
    /// When the period starts.
    pub start: StartView,
    /// What happens then.
    pub action: ActionView,
}

/// Change a policy; absent fields stay. `period: null` makes a purpose
/// policy follow its purpose's retention again.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicy {
    /// ISO 8601 duration (see create), or null for a purpose policy.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^P(?:(?:[0-9]{1,9}Y(?:[0-9]{1,9}M)?(?:[0-9]{1,9}W)?(?:[0-9]{1,9}D)?|[0-9]{1,9}M(?:[0-9]{1,9}W)?(?:[0-9]{1,9}D)?|[0-9]{1,9}W(?:[0-9]{1,9}D)?|[0-9]{1,9}D)(?:T(?:[0-9]{1,9}H(?:[0-9]{1,9}M)?(?:[0-9]{1,9}S)?|[0-9]{1,9}M(?:[0-9]{1,9}S)?|[0-9]{1,9}S))?|T(?:[0-9]{1,9}H(?:[0-9]{1,9}M)?(?:[0-9]{1,9}S)?|[0-9]{1,9}M(?:[0-9]{1,9}S)?|[0-9]{1,9}S))$")]
    pub period: Option<Option<String>>,
    /// When the period starts.
    pub start: Option<StartView>,
    /// What happens then.
    pub action: Option<ActionView>,
}

impl From<CreatePolicy> for NewPolicy {
    fn from(b: CreatePolicy) -> Self {
        NewPolicy {
            category: b.category,
            purpose: b.purpose,
            period: b.period,
            start: b.start.into(),
            action: b.action.into(),
        }
    }
}

impl From<UpdatePolicy> for PolicyPatch {
    fn from(b: UpdatePolicy) -> Self {
        PolicyPatch { period: b.period, start: b.start.map(Into::into), action: b.action.map(Into::into) }
    }
}

fn policy_path(path: web::Path<String>) -> Result<String, ApiError> {
    let id = path.into_inner();
    check_id(&id)?;
    Ok(id)
}

/// Make a retention policy.
#[utoipa::path(
    tag = "retention",
    request_body = CreatePolicy,
    responses((status = 201, description = "The policy, made", body = PolicyView, headers(("ETag" = String), ("Location" = String))), BodyErrors, Conflict),
    security(("bearer" = ["retention:admin"]))
)]
#[post("/v1/retention/policies")]
pub async fn create_policy(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreatePolicy>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    body.0.validate()?;
    let policy = kluis_app::retention::create_policy(&state.app, &scoped, body.0.into()).await?;
    let location = format!("/v1/retention/policies/{}", policy.policy.id);
    Ok(created(location, policy.policy.version, &PolicyView::from(policy)))
}

/// The tenant's retention policies. A tenant starts with the defaults its
/// privacy statement makes: device and sign-in data (`user.device`) 3 years
/// after the last activity, and the data of `session_recording` and
/// `analytics` as long as those purposes' retention says.
#[utoipa::path(
    tag = "retention",
    params(ListQuery),
    responses((status = 200, description = "A page of the tenant's retention policies", body = PolicyPage), AuthErrors),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/retention/policies")]
pub async fn list_policies(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let (limit, after) = query.page()?;
    let page = kluis_app::retention::list_policies(&state.app, &scoped, limit, after).await?.map(PolicyView::from);
    Ok(HttpResponse::Ok().json(PolicyPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Read a retention policy.
#[utoipa::path(
    tag = "retention",
    params(("policy_id" = String, Path, description = "Policy id")),
    responses((status = 200, description = "The policy", body = PolicyView, headers(("ETag" = String))), AuthErrors, NotFound),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/retention/policies/{policy_id}")]
pub async fn get_policy(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let policy = kluis_app::retention::get_policy(&state.app, &scoped, policy_path(path)?).await?;
    Ok(versioned(StatusCode::OK, policy.policy.version, &PolicyView::from(policy)))
}

/// Change a retention policy's period, start or action.
#[utoipa::path(
    tag = "retention",
    params(
        ("policy_id" = String, Path, description = "Policy id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdatePolicy,
    responses((status = 200, description = "The policy, changed", body = PolicyView, headers(("ETag" = String))), BodyErrors, NotFound, Precondition),
    security(("bearer" = ["retention:admin"]))
)]
#[patch("/v1/retention/policies/{policy_id}")]
pub async fn update_policy(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdatePolicy>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    body.0.validate()?;
    let id = policy_path(path)?;
    let policy = kluis_app::retention::update_policy(&state.app, &scoped, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, policy.policy.version, &PolicyView::from(policy)))
}

/// Delete a retention policy (a default one too: it does not come back).
#[utoipa::path(
    tag = "retention",
    params(
        ("policy_id" = String, Path, description = "Policy id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["retention:admin"]))
)]
#[delete("/v1/retention/policies/{policy_id}")]
pub async fn delete_policy(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    kluis_app::retention::delete_policy(&state.app, &scoped, policy_path(path)?, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// How a sweep was started.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerView {
    /// `POST /v1/retention/sweeps`.
    Api,
    /// The server's sweeper worker (`KLUIS_RETENTION_SWEEP_INTERVAL_SECS`).
    Schedule,
    /// `kluis retention sweep --tenant SLUG`.
    Cli,
}

/// A sweep: what it removed (or, dry, would remove) per category and table.
#[derive(Serialize, ToSchema)]
pub struct SweepView {
    /// Sweep id.
    pub id: String,
    /// How it was started.
    pub trigger: TriggerView,
    /// The client that started it, or `kluis` (the worker, the CLI).
    pub actor_id: String,
    /// True when it only counted and removed nothing.
    pub dry_run: bool,
    /// Rows removed (or anonymised) per category, then per table, e.g.
    /// `{"user.device": {"devices": 3, "sessions": 1}}`.
    #[schema(value_type = Object)]
    pub rows: BTreeMap<String, BTreeMap<String, u64>>,
    /// All rows.
    pub total: u64,
    /// People inactive for longer than the tenant's `max_retention` (null
    /// without one): to be erased, each with a receipt.
    pub inactive_persons: Option<u64>,
    /// Started.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Time,
    /// Finished.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub finished_at: Time,
    /// How long it took.
    pub duration_ms: i64,
}

impl From<Sweep> for SweepView {
    fn from(s: Sweep) -> Self {
        use kluis_retention::sweeper::Trigger;
        SweepView {
            id: s.id,
            trigger: match s.trigger {
                Trigger::Api => TriggerView::Api,
                Trigger::Schedule => TriggerView::Schedule,
                Trigger::Cli => TriggerView::Cli,
            },
            actor_id: s.actor_id,
            dry_run: s.dry_run,
            rows: s.report.rows,
            total: s.report.total,
            inactive_persons: s.report.inactive_persons,
            started_at: s.started_at,
            finished_at: s.finished_at,
            duration_ms: s.duration_ms,
        }
    }
}

/// A page of sweeps.
#[derive(Serialize, ToSchema)]
pub struct SweepPage {
    /// Sweeps, newest first.
    pub items: Vec<SweepView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Options of a sweep.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SweepQuery {
    /// Count what would be removed and remove nothing.
    pub dry_run: Option<bool>,
}

/// Sweep now: apply the tenant's policies and answer the finished sweep
/// (201, synchronous). With `?dry_run=true` count and remove nothing.
/// 409 `sweep_running` while another sweep of the tenant runs (on this or
/// another instance).
#[utoipa::path(
    tag = "retention",
    params(SweepQuery),
    responses((status = 201, description = "The sweep, finished (or, dry, counted)", body = SweepView, headers(("Location" = String))), AuthErrors, Conflict),
    security(("bearer" = ["retention:admin"]))
)]
#[post("/v1/retention/sweeps")]
pub async fn run_sweep(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<SweepQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let sweep = kluis_app::retention::sweep(&state.app, &scoped, query.dry_run.unwrap_or(false)).await?;
    let location = format!("/v1/retention/sweeps/{}", sweep.id);
    Ok(HttpResponse::Created().insert_header((LOCATION, location)).json(SweepView::from(sweep)))
}

/// The tenant's sweeps, newest first.
#[utoipa::path(
    tag = "retention",
    params(ListQuery),
    responses((status = 200, description = "A page of sweeps, newest first", body = SweepPage), AuthErrors),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/retention/sweeps")]
pub async fn list_sweeps(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let (limit, after) = query.page()?;
    let page = kluis_app::retention::list_sweeps(&state.app, &scoped, limit, after).await?.map(SweepView::from);
    Ok(HttpResponse::Ok().json(SweepPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Read a sweep.
#[utoipa::path(
    tag = "retention",
    params(("sweep_id" = String, Path, description = "Sweep id")),
    responses((status = 200, description = "The sweep", body = SweepView), AuthErrors, NotFound),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/retention/sweeps/{sweep_id}")]
pub async fn get_sweep(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let sweep = kluis_app::retention::get_sweep(&state.app, &scoped, id).await?;
    Ok(HttpResponse::Ok().json(SweepView::from(sweep)))
}
