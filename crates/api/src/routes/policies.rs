//! Policy documents and acceptances. Publishing a version of the terms,
//! privacy or cookie policy (`consent:write`) stamps its number, time and
//! whether it is a material change; the public endpoints serve the current
//! and archived texts without a token. An acceptance records which version
//! a person accepted, when and from where; after a material change their
//! re-acceptance is due.

use std::collections::BTreeMap;

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, get, post, web};
use kluis_consent::{Acceptance, NewAcceptance, NewPolicyVersion, PolicyKind, PolicyVersion, Proof};
use kluis_core::Scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::consent::{ClientSourceView, SourceView};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, NotFound, RateLimited, ServerErrors};
use crate::extract::{ConsentProof, Json, RequestOrigin};
use crate::routes::person_path;
use crate::state::AppState;

type Time = time::PrimitiveDateTime;

/// How long a public policy text may be cached.
const PUBLIC_CACHE: &str = "public, max-age=300";

/// A kind of policy document.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKindView {
    /// Terms and conditions.
    Terms,
    /// Privacy policy.
    Privacy,
    /// Cookie policy.
    Cookies,
}

impl From<PolicyKindView> for PolicyKind {
    fn from(k: PolicyKindView) -> Self {
        match k {
            PolicyKindView::Terms => PolicyKind::Terms,
            PolicyKindView::Privacy => PolicyKind::Privacy,
            PolicyKindView::Cookies => PolicyKind::Cookies,
        }
    }
}

impl From<PolicyKind> for PolicyKindView {
    fn from(k: PolicyKind) -> Self {
        match k {
            PolicyKind::Terms => PolicyKindView::Terms,
            PolicyKind::Privacy => PolicyKindView::Privacy,
            PolicyKind::Cookies => PolicyKindView::Cookies,
        }
    }
}

/// A published version of a policy document, with its text.
#[derive(Serialize, ToSchema)]
pub struct PolicyVersionView {
    /// `terms`, `privacy` or `cookies`.
    pub kind: PolicyKindView,
    /// 1, 2, ... per kind.
    pub version: i64,
    /// Title.
    pub title: String,
    /// The text.
    pub body: String,
    /// Whether people must accept it again.
    pub material: bool,
    /// When it was published.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub published_at: Time,
}

impl From<PolicyVersion> for PolicyVersionView {
    fn from(v: PolicyVersion) -> Self {
        PolicyVersionView {
            kind: v.kind.into(),
            version: v.version,
            title: v.title,
            body: v.body,
            material: v.material,
            published_at: v.published_at,
        }
    }
}

/// A published version without its text, for lists.
#[derive(Serialize, ToSchema)]
pub struct PolicySummary {
    /// `terms`, `privacy` or `cookies`.
    pub kind: PolicyKindView,
    /// 1, 2, ...
    pub version: i64,
    /// Title.
    pub title: String,
    /// Whether people must accept it again.
    pub material: bool,
    /// When it was published.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub published_at: Time,
}

impl From<PolicyVersion> for PolicySummary {
    fn from(v: PolicyVersion) -> Self {
        PolicySummary {
            kind: v.kind.into(),
            version: v.version,
            title: v.title,
            material: v.material,
            published_at: v.published_at,
        }
    }
}

/// Every published version of a kind.
#[derive(Serialize, ToSchema)]
pub struct PolicyVersionList {
    /// Oldest first; the last is current.
    pub items: Vec<PolicySummary>,
}

/// Publish the next version of a policy document.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PublishPolicy {
    /// Title, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub title: String,
    /// The text (Markdown or plain), 1 to 100000 characters.
    #[validate(length(min = 1, max = 100000, message = "must be 1 to 100000 characters"))]
    #[schema(
        min_length = 1,
        max_length = 100000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub body: String,
    /// True when people who accepted an earlier version must accept this one.
    #[serde(default)]
    pub material: bool,
}

/// Record that a person accepted a published version.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RecordAcceptance {
    /// `terms`, `privacy` or `cookies`.
    pub kind: PolicyKindView,
    /// A published version of that kind.
    #[validate(range(min = 1, message = "must be 1 or more"))]
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::contract::integer")]
    pub version: i64,
    /// `web`, `app`, `import` or `admin`.
    pub source: ClientSourceView,
}

