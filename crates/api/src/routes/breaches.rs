//! The breach register (GDPR Art. 33, 34), `breaches:admin`: the tenant's
//! breaches with the 72-hour clock of the report to the supervisory
//! authority, telling the people of a high-risk one; and, for the platform
//! operator (`tenants:admin`), a breach at the platform recorded for every
//! tenant it reached.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, web};
use kluis_app::breaches::{Notified, PlatformBreach, Recorded, Selection};
use kluis_core::{FieldError, PersonId, Scope, TenantId};
use kluis_rights::breaches::{Breach, Changes, Filter, NewBreach, Risk, Source, Status};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::{check_id, created, versioned};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json, ListQuery};
use crate::state::AppState;

type Time = time::PrimitiveDateTime;

/// How likely a breach harms the people affected.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RiskView {
    /// Unlikely to result in a risk: recorded; no report needed (say why in `no_report_reason`).
    None,
    /// A risk: report to the supervisory authority within 72 hours of detection.
    Risk,
    /// A high risk: report, and tell the people affected (Art. 34).
    HighRisk,
}

impl From<RiskView> for Risk {
    fn from(r: RiskView) -> Self {
        match r {
            RiskView::None => Risk::None,
            RiskView::Risk => Risk::Risk,
            RiskView::HighRisk => Risk::HighRisk,
        }
    }
}

impl From<Risk> for RiskView {
    fn from(r: Risk) -> Self {
        match r {
            Risk::None => RiskView::None,
            Risk::Risk => RiskView::Risk,
            Risk::HighRisk => RiskView::HighRisk,
        }
    }
}

/// Where a breach happened.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreachSourceView {
    /// At the tenant.
    Tenant,
    /// At the platform, recorded by its operator.
    Platform,
}

impl From<Source> for BreachSourceView {
    fn from(s: Source) -> Self {
        match s {
            Source::Tenant => BreachSourceView::Tenant,
            Source::Platform => BreachSourceView::Platform,
        }
    }
}

/// Whether a breach is being handled.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreachStatusView {
    /// Being handled.
    Open,
    /// Handled: reported to the authority, or the reason why not recorded.
    Closed,
}

impl From<Status> for BreachStatusView {
    fn from(s: Status) -> Self {
        match s {
            Status::Open => BreachStatusView::Open,
            Status::Closed => BreachStatusView::Closed,
        }
    }
}

impl From<BreachStatusView> for Status {
    fn from(s: BreachStatusView) -> Self {
        match s {
            BreachStatusView::Open => Status::Open,
            BreachStatusView::Closed => Status::Closed,
        }
    }
}

/// A breach in the register.
#[derive(Serialize, ToSchema)]
pub struct BreachView {
    /// Breach id.
    pub id: String,
    /// `tenant` (its own) or `platform` (recorded by the operator).
    pub source: BreachSourceView,
    /// For a platform breach: the operator's id of it, the same in every register it reached.
    pub platform_ref: Option<String>,
    /// When it became known (the 72 hours count from here).
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub detected_at: Time,
    /// What happened.
    pub description: String,
    /// The categories of data concerned.
    #[schema(value_type = Vec<crate::contract::DataCategory>)]
    pub data_categories: Vec<String>,
    /// Approximately how many people are affected.
    pub people_affected: Option<i64>,
    /// Approximately how many records are affected.
    pub records_affected: Option<i64>,
    /// Likely consequences.
    pub consequences: Option<String>,
    /// Measures taken or proposed.
    pub measures: Option<String>,
    /// The risk.
    pub risk: RiskView,
    /// `detected_at` + 72 hours: the report to the supervisory authority is due (Art. 33(1)).
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub authority_due_at: Time,
    /// Due, not reported, and no reason recorded why no report is made.
    pub overdue: bool,
    /// When it was reported to the supervisory authority.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reported_to_authority_at: Option<Time>,
    /// The authority's reference of the report.
    pub authority_reference: Option<String>,
    /// Why no report is made.
    pub no_report_reason: Option<String>,
    /// When the people affected were first told.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub subjects_notified_at: Option<Time>,
    /// How many people were told through kluis.
    pub subjects_notified: i64,
    /// `open` or `closed`.
    pub status: BreachStatusView,
    /// When it was closed.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Time>,
    /// Version for `If-Match`.
    pub version: i64,
    /// Recorded.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
}

