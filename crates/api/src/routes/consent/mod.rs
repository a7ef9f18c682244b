//! Consent (`consent:read` / `consent:write`): recording grants, withdrawals
//! and objections for a person with their proof, a person's current state
//! and history, the check processors call before every mailing (single and
//! batch), the changes feed, and RFC 8058 one-click unsubscribe links.
//! Every recorded event is audited; checks and feed pages are counted per
//! client and day instead of audited one by one.

use std::net::IpAddr;

use actix_web::http::header::USER_AGENT;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use kluis_audit::{Action, Target};
use kluis_consent::check::{self, Pair};
use kluis_consent::unsubscribe::{self, Opened, Redeemed};
use kluis_consent::usage::Usage;
use kluis_consent::{ConsentAction, ConsentEvent, Decision, NewEvent, Proof, Source, actor_kind_name, ledger};
use kluis_core::page::{Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use kluis_core::{Actor, ActorKind, DomainError, PersonId, Scope};
use kluis_people::persons;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::check_id;
use super::register::LegalBasisView;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, LinkErrors, NotFound, ServerErrors};
use crate::extract::{Json, ListQuery};
use crate::state::AppState;

type Time = time::PrimitiveDateTime;

/// The proof kept with an event: the caller's IP truncated (IPv4 /16,
/// IPv6 /48) and its user agent.
pub(crate) fn proof(req: &HttpRequest, ip: Option<IpAddr>) -> Proof {
    Proof {
        ip_prefix: ip.map(|ip| kluis_core::net::ip_prefix(ip).to_string()),
        user_agent: req
            .headers()
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(kluis_consent::clean_user_agent),
    }
}

pub(crate) fn person_path(path: web::Path<String>) -> Result<PersonId, ApiError> {
    let id = path.into_inner();
    check_id(&id)?;
    Ok(PersonId(id))
}

/// What an event does.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionView {
    /// Consent given.
    Grant,
    /// Consent withdrawn.
    Withdraw,
    /// Objection (Art. 21), e.g. to direct marketing; it stands until the person lifts it.
    Object,
}

impl From<ActionView> for ConsentAction {
    fn from(a: ActionView) -> Self {
        match a {
            ActionView::Grant => ConsentAction::Grant,
            ActionView::Withdraw => ConsentAction::Withdraw,
            ActionView::Object => ConsentAction::Object,
        }
    }
}

impl From<ConsentAction> for ActionView {
    fn from(a: ConsentAction) -> Self {
        match a {
            ConsentAction::Grant => ActionView::Grant,
            ConsentAction::Withdraw => ActionView::Withdraw,
            ConsentAction::Object => ActionView::Object,
        }
    }
}

/// Where a recorded event or acceptance came from.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceView {
    /// A website form.
    Web,
    /// An app.
    App,
    /// An import of earlier records.
    Import,
    /// A staff member in a back office.
    Admin,
    /// A one-click unsubscribe link (set by kluis).
    Unsubscribe,
    /// The person through the self-service API (set by kluis).
    #[serde(rename = "self")]
    OwnData,
}

impl From<Source> for SourceView {
    fn from(s: Source) -> Self {
        match s {
            Source::Web => SourceView::Web,
            Source::App => SourceView::App,
            Source::Import => SourceView::Import,
            Source::Admin => SourceView::Admin,
            Source::Unsubscribe => SourceView::Unsubscribe,
            Source::OwnData => SourceView::OwnData,
        }
    }
}

/// Where a client says an event or acceptance came from.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientSourceView {
    /// A website form.
    Web,
    /// An app.
    App,
    /// An import of earlier records.
    Import,
    /// A staff member in a back office.
    Admin,
}

impl From<ClientSourceView> for Source {
    fn from(s: ClientSourceView) -> Self {
        match s {
            ClientSourceView::Web => Source::Web,
            ClientSourceView::App => Source::App,
            ClientSourceView::Import => Source::Import,
            ClientSourceView::Admin => Source::Admin,
        }
    }
}

