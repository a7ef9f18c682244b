//! Data-subject requests (GDPR Art. 12, 15-22): the tenant's register
//! (`requests:admin`), a person's own requests (`self`, in `me::requests`)
//! and requests from outside (no token). A request is due one calendar
//! month after receipt, counted in the tenant's time zone; it can be
//! extended once by up to two months, within the first month.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use kluis_app::requests::{Completion, PublicRequest, WithHistory};
use kluis_core::{PersonId, Scope};
use kluis_rights::requests::{Changes, Channel, Event, Filter, Kind, NewRequest, RefusalReason, Request, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;
use zeroize::Zeroizing;

use super::{check_id, created, versioned};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{
    AuthErrors, BodyErrors, Conflict, LinkErrors, NotFound, Precondition, RateLimited, ServerErrors,
};
use crate::extract::{IfMatch, Json, ListQuery, RequestOrigin};
use crate::routes::people::export::{ExportSchema, respond};
use crate::state::AppState;

type Time = time::PrimitiveDateTime;

/// What a request asks for.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KindView {
    /// Art. 15: a copy of one's data.
    Access,
    /// Art. 16: correct what is wrong.
    Rectification,
    /// Art. 17: erase one's data.
    Erasure,
    /// Art. 18: keep the data but do not use it.
    Restriction,
    /// Art. 21: object to processing.
    Objection,
    /// Art. 20: one's data, machine-readable, to take elsewhere.
    Portability,
}

impl From<KindView> for Kind {
    fn from(k: KindView) -> Self {
        match k {
            KindView::Access => Kind::Access,
            KindView::Rectification => Kind::Rectification,
            KindView::Erasure => Kind::Erasure,
            KindView::Restriction => Kind::Restriction,
            KindView::Objection => Kind::Objection,
            KindView::Portability => Kind::Portability,
        }
    }
}

impl From<Kind> for KindView {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Access => KindView::Access,
            Kind::Rectification => KindView::Rectification,
            Kind::Erasure => KindView::Erasure,
            Kind::Restriction => KindView::Restriction,
            Kind::Objection => KindView::Objection,
            Kind::Portability => KindView::Portability,
        }
    }
}

/// Where a request is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateView {
    /// In; the requester is not verified yet.
    Received,
    /// The requester is known to be the person.
    Verified,
    /// Being worked on.
    InProgress,
    /// The deadline was extended (once); being worked on.
    Extended,
    /// Done.
    Completed,
    /// Refused, with a reason.
    Refused,
}

impl From<State> for StateView {
    fn from(s: State) -> Self {
        match s {
            State::Received => StateView::Received,
            State::Verified => StateView::Verified,
            State::InProgress => StateView::InProgress,
            State::Extended => StateView::Extended,
            State::Completed => StateView::Completed,
            State::Refused => StateView::Refused,
        }
    }
}

impl From<StateView> for State {
    fn from(s: StateView) -> Self {
        match s {
            StateView::Received => State::Received,
            StateView::Verified => State::Verified,
            StateView::InProgress => State::InProgress,
            StateView::Extended => State::Extended,
            StateView::Completed => State::Completed,
            StateView::Refused => State::Refused,
        }
    }
}

/// How a request came in.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub enum ChannelView {
    /// The signed-in person (`/v1/me/requests`).
    #[serde(rename = "self")]
    OwnData,
    /// Entered by the tenant.
    #[serde(rename = "tenant")]
    Tenant,
    /// From outside, by e-mail address.
    #[serde(rename = "email")]
    Email,
}

impl From<Channel> for ChannelView {
    fn from(c: Channel) -> Self {
        match c {
            Channel::OwnData => ChannelView::OwnData,
            Channel::Tenant => ChannelView::Tenant,
            Channel::Email => ChannelView::Email,
        }
    }
}