impl From<Breach> for BreachView {
    fn from(b: Breach) -> Self {
        BreachView {
            overdue: b.overdue_at(kluis_core::time::now()),
            id: b.id,
            source: b.source.into(),
            platform_ref: b.platform_ref,
            detected_at: b.detected_at,
            description: b.description,
            data_categories: b.data_categories.iter().map(|c| c.as_str().to_owned()).collect(),
            people_affected: b.people_affected,
            records_affected: b.records_affected,
            consequences: b.consequences,
            measures: b.measures,
            risk: b.risk.into(),
            authority_due_at: b.authority_due_at,
            reported_to_authority_at: b.reported_to_authority_at,
            authority_reference: b.authority_reference,
            no_report_reason: b.no_report_reason,
            subjects_notified_at: b.subjects_notified_at,
            subjects_notified: b.subjects_notified,
            status: b.status.into(),
            closed_at: b.closed_at,
            version: b.version,
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}

/// A page of breaches.
#[derive(Serialize, ToSchema)]
pub struct BreachPage {
    /// Oldest first.
    pub items: Vec<BreachView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Record a breach.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateBreach {
    /// When it became known (RFC 3339; not in the future). The report is due 72 hours later.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub detected_at: Time,
    /// What happened: 1 to 4000 characters.
    #[validate(length(min = 1, max = 4000, message = "must be 1 to 4000 characters"))]
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub description: String,
    /// The categories of data concerned: 1 to 17 catalogue names, each once.
    #[validate(length(min = 1, max = 17, message = "must name 1 to 17 data categories"))]
    #[schema(min_items = 1, max_items = 17, value_type = Vec<crate::contract::DataCategory>)]
    pub data_categories: Vec<String>,
    /// Approximately how many people are affected (0 to 10^12).
    #[serde(default, deserialize_with = "crate::contract::option_integer")]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub people_affected: Option<i64>,
    /// Approximately how many records are affected (0 to 10^12).
    #[serde(default, deserialize_with = "crate::contract::option_integer")]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub records_affected: Option<i64>,
    /// Likely consequences: up to 4000 characters.
    #[validate(length(max = 4000, message = "must be at most 4000 characters"))]
    #[schema(max_length = 4000, pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$")]
    pub consequences: Option<String>,
    /// Measures taken or proposed: up to 4000 characters.
    #[validate(length(max = 4000, message = "must be at most 4000 characters"))]
    #[schema(max_length = 4000, pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$")]
    pub measures: Option<String>,
    /// The risk to the people affected.
    pub risk: RiskView,
    /// When it was reported to the authority, if it was already (not in the future, not before `detected_at`).
    #[serde(default, with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reported_to_authority_at: Option<Time>,
    /// The authority's reference of the report: 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub authority_reference: Option<String>,
    /// Why no report is made (e.g. the data was encrypted and the key is safe): 1 to 2000 characters.
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub no_report_reason: Option<String>,
}

impl From<CreateBreach> for NewBreach {
    fn from(b: CreateBreach) -> Self {
        NewBreach {
            detected_at: b.detected_at,
            description: b.description,
            data_categories: b.data_categories,
            people_affected: b.people_affected,
            records_affected: b.records_affected,
            consequences: b.consequences,
            measures: b.measures,
            risk: b.risk.into(),
            reported_to_authority_at: b.reported_to_authority_at,
            authority_reference: b.authority_reference,
            no_report_reason: b.no_report_reason,
        }
    }
}

fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn nullable_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Time>>, D::Error> {
    kluis_core::time::rfc3339::option::deserialize(d).map(Some)
}

fn nullable_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    crate::contract::option_integer(d).map(Some)
}

/// Change a breach; absent fields stay as they are, `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateBreach {
    /// When it became known (moves `authority_due_at` with it; not in the future).
    #[serde(default, with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub detected_at: Option<Time>,
    /// What happened: 1 to 4000 characters.
    #[validate(length(min = 1, max = 4000, message = "must be 1 to 4000 characters"))]
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub description: Option<String>,
    /// The categories of data concerned: 1 to 17 catalogue names, each once.
    #[validate(length(min = 1, max = 17, message = "must name 1 to 17 data categories"))]
    #[schema(min_items = 1, max_items = 17, value_type = Option<Vec<crate::contract::DataCategory>>)]
    pub data_categories: Option<Vec<String>>,
    /// Approximately how many people are affected (0 to 10^12); null: unknown.
    #[serde(default, deserialize_with = "nullable_integer")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub people_affected: Option<Option<i64>>,
    /// Approximately how many records are affected (0 to 10^12); null: unknown.
    #[serde(default, deserialize_with = "nullable_integer")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub records_affected: Option<Option<i64>>,
    /// Likely consequences: up to 4000 characters; null clears them.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 4000, message = "must be at most 4000 characters"))]
    #[schema(value_type = Option<String>, max_length = 4000, pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$")]
    pub consequences: Option<Option<String>>,
    /// Measures taken or proposed: up to 4000 characters; null clears them.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 4000, message = "must be at most 4000 characters"))]
    #[schema(value_type = Option<String>, max_length = 4000, pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$")]
    pub measures: Option<Option<String>>,
    /// The risk.
    pub risk: Option<RiskView>,
    /// When it was reported to the authority (not in the future, not before `detected_at`); null: not reported.
    #[serde(default, deserialize_with = "nullable_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reported_to_authority_at: Option<Option<Time>>,
    /// The authority's reference of the report: 1 to 200 characters; null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub authority_reference: Option<Option<String>>,
    /// Why no report is made: 1 to 2000 characters; null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 2000, pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$")]
    pub no_report_reason: Option<Option<String>>,
    /// When the people affected were told by other means than kluis (not in the future, not before `detected_at`).
    #[serde(default, deserialize_with = "nullable_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub subjects_notified_at: Option<Option<Time>>,
    /// `closed` (needs `reported_to_authority_at` or `no_report_reason`: 422 otherwise) or `open` again.
    pub status: Option<BreachStatusView>,
}

impl From<UpdateBreach> for Changes {
    fn from(b: UpdateBreach) -> Self {
        Changes {
            detected_at: b.detected_at,
            description: b.description,
            data_categories: b.data_categories,
            people_affected: b.people_affected,
            records_affected: b.records_affected,
            consequences: b.consequences,
            measures: b.measures,
            risk: b.risk.map(Into::into),
            reported_to_authority_at: b.reported_to_authority_at,
            authority_reference: b.authority_reference,
            no_report_reason: b.no_report_reason,
            subjects_notified_at: b.subjects_notified_at,
            status: b.status.map(Into::into),
        }
    }
}

/// `?overdue=&risk=&status=` and the page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BreachQuery {
    /// `true`: only those whose report is overdue (due, not reported, no reason recorded); `false`: only the others.
    #[param(value_type = Option<bool>)]
    pub overdue: Option<String>,
    /// Only of this risk.
    #[param(value_type = Option<RiskView>)]
    pub risk: Option<String>,
    /// Only `open` or only `closed` ones.
    #[param(value_type = Option<BreachStatusView>)]
    pub status: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl BreachQuery {
    fn filter(&self) -> Result<Filter, ApiError> {
        let mut errors = Vec::new();
        let mut filter = Filter::default();
        match self.overdue.as_deref() {
            None => {}
            Some("true") => filter.overdue = Some(true),
            Some("false") => filter.overdue = Some(false),
            Some(_) => errors.push(FieldError::new("overdue", "must be true or false")),
        }
        if let Some(risk) = &self.risk {
            match Risk::parse(risk) {
                Some(r) => filter.risk = Some(r),
                None => errors.push(FieldError::new("risk", "must be none, risk or high_risk")),
            }
        }
        if let Some(status) = &self.status {
            match Status::parse(status) {
                Some(s) => filter.status = Some(s),
                None => errors.push(FieldError::new("status", "must be open or closed")),
            }
        }
        if errors.is_empty() { Ok(filter) } else { Err(ApiError::Validation(errors)) }
    }

    fn page(&self) -> Result<(i64, Option<String>), ApiError> {
        ListQuery { limit: self.limit, cursor: self.cursor.clone() }.page()
    }
}

/// Record a breach in the tenant's register (Art. 33(5)): the report to the
/// supervisory authority is due 72 hours after `detected_at`
/// (`authority_due_at`). Endpoints subscribed to `breach.created` are told.
#[utoipa::path(
    tag = "breaches",
    request_body = CreateBreach,
    responses((status = 201, body = BreachView, headers(("ETag" = String)), description = "The breach"), BodyErrors),
    security(("bearer" = ["breaches:admin"]))
)]
#[post("/v1/breaches")]
pub async fn create_breach(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateBreach>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::BreachesAdmin)?;
    body.0.validate()?;
    let breach = kluis_app::breaches::create(&state.app, &scoped, body.0.into()).await?;
    let location = format!("/v1/breaches/{}", breach.id);
    let version = breach.version;
    Ok(created(location, version, &BreachView::from(breach)))
}