/// How a person stands with a purpose.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusView {
    /// Consent given and valid.
    Granted,
    /// Consent given but lapsed.
    Expired,
    /// Consent withdrawn.
    Withdrawn,
    /// An objection stands.
    Objected,
    /// Nothing recorded.
    None,
}

impl From<kluis_consent::Status> for StatusView {
    fn from(s: kluis_consent::Status) -> Self {
        use kluis_consent::Status;
        match s {
            Status::Granted => StatusView::Granted,
            Status::Expired => StatusView::Expired,
            Status::Withdrawn => StatusView::Withdrawn,
            Status::Objected => StatusView::Objected,
            Status::None => StatusView::None,
        }
    }
}

/// A ledger event with its proof.
#[derive(Serialize, ToSchema)]
pub struct ConsentEventView {
    /// Event id.
    pub id: String,
    /// Position in the tenant's ledger (commit order).
    pub seq: i64,
    /// The person.
    pub person_id: String,
    /// Purpose key.
    pub purpose: String,
    /// `grant`, `withdraw` or `object`.
    pub action: ActionView,
    /// Where it came from.
    pub source: SourceView,
    /// The version of the policy shown.
    pub policy_version: Option<i64>,
    /// The recording caller's IP, truncated (IPv4 /16, IPv6 /48).
    pub ip_prefix: Option<String>,
    /// The recording caller's user agent.
    pub user_agent: Option<String>,
    /// `client`, `subject` (the person) or `system`.
    pub actor_kind: String,
    /// The client id, or the person's own id.
    pub actor_id: String,
    /// When the person did it.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Time,
    /// When a grant lapses.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Time>,
    /// When kluis recorded it.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Time,
}

impl From<ConsentEvent> for ConsentEventView {
    fn from(e: ConsentEvent) -> Self {
        ConsentEventView {
            id: e.id,
            seq: e.seq,
            person_id: e.person_id.0,
            purpose: e.purpose,
            action: e.action.into(),
            source: e.source.into(),
            policy_version: e.policy_version,
            ip_prefix: e.ip_prefix,
            user_agent: e.user_agent,
            actor_kind: actor_kind_name(e.actor_kind).to_owned(),
            actor_id: e.actor_id,
            occurred_at: e.occurred_at,
            expires_at: e.expires_at,
            recorded_at: e.recorded_at,
        }
    }
}

/// Record a grant, withdrawal or objection.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RecordConsent {
    /// Purpose key. Only consent can be granted or withdrawn; objections
    /// only where the law gives that right (consent, public task, legitimate interests).
    pub purpose: String,
    /// `grant`, `withdraw` or `object`.
    pub action: ActionView,
    /// `web`, `app`, `import` or `admin`.
    pub source: ClientSourceView,
    /// The version of the privacy policy shown to the person (1 or more).
    #[validate(range(min = 1, message = "must be 1 or more"))]
    pub policy_version: Option<i64>,
    /// When the person did it (RFC 3339; not in the future); now when absent.
    #[serde(default, with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<Time>,
    /// When a grant lapses (RFC 3339, after `occurred_at`); grants only.
    #[serde(default, with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Time>,
}

impl From<ledger::Standing> for StandingView {
    fn from(s: ledger::Standing) -> Self {
        StandingView {
            purpose: s.purpose,
            legal_basis: s.decision.basis.into(),
            status: s.decision.status.into(),
            allowed: s.decision.allowed,
            since: s.decision.since,
            expires_at: s.expires_at,
        }
    }
}

/// How a person stands with one purpose now.
#[derive(Serialize, ToSchema)]
pub struct StandingView {
    /// Purpose key.
    pub purpose: String,
    /// Its lawful basis.
    pub legal_basis: LegalBasisView,
    /// `granted`, `expired`, `withdrawn`, `objected` or `none`.
    pub status: StatusView,
    /// Whether processing for it is allowed now.
    pub allowed: bool,
    /// Since when this holds; null when nothing about the person decides it.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<Time>,
    /// When the current grant lapses.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Time>,
}