/// Why a request is refused: the grounds the GDPR gives.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReasonView {
    /// Art. 12(5): manifestly unfounded.
    ManifestlyUnfounded,
    /// Art. 12(5): excessive, in particular repetitive.
    Excessive,
    /// Art. 12(6), 11(2): the requester could not be identified as the person.
    IdentityNotVerified,
    /// Art. 17(3)(b): a legal obligation requires the processing.
    LegalObligation,
    /// Art. 17(3)(e), 18(2), 21(1): legal claims.
    LegalClaims,
    /// Art. 15(4), 20(4): it would harm the rights and freedoms of others.
    RightsOfOthers,
    /// The right does not apply to this processing.
    NotApplicable,
}

impl From<RefusalReasonView> for RefusalReason {
    fn from(r: RefusalReasonView) -> Self {
        match r {
            RefusalReasonView::ManifestlyUnfounded => RefusalReason::ManifestlyUnfounded,
            RefusalReasonView::Excessive => RefusalReason::Excessive,
            RefusalReasonView::IdentityNotVerified => RefusalReason::IdentityNotVerified,
            RefusalReasonView::LegalObligation => RefusalReason::LegalObligation,
            RefusalReasonView::LegalClaims => RefusalReason::LegalClaims,
            RefusalReasonView::RightsOfOthers => RefusalReason::RightsOfOthers,
            RefusalReasonView::NotApplicable => RefusalReason::NotApplicable,
        }
    }
}

impl From<RefusalReason> for RefusalReasonView {
    fn from(r: RefusalReason) -> Self {
        match r {
            RefusalReason::ManifestlyUnfounded => RefusalReasonView::ManifestlyUnfounded,
            RefusalReason::Excessive => RefusalReasonView::Excessive,
            RefusalReason::IdentityNotVerified => RefusalReasonView::IdentityNotVerified,
            RefusalReason::LegalObligation => RefusalReasonView::LegalObligation,
            RefusalReason::LegalClaims => RefusalReasonView::LegalClaims,
            RefusalReason::RightsOfOthers => RefusalReasonView::RightsOfOthers,
            RefusalReason::NotApplicable => RefusalReasonView::NotApplicable,
        }
    }
}

/// A refusal, as the person is told it.
#[derive(Serialize, ToSchema)]
pub struct RefusalView {
    /// The ground.
    pub reason: RefusalReasonView,
    /// The explanation.
    pub text: Option<String>,
    /// The person's right to complain to the supervisory authority (Art. 12(4), 77).
    pub complaint: String,
}

/// One step of a request's history.
#[derive(Serialize, ToSchema)]
pub struct RequestEventView {
    /// `received`, `verified`, `updated`, `in_progress`, `extended`,
    /// `completed`, `refused`, `downloaded`, `reminded_due_soon`, `reminded_overdue`.
    pub action: String,
    /// The state after it.
    pub state: StateView,
    /// Who: `client`, `subject`, `anonymous` (a mailed code), `system`.
    pub actor_kind: String,
    /// When.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Time,
}

impl From<Event> for RequestEventView {
    fn from(e: Event) -> Self {
        RequestEventView { action: e.action, state: e.state.into(), actor_kind: e.actor_kind, at: e.at }
    }
}