/// The tenant's breaches, oldest first; `overdue=true` lists those whose
/// report is overdue: due, not reported, and no reason recorded.
#[utoipa::path(
    tag = "breaches",
    params(BreachQuery),
    responses((status = 200, body = BreachPage, description = "One page of breaches"), AuthErrors),
    security(("bearer" = ["breaches:admin"]))
)]
#[get("/v1/breaches")]
pub async fn list_breaches(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<BreachQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::BreachesAdmin)?;
    let (limit, after) = query.page()?;
    let filter = query.filter()?;
    let page = kluis_app::breaches::list(&state.app, &scoped, filter, limit, after).await?.map(BreachView::from);
    Ok(HttpResponse::Ok().json(BreachPage { items: page.items, next_cursor: page.next_cursor }))
}

/// One breach.
#[utoipa::path(
    tag = "breaches",
    params(("breach_id" = String, Path, description = "Breach id")),
    responses((status = 200, body = BreachView, headers(("ETag" = String)), description = "The breach"), AuthErrors, NotFound),
    security(("bearer" = ["breaches:admin"]))
)]
#[get("/v1/breaches/{breach_id}")]
pub async fn get_breach(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::BreachesAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let breach = kluis_app::breaches::get(&state.app, &scoped, id).await?;
    Ok(versioned(StatusCode::OK, breach.version, &BreachView::from(breach)))
}