/// A person's current state per purpose.
#[derive(Serialize, ToSchema)]
pub struct StandingList {
    /// Every purpose of the tenant, by key.
    pub items: Vec<StandingView>,
}

/// A page of a person's ledger events.
#[derive(Serialize, ToSchema)]
pub struct ConsentEventPage {
    /// Oldest first.
    pub items: Vec<ConsentEventView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// The answer of a check.
#[derive(Serialize, ToSchema)]
pub struct CheckResult {
    /// Whether the person's data may be processed for the purpose now.
    pub allowed: bool,
    /// The purpose's lawful basis.
    pub basis: LegalBasisView,
    /// Since when this answer holds (the grant, withdrawal, objection or
    /// expiry); null when nothing about the person decides it.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<Time>,
}

impl From<Decision> for CheckResult {
    fn from(d: Decision) -> Self {
        CheckResult { allowed: d.allowed, basis: d.basis.into(), since: d.since }
    }
}

/// `?person_id=&purpose=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// The person (one kluis does not know has given no consent).
    pub person_id: String,
    /// Purpose key.
    pub purpose: String,
}

/// One pair of a batch check.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckPair {
    /// The person.
    pub person_id: String,
    /// Purpose key.
    pub purpose: String,
}

/// Up to 1000 pairs, answered in order in one call.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct BatchCheck {
    /// 1 to 1000 pairs.
    #[validate(length(min = 1, max = 1000, message = "must hold 1 to 1000 pairs"))]
    pub checks: Vec<CheckPair>,
}

/// The answer for one pair of a batch.
#[derive(Serialize, ToSchema)]
pub struct BatchItem {
    /// The person asked about.
    pub person_id: String,
    /// The purpose asked about.
    pub purpose: String,
    /// Whether processing is allowed now.
    pub allowed: bool,
    /// The purpose's lawful basis.
    pub basis: LegalBasisView,
    /// Since when this answer holds.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<Time>,
}

/// The answers of a batch, in the order asked.
#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    /// One per pair.
    pub results: Vec<BatchItem>,
}

/// `?after=&purpose=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `next_cursor` of the previous page; absent to start at the beginning.
    pub after: Option<String>,
    /// Only events of this purpose.
    pub purpose: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// One change in the feed: no proof, only what a processor needs.
#[derive(Serialize, ToSchema)]
pub struct ChangeView {
    /// Event id.
    pub id: String,
    /// Position in the tenant's ledger: gapless, in commit order.
    pub seq: i64,
    /// The person.
    pub person_id: String,
    /// Purpose key.
    pub purpose: String,
    /// `grant`, `withdraw` or `object`.
    pub action: ActionView,
    /// Where it came from.
    pub source: SourceView,
    /// When the person did it.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Time,
    /// When a grant lapses.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Time>,
}

/// A page of the changes feed.
#[derive(Serialize, ToSchema)]
pub struct ChangesPage {
    /// Events in commit order.
    pub items: Vec<ChangeView>,
    /// Pass back as `after`. Never null: at the end of the feed it is where
    /// to poll from for later changes.
    pub next_cursor: String,
    /// Whether more events are there already.
    pub has_more: bool,
}

/// `?purpose=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// Purpose key: one based on consent (withdrawn) or one the person may object to.
    pub purpose: String,
}

/// A one-click unsubscribe link.
#[derive(Serialize, ToSchema)]
pub struct UnsubscribeLink {
    /// `https://…/v1/unsubscribe/{token}`: put it in `List-Unsubscribe` with
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
    pub url: String,
    /// When it stops working.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Time,
}