/// A data-subject request.
#[derive(Serialize, ToSchema)]
pub struct RequestView {
    /// Request id.
    pub id: String,
    /// The person; null while a request from outside is unverified, when
    /// its address belongs to nobody the tenant knows, or once the person
    /// was erased.
    pub person_id: Option<String>,
    /// The address a request from outside came from.
    pub email: Option<String>,
    /// What is asked.
    pub kind: KindView,
    /// How it came in: `self`, `tenant` or `email`.
    pub channel: ChannelView,
    /// Where it is.
    pub state: StateView,
    /// What the person wrote.
    pub details: Option<String>,
    /// For an objection: the purposes (empty: every purpose that allows one).
    pub purposes: Vec<String>,
    /// Received (the deadline counts from its day in the tenant's time zone).
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Time,
    /// The last day to answer (`YYYY-MM-DD`, the tenant's time zone).
    #[schema(format = Date)]
    pub due_on: String,
    /// The end of that day: overdue from then on while open.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Time,
    /// Open past its deadline.
    pub overdue: bool,
    /// Why the deadline was extended, if it was.
    pub extension_reason: Option<String>,
    /// When it was extended.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub extended_at: Option<Time>,
    /// When the requester was verified.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub verified_at: Option<Time>,
    /// When it was completed or refused.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Time>,
    /// The refusal, if it was refused.
    pub refusal: Option<RefusalView>,
    /// What completing did: `{"export":"offered",...}`, `{"erasure_receipt"}`,
    /// `{"objections":[...]}`, `{"restricted":true}` or `{"reference"}`.
    #[schema(value_type = Option<Object>)]
    pub outcome: Option<serde_json::Value>,
    /// An export waits for its one download.
    pub download_ready: bool,
    /// When the export was downloaded.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub downloaded_at: Option<Time>,
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

impl From<Request> for RequestView {
    fn from(r: Request) -> Self {
        let now = kluis_core::time::now();
        let refusal = r.refusal_reason.map(|reason| RefusalView {
            reason: reason.into(),
            text: r.refusal_text.clone(),
            complaint: kluis_rights::mail::complaint_text(false).to_owned(),
        });
        RequestView {
            overdue: r.overdue_at(now),
            id: r.id,
            person_id: r.person_id.map(|p| p.0),
            email: r.email,
            kind: r.kind.into(),
            channel: r.channel.into(),
            state: r.state.into(),
            details: r.details,
            purposes: r.purposes,
            received_at: r.received_at,
            due_on: kluis_rights::requests::format_date(r.due_on),
            due_at: r.due_at,
            extension_reason: r.extension_reason,
            extended_at: r.extended_at,
            verified_at: r.verified_at,
            closed_at: r.closed_at,
            refusal,
            outcome: r.outcome,
            download_ready: r.download_ready,
            downloaded_at: r.downloaded_at,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A request with its history.
#[derive(Serialize, ToSchema)]
pub struct RequestDetail {
    /// The request.
    #[serde(flatten)]
    pub request: RequestView,
    /// Its steps, oldest first.
    pub events: Vec<RequestEventView>,
}

impl From<WithHistory> for RequestDetail {
    fn from(w: WithHistory) -> Self {
        RequestDetail { request: w.request.into(), events: w.events.into_iter().map(RequestEventView::from).collect() }
    }
}

/// A page of requests.
#[derive(Serialize, ToSchema)]
pub struct RequestPage {
    /// Oldest first.
    pub items: Vec<RequestView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Record a request the tenant received.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// What is asked.
    pub kind: KindView,
    /// The person (one of the tenant's); or give `email`.
    #[schema(value_type = Option<crate::contract::PersonId>)]
    pub person_id: Option<String>,
    /// The requester's e-mail address, where the person is not known yet.
    #[validate(length(max = 254, message = "must be at most 254 characters"))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// What the person wrote: up to 2000 characters.
    #[validate(length(max = 2000, message = "must be at most 2000 characters"))]
    #[schema(max_length = 2000, pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$")]
    pub details: Option<String>,
    /// For an objection: the purpose keys objected to (absent: every purpose that allows one).
    #[validate(length(max = 100, message = "must hold at most 100 purposes"))]
    #[schema(max_items = 100)]
    pub purposes: Option<Vec<String>>,
    /// When it was received, if before now (a letter entered later; RFC 3339, not in the future).
    #[serde(default, with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub received_at: Option<Time>,
}

/// A person id from a body: a malformed one is bad input (422).
fn person_field(id: Option<String>) -> Result<Option<PersonId>, ApiError> {
    match id {
        None => Ok(None),
        Some(id) if kluis_core::ids::is_uuid(&id) => Ok(Some(PersonId(id))),
        Some(_) => Err(ApiError::invalid("person_id", "must be a person id")),
    }
}

/// Only `in_progress` is set directly: the other states have their own steps.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkState {
    /// Start working on a verified (or extended) request.
    InProgress,
}

/// Change a request; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// New details (up to 2000 characters); null clears them.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 2000, message = "must be at most 2000 characters"))]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$")]
    pub details: Option<Option<String>>,
    /// Link the person the request is about (only while it names nobody).
    #[schema(value_type = Option<crate::contract::PersonId>)]
    pub person_id: Option<String>,
    /// `in_progress`: start working on it.
    pub state: Option<WorkState>,
}

fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Verify the requester.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The person the requester turned out to be, where the request named nobody yet.
    #[schema(value_type = Option<crate::contract::PersonId>)]
    pub person_id: Option<String>,
}

/// Extend the deadline.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// 1 or 2 further months (counted from the day of receipt: 2 or 3 in all).
    #[serde(deserialize_with = "crate::contract::integer")]
    #[schema(minimum = 1, maximum = 2)]
    pub months: i64,
    /// Why (the complexity or number of requests, Art. 12(3)): 1 to 2000 characters; told to the person.
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub reason: String,
}