/// A person's acceptance of a policy version.
#[derive(Serialize, ToSchema)]
pub struct AcceptanceView {
    /// Acceptance id.
    pub id: String,
    /// `terms`, `privacy` or `cookies`.
    pub kind: PolicyKindView,
    /// The version accepted.
    pub version: i64,
    /// Where it came from.
    pub source: SourceView,
    /// The recording caller's IP, truncated (IPv4 /16, IPv6 /48).
    pub ip_prefix: Option<String>,
    /// The recording caller's user agent.
    pub user_agent: Option<String>,
    /// When.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub accepted_at: Time,
}

impl From<Acceptance> for AcceptanceView {
    fn from(a: Acceptance) -> Self {
        AcceptanceView {
            id: a.id,
            kind: a.kind.into(),
            version: a.version,
            source: a.source.into(),
            ip_prefix: a.ip_prefix,
            user_agent: a.user_agent,
            accepted_at: a.accepted_at,
        }
    }
}

/// Where a person stands with one kind of document.
#[derive(Serialize, ToSchema)]
pub struct PolicyStandingView {
    /// `terms`, `privacy` or `cookies`.
    pub kind: PolicyKindView,
    /// The newest version they accepted.
    pub accepted_version: Option<i64>,
    /// The current published version.
    pub current_version: Option<i64>,
    /// True when a material version newer than the accepted one was published.
    pub reacceptance_due: bool,
}

impl From<kluis_consent::PolicyStanding> for PolicyStandingView {
    fn from(s: kluis_consent::PolicyStanding) -> Self {
        PolicyStandingView {
            kind: s.kind.into(),
            accepted_version: s.accepted_version,
            current_version: s.current_version,
            reacceptance_due: s.reacceptance_due,
        }
    }
}

/// A person's acceptances and, per kind, whether re-acceptance is due.
#[derive(Serialize, ToSchema)]
pub struct AcceptanceList {
    /// Oldest first.
    pub items: Vec<AcceptanceView>,
    /// Per kind (`terms`, `privacy`, `cookies`): true when a material version
    /// newer than the one the person accepted exists.
    pub reacceptance_due: BTreeMap<String, bool>,
    /// Per kind: accepted and current versions.
    pub policies: Vec<PolicyStandingView>,
}

impl From<PublishPolicy> for NewPolicyVersion {
    fn from(p: PublishPolicy) -> Self {
        NewPolicyVersion { title: p.title, body: p.body, material: p.material }
    }
}

impl RecordAcceptance {
    /// The acceptance to record, with the proof of the request that asks for it.
    fn with_proof(self, proof: Proof) -> NewAcceptance {
        NewAcceptance { kind: self.kind.into(), version: self.version, source: self.source.into(), proof }
    }
}

impl From<Vec<PolicyVersion>> for PolicyVersionList {
    fn from(versions: Vec<PolicyVersion>) -> Self {
        PolicyVersionList { items: versions.into_iter().map(PolicySummary::from).collect() }
    }
}

/// Publish the next version of the terms, privacy or cookie policy.
#[utoipa::path(
    tag = "policies",
    params(("kind" = PolicyKindView, Path, description = "`terms`, `privacy` or `cookies`")),
    request_body = PublishPolicy,
    responses((status = 201, body = PolicyVersionView, description = "Created: the policy version"), BodyErrors, NotFound),
    security(("bearer" = ["consent:write"]))
)]
#[post("/v1/policies/{kind}/versions")]
pub async fn publish_policy(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<PolicyKindView>,
    body: Json<PublishPolicy>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentWrite)?;
    body.0.validate()?;
    let kind = PolicyKind::from(path.into_inner());
    let published = kluis_app::policies::publish(&state.app, &scoped, kind, body.0.into()).await?;
    Ok(HttpResponse::Created().json(PolicyVersionView::from(published)))
}

/// Every published version of a kind, oldest first.
#[utoipa::path(
    tag = "policies",
    params(("kind" = PolicyKindView, Path, description = "`terms`, `privacy` or `cookies`")),
    responses((status = 200, body = PolicyVersionList, description = "The policy versions, newest first"), AuthErrors, NotFound),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/policies/{kind}/versions")]
pub async fn list_policy_versions(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<PolicyKindView>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    let kind = PolicyKind::from(path.into_inner());
    let versions = kluis_app::policies::versions(&state.app, &scoped, kind).await?;
    Ok(HttpResponse::Ok().json(PolicyVersionList::from(versions)))
}

