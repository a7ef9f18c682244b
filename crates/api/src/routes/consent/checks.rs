//! The check processors call before every mailing (`/v1/consents/check`),
//! single and batch: the hottest path of the service. One blocking read
//! per call; counted per client and day, not audited one by one.

use actix_web::{HttpResponse, get, post, web};
use kluis_consent::Decision;
use kluis_consent::check::Pair;
use kluis_core::{PersonId, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::Time;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors};
use crate::extract::Json;
use crate::routes::LegalBasisView;
use crate::state::AppState;

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
    /// The person's processing is restricted (Art. 18): not allowed,
    /// whatever the consent, until the restriction is lifted.
    pub restricted: bool,
}

impl From<Decision> for CheckResult {
    fn from(d: Decision) -> Self {
        CheckResult { allowed: d.allowed, basis: d.basis.into(), since: d.since, restricted: d.restricted }
    }
}

/// `?person_id=&purpose=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// The person (one kluis does not know has given no consent).
    #[param(inline, value_type = crate::contract::PersonId)]
    pub person_id: String,
    /// Purpose key.
    #[param(pattern = "^[a-z][a-z0-9_]{1,63}$")]
    pub purpose: String,
}

/// One pair of a batch check.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckPair {
    /// The person.
    #[schema(value_type = crate::contract::PersonId)]
    pub person_id: String,
    /// Purpose key.
    #[schema(pattern = "^[a-z][a-z0-9_]{1,63}$")]
    pub purpose: String,
}

/// Up to 1000 pairs, answered in order in one call.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct BatchCheck {
    /// 1 to 1000 pairs.
    #[validate(length(min = 1, max = 1000, message = "must hold 1 to 1000 pairs"))]
    #[schema(min_items = 1, max_items = 1000)]
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
    /// The person's processing is restricted (Art. 18).
    pub restricted: bool,
}

/// The answers of a batch, in the order asked.
#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    /// One per pair.
    pub results: Vec<BatchItem>,
}

/// A person id from a query or body: malformed ones are bad input.
fn person_field(id: String, field: impl Into<String>) -> Result<PersonId, ApiError> {
    if kluis_core::ids::is_uuid(&id) { Ok(PersonId(id)) } else { Err(ApiError::invalid(field, "must be a person id")) }
}

impl BatchCheck {
    /// The pairs to check, in order; every malformed person id is named.
    fn pairs(self) -> Result<Vec<Pair>, ApiError> {
        let mut invalid = Vec::new();
        let mut pairs = Vec::with_capacity(self.checks.len());
        for (i, c) in self.checks.into_iter().enumerate() {
            match person_field(c.person_id, format!("checks[{i}].person_id")) {
                Ok(person) => pairs.push(Pair { person, purpose: c.purpose }),
                Err(ApiError::Validation(fields)) => invalid.extend(fields),
                Err(other) => return Err(other),
            }
        }
        if invalid.is_empty() { Ok(pairs) } else { Err(ApiError::Validation(invalid)) }
    }
}

/// May this person's data be processed for this purpose now? For consent:
/// only with an unexpired grant and no later withdrawal or objection; for
/// other bases: unless an objection stands where the law allows one.
#[utoipa::path(
    tag = "consent",
    params(CheckQuery),
    responses((status = 200, body = CheckResult, description = "Whether the processing is allowed"), AuthErrors),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/consents/check")]
pub async fn check_one(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<CheckQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    let q = query.into_inner();
    let pair = Pair { person: person_field(q.person_id, "person_id")?, purpose: q.purpose };
    let decision = kluis_app::consent::check_one(&state.app, &scoped, pair).await?;
    Ok(HttpResponse::Ok().json(CheckResult::from(decision)))
}

/// The same check for up to 1000 person/purpose pairs in one call, answered
/// in order (one read of the current state for all of them).
#[utoipa::path(
    tag = "consent",
    request_body = BatchCheck,
    responses((status = 200, body = BatchResult, description = "One answer per pair, in request order"), BodyErrors),
    security(("bearer" = ["consent:read"]))
)]
#[post("/v1/consents/check")]
pub async fn check_batch(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<BatchCheck>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    body.0.validate()?;
    let pairs = body.0.pairs()?;
    let answers = kluis_app::consent::check_batch(&state.app, &scoped, pairs).await?;
    let results = answers
        .map(|(pair, d)| BatchItem {
            person_id: pair.person.0,
            purpose: pair.purpose,
            allowed: d.allowed,
            basis: d.basis.into(),
            since: d.since,
            restricted: d.restricted,
        })
        .collect();
    Ok(HttpResponse::Ok().json(BatchResult { results }))
}