/// Change a breach: its facts, the report (`reported_to_authority_at`,
/// `authority_reference`) or the reason why none is made, or close it
/// (`status: closed`, which needs one of those two: 422 otherwise).
/// Timestamps are never in the future nor before `detected_at` (422).
#[utoipa::path(
    tag = "breaches",
    params(
        ("breach_id" = String, Path, description = "Breach id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdateBreach,
    responses((status = 200, body = BreachView, headers(("ETag" = String)), description = "The breach"), BodyErrors, NotFound, Precondition),
    security(("bearer" = ["breaches:admin"]))
)]
#[patch("/v1/breaches/{breach_id}")]
pub async fn update_breach(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateBreach>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::BreachesAdmin)?;
    body.0.validate()?;
    let id = path.into_inner();
    check_id(&id)?;
    let breach = kluis_app::breaches::update(&state.app, &scoped, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, breach.version, &BreachView::from(breach)))
}

/// Whom to tell.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct NotifySubjects {
    /// People of the tenant, by id (up to 1000); an id naming none is 422.
    #[serde(default)]
    #[validate(length(max = 1000, message = "at most 1000 people"))]
    #[schema(max_items = 1000, value_type = Vec<crate::contract::PersonId>)]
    pub person_ids: Vec<String>,
    /// Everyone whose data of these categories the tenant keeps (catalogue names, up to 17).
    #[serde(default)]
    #[validate(length(max = 17, message = "at most 17 data categories"))]
    #[schema(max_items = 17, value_type = Vec<crate::contract::DataCategory>)]
    pub data_categories: Vec<String>,
}

/// What telling the people did.
#[derive(Serialize, ToSchema)]
pub struct NotifiedView {
    /// The breach, with `subjects_notified_at` and `subjects_notified`.
    pub breach: BreachView,
    /// How many people the selection named.
    pub selected: usize,
    /// Mailed now.
    pub notified: usize,
    /// Told before: not mailed again.
    pub already_notified: usize,
    /// Without a primary e-mail address: not told through kluis.
    pub unreachable: usize,
}

impl From<Notified> for NotifiedView {
    fn from(n: Notified) -> Self {
        NotifiedView {
            breach: n.breach.into(),
            selected: n.selected,
            notified: n.notified,
            already_notified: n.already_notified,
            unreachable: n.unreachable,
        }
    }
}