/// The current version of a tenant's policy document, for anyone (no token;
/// rate-limited per client IP, like the other public reads).
#[utoipa::path(
    tag = "policies",
    params(
        ("tenant_slug" = String, Path, description = "The tenant's slug"),
        ("kind" = PolicyKindView, Path, description = "`terms`, `privacy` or `cookies`"),
    ),
    responses((status = 200, body = PolicyVersionView, description = "The policy version"), NotFound, RateLimited, ServerErrors)
)]
#[get("/v1/public/{tenant_slug}/policies/{kind}")]
pub async fn public_current_policy(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    path: web::Path<(String, PolicyKindView)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, kind) = path.into_inner();
    let current = kluis_app::policies::public_current(&state.app, &origin.0, slug, kind.into()).await?;
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, PUBLIC_CACHE)).json(PolicyVersionView::from(current)))
}

/// Every published version of a tenant's policy document (no token).
#[utoipa::path(
    tag = "policies",
    params(
        ("tenant_slug" = String, Path, description = "The tenant's slug"),
        ("kind" = PolicyKindView, Path, description = "`terms`, `privacy` or `cookies`"),
    ),
    responses((status = 200, body = PolicyVersionList, description = "The policy versions, newest first"), NotFound, RateLimited, ServerErrors)
)]
#[get("/v1/public/{tenant_slug}/policies/{kind}/versions")]
pub async fn public_policy_versions(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    path: web::Path<(String, PolicyKindView)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, kind) = path.into_inner();
    let versions = kluis_app::policies::public_versions(&state.app, &origin.0, slug, kind.into()).await?;
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, PUBLIC_CACHE)).json(PolicyVersionList::from(versions)))
}

/// One version of a tenant's policy document, current or archived (no token).
#[utoipa::path(
    tag = "policies",
    params(
        ("tenant_slug" = String, Path, description = "The tenant's slug"),
        ("kind" = PolicyKindView, Path, description = "`terms`, `privacy` or `cookies`"),
        ("version" = i64, Path, description = "Version number"),
    ),
    responses((status = 200, body = PolicyVersionView, description = "The policy version"), NotFound, RateLimited, ServerErrors)
)]
#[get("/v1/public/{tenant_slug}/policies/{kind}/versions/{version}")]
pub async fn public_policy_version(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    path: web::Path<(String, PolicyKindView, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, kind, version) = path.into_inner();
    let found = kluis_app::policies::public_version(&state.app, &origin.0, slug, kind.into(), version).await?;
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, PUBLIC_CACHE)).json(PolicyVersionView::from(found)))
}

/// Record that a person accepted a published version, with the caller's
/// truncated IP and user agent as proof.
#[utoipa::path(
    tag = "policies",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = RecordAcceptance,
    responses((status = 201, body = AcceptanceView, description = "Created: the recorded acceptance"), BodyErrors, NotFound),
    security(("bearer" = ["consent:write"]))
)]
#[post("/v1/people/{person_id}/acceptances")]
pub async fn record_acceptance(
    state: web::Data<AppState>,
    caller: Caller,
    proof: ConsentProof,
    path: web::Path<String>,
    body: Json<RecordAcceptance>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentWrite)?;
    body.0.validate()?;
    let person = person_path(path)?;
    let new = body.0.with_proof(proof.0);
    let acceptance = kluis_app::policies::accept(&state.app, &scoped, person, new).await?;
    Ok(HttpResponse::Created().json(AcceptanceView::from(acceptance)))
}

/// A person's acceptances and whether re-acceptance is due per kind.
#[utoipa::path(
    tag = "policies",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = AcceptanceList, description = "The acceptances, newest first"), AuthErrors, NotFound),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/people/{person_id}/acceptances")]
pub async fn list_acceptances(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    let person = person_path(path)?;
    let found = kluis_app::policies::acceptances(&state.app, &scoped, person).await?;
    let reacceptance_due = found.standings.iter().map(|s| (s.kind.as_str().to_owned(), s.reacceptance_due)).collect();
    Ok(HttpResponse::Ok().json(AcceptanceList {
        items: found.items.into_iter().map(AcceptanceView::from).collect(),
        reacceptance_due,
        policies: found.standings.into_iter().map(PolicyStandingView::from).collect(),
    }))
}