/// What a one-click unsubscribe recorded.
#[derive(Serialize, ToSchema)]
pub struct Unsubscribed {
    /// The purpose unsubscribed from.
    pub purpose: String,
    /// `withdraw` (consent) or `object` (other bases).
    pub action: ActionView,
    /// When.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Time,
}

fn audit_action(action: ConsentAction) -> Action {
    match action {
        ConsentAction::Grant => Action::ConsentGrant,
        ConsentAction::Withdraw => Action::ConsentWithdraw,
        ConsentAction::Object => Action::ConsentObject,
    }
}

/// Record a grant, withdrawal or objection for a person, with the caller's
/// truncated IP and user agent as proof. An objection stands against any
/// later grant but the person's own.
#[utoipa::path(
    tag = "consent",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = RecordConsent,
    responses((status = 201, body = ConsentEventView), BodyErrors, NotFound),
    security(("bearer" = ["consent:write"]))
)]
#[post("/v1/people/{person_id}/consents")]
pub async fn record_consent(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<RecordConsent>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentWrite)?;
    body.0.validate()?;
    let person = person_path(path)?;
    let b = body.0;
    let fields = super::present(&[
        ("purpose", true),
        ("action", true),
        ("source", true),
        ("policy_version", b.policy_version.is_some()),
        ("occurred_at", b.occurred_at.is_some()),
        ("expires_at", b.expires_at.is_some()),
    ]);
    let new = NewEvent {
        purpose: b.purpose,
        action: b.action.into(),
        source: b.source.into(),
        policy_version: b.policy_version,
        occurred_at: b.occurred_at,
        expires_at: b.expires_at,
        proof: proof(&req, caller.ip()),
    };
    let ctx = caller.audit()?;
    let actor = caller.actor.clone();
    let event = state
        .write(move |conn| {
            persons::version(conn, &tenant, &person)?;
            let event = ledger::record(conn, &tenant, &person, &actor, &new)?;
            let target = Target::person("consent", &person);
            kluis_audit::record(conn, &ctx, audit_action(event.action), target, &fields, Some(&event.purpose))?;
            Ok(event)
        })
        .await?;
    Ok(HttpResponse::Created().json(ConsentEventView::from(event)))
}

/// A person's current state for every purpose of the tenant.
#[utoipa::path(
    tag = "consent",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = StandingList), AuthErrors, NotFound),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/people/{person_id}/consents")]
pub async fn list_consents(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentRead)?;
    let person = person_path(path)?;
    let target = Target::person("consent", &person);
    let standings = state
        .db(move |conn| {
            persons::version(conn, &tenant, &person)?;
            ledger::standings(conn, &tenant, &person)
        })
        .await?;
    state.audit_reads.read(&caller.audit()?, Action::ConsentRead, target, &["consents"], None).await;
    let items = standings.into_iter().map(StandingView::from).collect();
    Ok(HttpResponse::Ok().json(StandingList { items }))
}

/// A person's ledger events with their proof, oldest first.
#[utoipa::path(
    tag = "consent",
    params(("person_id" = String, Path, description = "Person id"), ListQuery),
    responses((status = 200, body = ConsentEventPage), AuthErrors, NotFound),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/people/{person_id}/consents/history")]
pub async fn consent_history(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentRead)?;
    let person = person_path(path)?;
    let (limit, after) = query.page()?;
    let after = after
        .map(|a| a.parse::<i64>().map_err(|_| ApiError::invalid("cursor", "not a cursor kluis made")))
        .transpose()?;
    let target = Target::person("consent", &person);
    let page = state
        .db(move |conn| {
            persons::version(conn, &tenant, &person)?;
            ledger::history(conn, &tenant, &person, limit, after)
        })
        .await?;
    state.audit_reads.read(&caller.audit()?, Action::ConsentRead, target, &["consent_history"], None).await;
    let page = page.map(ConsentEventView::from);
    Ok(HttpResponse::Ok().json(ConsentEventPage { items: page.items, next_cursor: page.next_cursor }))
}