/// Complete a request.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// Rectification (required there): the change made, as a reference (a
    /// ticket, an audit entry id, a note), 1 to 500 characters.
    #[validate(length(min = 1, max = 500, message = "must be 1 to 500 characters"))]
    #[schema(min_length = 1, max_length = 500, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub reference: Option<String>,
}

/// Refuse a request.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RefuseBody {
    /// The ground, from the fixed list.
    pub reason: RefusalReasonView,
    /// The explanation the person gets: 1 to 2000 characters.
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub text: String,
}

/// `?state=&kind=&overdue=&due_before=` and the page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// Only in this state.
    #[param(value_type = Option<StateView>)]
    pub state: Option<String>,
    /// Only of this kind.
    #[param(value_type = Option<KindView>)]
    pub kind: Option<String>,
    /// `true`: only open requests past their deadline; `false`: only the others.
    #[param(value_type = Option<bool>)]
    pub overdue: Option<String>,
    /// Only those due before this day (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub due_before: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl RequestQuery {
    fn filter(&self) -> Result<Filter, ApiError> {
        let mut errors = Vec::new();
        let mut filter = Filter::default();
        if let Some(state) = &self.state {
            match State::parse(state) {
                Some(s) => filter.state = Some(s),
                None => errors.push(kluis_core::FieldError::new("state", "not a request state")),
            }
        }
        if let Some(kind) = &self.kind {
            match Kind::parse(kind) {
                Some(k) => filter.kind = Some(k),
                None => errors.push(kluis_core::FieldError::new("kind", "not a request kind")),
            }
        }
        match self.overdue.as_deref() {
            None => {}
            Some("true") => filter.overdue = Some(true),
            Some("false") => filter.overdue = Some(false),
            Some(_) => errors.push(kluis_core::FieldError::new("overdue", "must be true or false")),
        }
        if let Some(day) = &self.due_before {
            match kluis_rights::requests::parse_date(day) {
                Some(d) => filter.due_before = Some(d),
                None => errors.push(kluis_core::FieldError::new("due_before", "must be a date YYYY-MM-DD")),
            }
        }
        if errors.is_empty() { Ok(filter) } else { Err(ApiError::Validation(errors)) }
    }

    fn page(&self) -> Result<(i64, Option<String>), ApiError> {
        ListQuery { limit: self.limit, cursor: self.cursor.clone() }.page()
    }
}

/// Record a request the tenant received (a letter, a call, its desk):
/// channel `tenant`, state `received` until the requester is verified. Due
/// one calendar month after receipt, in the tenant's time zone.
#[utoipa::path(
    tag = "rights",
    request_body = CreateRequest,
    responses((status = 201, body = RequestView, headers(("ETag" = String)), description = "The request"), BodyErrors, NotFound),
    security(("bearer" = ["requests:admin"]))
)]
#[post("/v1/requests")]
pub async fn create_request(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateRequest>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RequestsAdmin)?;
    body.0.validate()?;
    let b = body.0;
    let new = NewRequest {
        kind: b.kind.into(),
        channel: Channel::Tenant,
        person: person_field(b.person_id)?,
        email: b.email,
        details: b.details,
        purposes: b.purposes.unwrap_or_default(),
        received_at: b.received_at,
    };
    let request = kluis_app::requests::create(&state.app, &scoped, new).await?;
    let location = format!("/v1/requests/{}", request.id);
    let version = request.version;
    Ok(created(location, version, &RequestView::from(request)))
}