/// Tell the people a high-risk breach concerns (Art. 34): those named by
/// `person_ids` and those whose data of `data_categories` the tenant keeps
/// (at least one of the two). Each is mailed once, at their primary
/// address and in their language (Dutch or English): what happened, the
/// likely consequences, the measures, and the privacy contact. Records
/// `subjects_notified_at` and how many were told. 409
/// `breach_not_high_risk` unless the breach's risk is `high_risk`.
/// A retry with the same `Idempotency-Key` replays the first answer.
#[utoipa::path(
    tag = "breaches",
    params(("breach_id" = String, Path, description = "Breach id")),
    request_body = NotifySubjects,
    responses((status = 200, body = NotifiedView, description = "Who was told"), BodyErrors, NotFound, Conflict),
    security(("bearer" = ["breaches:admin"]))
)]
#[post("/v1/breaches/{breach_id}/notify-subjects")]
pub async fn notify_subjects(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<NotifySubjects>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::BreachesAdmin)?;
    body.0.validate()?;
    let id = path.into_inner();
    check_id(&id)?;
    let b = body.0;
    let mut person_ids = Vec::with_capacity(b.person_ids.len());
    let mut errors = Vec::new();
    for (i, person) in b.person_ids.into_iter().enumerate() {
        if kluis_core::ids::is_uuid(&person) {
            person_ids.push(PersonId(person));
        } else {
            errors.push(FieldError::new(format!("person_ids[{i}]"), "must be a person id"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let selection = Selection { person_ids, data_categories: b.data_categories };
    let notified = kluis_app::breaches::notify_subjects(&state.app, &scoped, id, selection).await?;
    Ok(HttpResponse::Ok().json(NotifiedView::from(notified)))
}

/// A breach at the platform, for the operator.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreatePlatformBreach {
    /// The tenants it reached (1 to 1000, each once); an id naming none is 422 and nothing is recorded.
    #[validate(length(min = 1, max = 1000, message = "must name 1 to 1000 tenants"))]
    #[schema(min_items = 1, max_items = 1000)]
    pub tenant_ids: Vec<String>,
    /// The breach, as each tenant's register will hold it (what it says
    /// goes to every tenant named: no tenant's personal data belongs in it).
    #[validate(nested)]
    pub breach: CreateBreach,
}

/// Where a platform breach landed, per tenant (ids only).
#[derive(Serialize, ToSchema)]
pub struct PlatformBreachTenant {
    /// The tenant.
    pub tenant_id: String,
    /// The breach in its register.
    pub breach_id: String,
    /// Whether its privacy contact was mailed (false: the tenant has none set).
    pub contact_mailed: bool,
}

/// A platform breach, recorded.
#[derive(Serialize, ToSchema)]
pub struct PlatformBreachView {
    /// The operator's id of the breach: `platform_ref` in each register.
    pub platform_ref: String,
    /// Where it landed.
    pub tenants: Vec<PlatformBreachTenant>,
}

impl From<Recorded> for PlatformBreachView {
    fn from(r: Recorded) -> Self {
        PlatformBreachView {
            platform_ref: r.platform_ref,
            tenants: r
                .tenants
                .into_iter()
                .map(|(tenant, breach_id, contact_mailed)| PlatformBreachTenant {
                    tenant_id: tenant.0,
                    breach_id,
                    contact_mailed,
                })
                .collect(),
        }
    }
}

/// A breach at the platform (the operator is the tenants' processor, Art.
/// 33(2)): each tenant named gets it in its own register (`source:
/// platform`), a mail to its privacy contact, and `breach.created` on its
/// webhooks, all in one transaction. The operator gets ids back and sees no
/// personal data. An unknown or repeated tenant id is 422, and nothing is
/// recorded.
#[utoipa::path(
    tag = "breaches",
    request_body = CreatePlatformBreach,
    responses((status = 201, body = PlatformBreachView, description = "Recorded in each tenant's register"), BodyErrors),
    security(("bearer" = ["tenants:admin"]))
)]
#[post("/v1/operator/breaches")]
pub async fn create_platform_breach(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreatePlatformBreach>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::TenantsAdmin)?;
    body.0.validate()?;
    let b = body.0;
    let mut tenants = Vec::with_capacity(b.tenant_ids.len());
    let mut errors = Vec::new();
    for (i, tenant) in b.tenant_ids.into_iter().enumerate() {
        if kluis_core::ids::is_uuid(&tenant) {
            tenants.push(TenantId(tenant));
        } else {
            errors.push(FieldError::new(format!("tenant_ids[{i}]"), "must be a tenant id"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let platform = PlatformBreach { breach: b.breach.into(), tenants };
    let recorded = kluis_app::breaches::create_platform(&state.app, &caller, platform).await?;
    Ok(HttpResponse::Created().json(PlatformBreachView::from(recorded)))
}