/// A person id from a query or body: malformed ones are bad input.
fn person_field(id: String, field: impl Into<String>) -> Result<PersonId, ApiError> {
    if kluis_core::ids::is_uuid(&id) { Ok(PersonId(id)) } else { Err(ApiError::invalid(field, "must be a person id")) }
}

/// Count hot-path use per client and day, in place of auditing each call
/// (in memory: a check must not become a write).
fn count(state: &AppState, caller: &Caller, usage: Usage, n: usize) -> Result<(), ApiError> {
    let tenant = caller.actor.tenant.as_ref().ok_or_else(|| ApiError::Internal("no tenant".into()))?;
    let n = i64::try_from(n).map_err(|e| ApiError::Internal(e.to_string()))?;
    state.usage.add(tenant, &caller.actor.id, usage, n);
    Ok(())
}

/// May this person's data be processed for this purpose now? For consent:
/// only with an unexpired grant and no later withdrawal or objection; for
/// other bases: unless an objection stands where the law allows one.
#[utoipa::path(
    tag = "consent",
    params(CheckQuery),
    responses((status = 200, body = CheckResult), AuthErrors),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/consents/check")]
pub async fn check_one(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<CheckQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentRead)?;
    let q = query.into_inner();
    let pairs = [Pair { person: person_field(q.person_id, "person_id")?, purpose: q.purpose }];
    let decisions = state.db(move |conn| check::check(conn, &tenant, &pairs, |_| "purpose".to_owned())).await?;
    count(&state, &caller, Usage::Check, 1)?;
    let decision = decisions.into_iter().next().ok_or_else(|| ApiError::Internal("no decision".into()))?;
    Ok(HttpResponse::Ok().json(CheckResult::from(decision)))
}

/// The same check for up to 1000 person/purpose pairs in one call, answered
/// in order (one read of the current state for all of them).
#[utoipa::path(
    tag = "consent",
    request_body = BatchCheck,
    responses((status = 200, body = BatchResult), BodyErrors),
    security(("bearer" = ["consent:read"]))
)]
#[post("/v1/consents/check")]
pub async fn check_batch(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<BatchCheck>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentRead)?;
    body.0.validate()?;
    let checks = body.0.checks;
    let mut invalid = Vec::new();
    let mut pairs = Vec::with_capacity(checks.len());
    for (i, c) in checks.into_iter().enumerate() {
        match person_field(c.person_id, format!("checks[{i}].person_id")) {
            Ok(person) => pairs.push(Pair { person, purpose: c.purpose }),
            Err(ApiError::Validation(fields)) => invalid.extend(fields),
            Err(other) => return Err(other),
        }
    }
    if !invalid.is_empty() {
        return Err(ApiError::Validation(invalid));
    }
    let (pairs, decisions) = state
        .db(move |conn| {
            let decisions = check::check(conn, &tenant, &pairs, |i| format!("checks[{i}].purpose"))?;
            Ok((pairs, decisions))
        })
        .await?;
    count(&state, &caller, Usage::Check, pairs.len())?;
    let results = pairs
        .into_iter()
        .zip(decisions)
        .map(|(pair, d)| BatchItem {
            person_id: pair.person.0,
            purpose: pair.purpose,
            allowed: d.allowed,
            basis: d.basis.into(),
            since: d.since,
        })
        .collect();
    Ok(HttpResponse::Ok().json(BatchResult { results }))
}

/// The ledger as a feed for processors: events in commit order. Follow it
/// from the start by passing each `next_cursor` back as `after`; every
/// change is seen exactly once, even under concurrent writes.
#[utoipa::path(
    tag = "consent",
    params(ChangesQuery),
    responses((status = 200, body = ChangesPage), AuthErrors),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/consents/changes")]