/// The tenant's requests, oldest first; filter by state, kind, overdue and
/// due day.
#[utoipa::path(
    tag = "rights",
    params(RequestQuery),
    responses((status = 200, body = RequestPage, description = "One page of requests"), AuthErrors),
    security(("bearer" = ["requests:admin"]))
)]
#[get("/v1/requests")]
pub async fn list_requests(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<RequestQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RequestsAdmin)?;
    let (limit, after) = query.page()?;
    let filter = query.filter()?;
    let page = kluis_app::requests::list(&state.app, &scoped, filter, limit, after).await?.map(RequestView::from);
    Ok(HttpResponse::Ok().json(RequestPage { items: page.items, next_cursor: page.next_cursor }))
}

/// One request with its history.
#[utoipa::path(
    tag = "rights",
    params(("request_id" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestDetail, headers(("ETag" = String)), description = "The request and its history"), AuthErrors, NotFound),
    security(("bearer" = ["requests:admin"]))
)]
#[get("/v1/requests/{request_id}")]
pub async fn get_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RequestsAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let found = kluis_app::requests::get(&state.app, &scoped, id).await?;
    let version = found.request.version;
    Ok(versioned(StatusCode::OK, version, &RequestDetail::from(found)))
}

/// Change a request's details, link its person, or start working on it
/// (`state: in_progress`, from `verified` or `extended`; 409 otherwise).
#[utoipa::path(
    tag = "rights",
    params(
        ("request_id" = String, Path, description = "Request id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdateRequest,
    responses((status = 200, body = RequestView, headers(("ETag" = String)), description = "The request"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["requests:admin"]))
)]
#[patch("/v1/requests/{request_id}")]
pub async fn update_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateRequest>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RequestsAdmin)?;
    body.0.validate()?;
    let id = path.into_inner();
    check_id(&id)?;
    let b = body.0;
    let changes = Changes {
        details: b.details,
        person: person_field(b.person_id)?,
        state: b.state.map(|WorkState::InProgress| State::InProgress),
    };
    let request = kluis_app::requests::update(&state.app, &scoped, id, if_match.0, changes).await?;
    Ok(versioned(StatusCode::OK, request.version, &RequestView::from(request)))
}

/// The tenant verified who the requester is: from any open state, once
/// (`received` -> `verified`; an `extended` request stays `extended`, now
/// verified); 409 when it is closed or verified already. `person_id` links
/// the person where the request named nobody.
#[utoipa::path(
    tag = "rights",
    params(
        ("request_id" = String, Path, description = "Request id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this step is based on"),
    ),
    request_body = VerifyBody,
    responses((status = 200, body = RequestView, headers(("ETag" = String)), description = "The request, verified"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["requests:admin"]))
)]
#[post("/v1/requests/{request_id}/verify")]
pub async fn verify_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<VerifyBody>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RequestsAdmin)?;
    body.0.validate()?;
    let id = path.into_inner();
    check_id(&id)?;
    let person = person_field(body.0.person_id)?;
    let request = kluis_app::requests::verify(&state.app, &scoped, id, if_match.0, person).await?;
    Ok(versioned(StatusCode::OK, request.version, &RequestView::from(request)))
}

/// Extend the deadline by 1 or 2 months with a reason (Art. 12(3)): once,
/// and only within the first month after receipt (422 on `months` after it).
#[utoipa::path(
    tag = "rights",
    params(
        ("request_id" = String, Path, description = "Request id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this step is based on"),
    ),
    request_body = ExtendBody,
    responses((status = 200, body = RequestView, headers(("ETag" = String)), description = "The request, with its new deadline"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["requests:admin"]))
)]
#[post("/v1/requests/{request_id}/extend")]
pub async fn extend_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<ExtendBody>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RequestsAdmin)?;
    body.0.validate()?;
    let id = path.into_inner();
    check_id(&id)?;
    let b = body.0;
    let request = kluis_app::requests::extend(&state.app, &scoped, id, if_match.0, b.months, b.reason).await?;
    Ok(versioned(StatusCode::OK, request.version, &RequestView::from(request)))
}

