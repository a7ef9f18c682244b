//! Operations endpoints: liveness, readiness, metrics and the JWKS.

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::{HttpResponse, get, web};
use kluis_store::tenancy::keys::PublicKey;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// Health answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the status is 200.
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health, description = "Healthy")))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database answers and every migration is applied.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Health, description = "Healthy"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "Database unreachable or migrations pending"),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    kluis_app::operations::ready(&state.app).await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(
    tag = "operations",
    responses((
        status = 200,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8",
        body = String,
        description = "Requests by route pattern and status, latency, the connection pool"
    ))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(&state.app))
}

/// A JSON Web Key (Ed25519 public key).
#[derive(Serialize, ToSchema)]
pub struct Jwk {
    /// Key type: `OKP`.
    pub kty: &'static str,
    /// Curve: `Ed25519`.
    pub crv: &'static str,
    /// The public key, base64url.
    pub x: String,
    /// Key id, as in token headers.
    pub kid: String,
    /// `EdDSA`.
    pub alg: &'static str,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
}

impl From<PublicKey> for Jwk {
    fn from(k: PublicKey) -> Self {
        Jwk { kty: "OKP", crv: "Ed25519", x: k.x(), kid: k.kid, alg: "EdDSA", use_: "sig" }
    }
}

/// The published key set.
#[derive(Serialize, ToSchema)]
pub struct Jwks {
    /// Current key first, then retired keys whose tokens may still be alive.
    pub keys: Vec<Jwk>,
}

/// The public keys that verify kluis access tokens.
#[utoipa::path(
    tag = "tokens",
    responses((status = 200, body = Jwks, description = "The key set"), (status = 503, body = Problem, content_type = "application/problem+json", description = "Database unavailable"))
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let keys = kluis_app::operations::jwks(&state.app).await?.into_iter().map(Jwk::from).collect();
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::Public, CacheDirective::MaxAge(60)]))
        .insert_header(ContentType::json())
        .json(Jwks { keys }))
}