pub async fn changes(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ChangesQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentRead)?;
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 200"));
    }
    let after = match &q.after {
        None => 0,
        Some(cursor) => Cursor::decode(cursor)
            .and_then(|seq| seq.parse::<i64>().ok())
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| ApiError::invalid("after", "not a cursor kluis made"))?,
    };
    let page = state.db(move |conn| ledger::changes(conn, &tenant, after, q.purpose.as_deref(), limit)).await?;
    count(&state, &caller, Usage::Changes, 1)?;
    let items = page
        .items
        .into_iter()
        .map(|e| ChangeView {
            id: e.id,
            seq: e.seq,
            person_id: e.person_id.0,
            purpose: e.purpose,
            action: e.action.into(),
            source: e.source.into(),
            occurred_at: e.occurred_at,
            expires_at: e.expires_at,
        })
        .collect();
    let next_cursor = Cursor::encode(&page.last_seq.to_string());
    Ok(HttpResponse::Ok().json(ChangesPage { items, next_cursor, has_more: page.has_more }))
}

/// A signed one-click unsubscribe link for a person and purpose, valid for a
/// year, for the `List-Unsubscribe` header of a mailing (RFC 8058).
#[utoipa::path(
    tag = "consent",
    params(("person_id" = String, Path, description = "Person id"), LinkQuery),
    responses((status = 200, body = UnsubscribeLink), AuthErrors, NotFound),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/people/{person_id}/unsubscribe-link")]
pub async fn unsubscribe_link(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentRead)?;
    let person = person_path(path)?;
    let purpose = query.into_inner().purpose;
    // Links carry their expiry in whole seconds.
    let expires_at = kluis_core::time::now() + unsubscribe::LINK_TTL;
    let expires_at = kluis_core::time::from_unix(kluis_core::time::unix(expires_at)).unwrap_or(expires_at);
    let target = Target::person("consent", &person);
    let (token, purpose) = state
        .db(move |conn| {
            persons::version(conn, &tenant, &person)?;
            let token = unsubscribe::issue(conn, &tenant, &person, &purpose, expires_at)?;
            Ok((token, purpose))
        })
        .await?;
    state
        .audit_reads
        .read(&caller.audit()?, Action::UnsubscribeLink, target, &["unsubscribe_link"], Some(&purpose))
        .await;
    let url = format!("{}/v1/unsubscribe/{token}", state.config.issuer.trim_end_matches('/'));
    Ok(HttpResponse::Ok().json(UnsubscribeLink { url, expires_at }))
}

/// What the one-click endpoint found.
enum Outcome {
    Recorded(Box<ConsentEvent>),
    Invalid,
    Expired,
    Used,
    Gone,
}