/// Complete a verified request, doing what it asks: `access`/`portability`
/// offer the person's export for one download (signed in, or by the link
/// mailed to them); `erasure` erases the person (409 `legal_hold` under a
/// hold); `objection` records objections to the purposes named, or to all
/// that allow one; `restriction` restricts the person; `rectification`
/// records `reference`, the change made (422 without).
#[utoipa::path(
    tag = "rights",
    params(
        ("request_id" = String, Path, description = "Request id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this step is based on"),
    ),
    request_body = CompleteBody,
    responses((status = 200, body = RequestView, headers(("ETag" = String)), description = "The request, completed"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["requests:admin"]))
)]
#[post("/v1/requests/{request_id}/complete")]
pub async fn complete_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<CompleteBody>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RequestsAdmin)?;
    body.0.validate()?;
    let id = path.into_inner();
    check_id(&id)?;
    let completion = Completion { reference: body.0.reference };
    let request = kluis_app::requests::complete(&state.app, &scoped, id, if_match.0, completion).await?;
    Ok(versioned(StatusCode::OK, request.version, &RequestView::from(request)))
}

/// Refuse a request with a ground from the fixed list and an explanation
/// (422 without either); the person is mailed both and told they may
/// complain to the supervisory authority (Art. 12(4)).
#[utoipa::path(
    tag = "rights",
    params(
        ("request_id" = String, Path, description = "Request id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this step is based on"),
    ),
    request_body = RefuseBody,
    responses((status = 200, body = RequestView, headers(("ETag" = String)), description = "The request, refused"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["requests:admin"]))
)]
#[post("/v1/requests/{request_id}/refuse")]
pub async fn refuse_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<RefuseBody>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RequestsAdmin)?;
    body.0.validate()?;
    let id = path.into_inner();
    check_id(&id)?;
    let b = body.0;
    let request = kluis_app::requests::refuse(&state.app, &scoped, id, if_match.0, b.reason.into(), b.text).await?;
    Ok(versioned(StatusCode::OK, request.version, &RequestView::from(request)))
}

// --- From outside (no token) ---

/// A request from outside.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PublicRequestBody {
    /// The requester's e-mail address: the code that confirms the request is mailed there.
    #[validate(length(min = 3, max = 254, message = "must be 3 to 254 characters"))]
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// What is asked.
    pub kind: KindView,
    /// What the person writes: up to 2000 characters.
    #[validate(length(max = 2000, message = "must be at most 2000 characters"))]
    #[schema(max_length = 2000, pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$")]
    pub details: Option<String>,
}

/// The code from the mail.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// The code from the mail.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
}

/// A tenant slug from a path: one that cannot name a tenant is 404.
fn slug(path: String) -> Result<String, ApiError> {
    let ok = (3..=63).contains(&path.len())
        && path.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok { Ok(path) } else { Err(ApiError::NotFound) }
}