/// RFC 8058 one-click unsubscribe: no token, the link is the proof. Records
/// a withdrawal (an objection for purposes not based on consent) with source
/// `unsubscribe`, once. An altered link is 400; a used or expired one 410;
/// neither records anything.
#[utoipa::path(
    tag = "consent",
    params(("token" = String, Path, description = "The token of an unsubscribe link")),
    responses((status = 200, body = Unsubscribed), LinkErrors, ServerErrors)
)]
#[post("/v1/unsubscribe/{token}")]
pub async fn one_click_unsubscribe(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = path.into_inner();
    let proof = proof(&req, crate::extract::origin(&req).ip);
    let request_id = crate::middleware::request_id(&req);
    let ip = crate::extract::origin(&req).ip;
    let outcome = state
        .write(move |conn| {
            let token = match unsubscribe::open(conn, &token)? {
                Opened::Valid(token) => token,
                Opened::Invalid => return Ok(Outcome::Invalid),
                Opened::Expired => return Ok(Outcome::Expired),
            };
            match persons::version(conn, &token.tenant, &token.person) {
                Ok(_) => {}
                Err(DomainError::NotFound) => return Ok(Outcome::Gone),
                Err(other) => return Err(other.into()),
            }
            let actor = Actor {
                kind: ActorKind::System,
                id: "unsubscribe".to_owned(),
                tenant: Some(token.tenant.clone()),
                scopes: Vec::new(),
                purposes: Vec::new(),
            };
            match unsubscribe::redeem(conn, &token, &actor, proof)? {
                Redeemed::Recorded(event) => {
                    let ctx = kluis_audit::Context::new(&actor, token.tenant.clone(), request_id, ip);
                    let target = Target::person("consent", &token.person);
                    let fields = ["purpose", "action", "source"];
                    kluis_audit::record(conn, &ctx, audit_action(event.action), target, &fields, Some(&event.purpose))?;
                    Ok(Outcome::Recorded(event))
                }
                Redeemed::Used => Ok(Outcome::Used),
                Redeemed::Gone => Ok(Outcome::Gone),
            }
        })
        .await?;
    match outcome {
        Outcome::Recorded(event) => Ok(HttpResponse::Ok().json(Unsubscribed {
            purpose: event.purpose.clone(),
            action: event.action.into(),
            occurred_at: event.occurred_at,
        })),
        Outcome::Invalid => Err(ApiError::BadRequest {
            code: "invalid_link",
            detail: "this unsubscribe link is not one kluis made, or it was altered".into(),
        }),
        Outcome::Expired => {
            Err(ApiError::Gone { code: "link_expired", detail: "this unsubscribe link has expired".into() })
        }
        Outcome::Used => {
            Err(ApiError::Gone { code: "link_used", detail: "this unsubscribe link was used already".into() })
        }
        Outcome::Gone => Err(ApiError::Gone {
            code: "link_gone",
            detail: "what this unsubscribe link points to no longer exists".into(),
        }),
    }
}

/// Set one's own consent for a purpose.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MyConsent {
    /// `grant`, `withdraw` or `object`. One's own grant also lifts one's own objection.
    pub action: ActionView,
    /// The version of the privacy policy shown (1 or more).
    #[validate(range(min = 1, message = "must be 1 or more"))]
    pub policy_version: Option<i64>,
}

/// One's own standing with every purpose of the tenant.
#[utoipa::path(tag = "me", responses((status = 200, body = StandingList), AuthErrors), security(("bearer" = ["self"])))]
#[get("/v1/me/consents")]
pub async fn my_consents(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let (tenant, person) = caller.person()?;
    let standings = state.db(move |conn| ledger::standings(conn, &tenant, &person)).await?;
    let items = standings.into_iter().map(StandingView::from).collect();
    Ok(HttpResponse::Ok().json(StandingList { items }))
}

/// Grant, withdraw or object for one purpose, as the person: as easy to
/// withdraw as to give, and the only way to lift one's own objection.
#[utoipa::path(
    tag = "me",
    params(("purpose" = String, Path, description = "Purpose key")),
    request_body = MyConsent,
    responses((status = 200, body = ConsentEventView), BodyErrors),
    security(("bearer" = ["self"]))
)]
#[put("/v1/me/consents/{purpose}")]
pub async fn set_my_consent(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<MyConsent>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, person) = caller.person()?;
    body.0.validate()?;
    let new = NewEvent {
        purpose: path.into_inner(),
        action: body.0.action.into(),
        source: Source::OwnData,
        policy_version: body.0.policy_version,
        occurred_at: None,
        expires_at: None,
        proof: proof(&req, caller.ip()),
    };
    let ctx = caller.audit()?;
    let actor = caller.actor.clone();
    let event = state
        .write(move |conn| {
            let event = ledger::record(conn, &tenant, &person, &actor, &new)?;
            let target = Target::person("consent", &person);
            kluis_audit::record(
                conn,
                &ctx,
                audit_action(event.action),
                target,
                &["purpose", "action"],
                Some(&event.purpose),
            )?;
            Ok(event)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ConsentEventView::from(event)))
}