/// Make a request without an account: kluis mails a code to the address,
/// and only that code confirms the request
/// (`POST /v1/public/{tenant_slug}/requests/verify`). Always 202, whether
/// or not the address belongs to anyone the tenant knows; throttled per
/// address and per client IP (429). 403 `requests_via_tenant` where the
/// tenant takes requests only itself (the problem says whom to ask).
#[utoipa::path(
    tag = "rights",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    request_body = PublicRequestBody,
    responses((status = 202, description = "If the address is right, a code is on its way"), BodyErrors, NotFound, RateLimited)
)]
#[post("/v1/public/{tenant_slug}/requests")]
pub async fn public_request(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    path: web::Path<String>,
    body: Json<PublicRequestBody>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    if !kluis_core::validate::is_email(body.0.email.trim()) {
        return Err(ApiError::invalid("email", "must be an e-mail address"));
    }
    let b = body.0;
    let new =
        PublicRequest { tenant: slug(path.into_inner())?, email: b.email, kind: b.kind.into(), details: b.details };
    kluis_app::requests::create_public(&state.app, &origin.0, new).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Confirm a request made from outside with the mailed code: it becomes
/// `verified` (and names the person whose address it is, if the tenant
/// knows one). 400 for a code unknown, used or expired.
#[utoipa::path(
    tag = "rights",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    request_body = CodeBody,
    responses((status = 204, description = "Confirmed"), LinkErrors, BodyErrors, NotFound, RateLimited)
)]
#[post("/v1/public/{tenant_slug}/requests/verify")]
pub async fn verify_public_request(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    path: web::Path<String>,
    body: Json<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    body.0.validate()?;
    let tenant = slug(path.into_inner())?;
    kluis_app::requests::verify_public(&state.app, &origin.0, tenant, Zeroizing::new(body.0.token)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The page of the link the verification mail carries: a question whose
/// button POSTs to this address, which confirms the request. It never acts
/// (mail scanners follow links) and does not say whether the link is valid;
/// views count against the per-IP limit of mailed links (429).
#[utoipa::path(
    tag = "rights",
    params(
        ("tenant_slug" = String, Path, description = "The tenant's slug"),
        ("token" = String, Path, description = "The code of the mailed link"),
    ),
    responses(
        (status = 200, description = "The page, with a form whose button POSTs to this address", content_type = "text/html", body = String),
        NotFound,
        RateLimited,
        ServerErrors,
    )
)]
#[get("/v1/public/{tenant_slug}/requests/verify/{token}")]
pub async fn verify_public_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    origin: RequestOrigin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, _) = path.into_inner();
    slug(tenant)?;
    kluis_app::requests::link_viewed(&state.app, &origin.0)?;
    let visitor = crate::pages::Visitor::of(&req, true);
    Ok(crate::pages::requests::ask(visitor.language(None)).respond(StatusCode::OK))
}

/// The button of the mailed link's page: confirms the request made from
/// outside, as `POST /v1/public/{tenant_slug}/requests/verify` does with the
/// code. The body, if any, is not read. A browser (`Accept: text/html`)
/// gets a page (the confirmation, or 400 for a link unknown, used or
/// expired), anyone else 204 or the problem.
#[utoipa::path(
    tag = "rights",
    params(
        ("tenant_slug" = String, Path, description = "The tenant's slug"),
        ("token" = String, Path, description = "The code of the mailed link"),
    ),
    request_body(
        description = "Optional and not read (the page's button sends a form field)",
        content((Option<String> = "application/x-www-form-urlencoded")),
    ),
    responses(
        (status = 200, description = "Confirmed: the page, for a browser", content_type = "text/html", body = String),
        (status = 204, description = "Confirmed"),
        LinkErrors,
        NotFound,
        RateLimited,
        ServerErrors,
    )
)]
#[post("/v1/public/{tenant_slug}/requests/verify/{token}")]
pub async fn verify_public_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    origin: RequestOrigin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let visitor = crate::pages::Visitor::of(&req, false);
    let (tenant, token) = path.into_inner();
    let tenant = slug(tenant)?;
    match kluis_app::requests::verify_public(&state.app, &origin.0, tenant, Zeroizing::new(token)).await {
        Ok(()) if visitor.html => Ok(crate::pages::requests::done(visitor.language(None)).respond(StatusCode::OK)),
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(error) => crate::pages::requests::failure(error.into(), &visitor),
    }
}

/// The export of a completed access or portability request, with the
/// one-time link mailed to the person: it works once (410 after).
#[utoipa::path(
    tag = "rights",
    params(
        ("tenant_slug" = String, Path, description = "The tenant's slug"),
        ("token" = String, Path, description = "The token of the mailed link"),
    ),
    responses(
        (status = 200, description = "The export", headers(("Cache-Control" = String, description = "no-store")), content((ExportSchema = "application/json"))),
        LinkErrors,
        NotFound,
        RateLimited,
        ServerErrors,
    )
)]
#[get("/v1/public/{tenant_slug}/requests/download/{token}")]
pub async fn download_public_export(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, token) = path.into_inner();
    let tenant = slug(tenant)?;
    let document = kluis_app::requests::download_public(&state.app, &origin.0, tenant, Zeroizing::new(token)).await?;
    respond(&document, false)
}
