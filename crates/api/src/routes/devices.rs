//! Devices (`devices:read` / `devices:write`, and a person's own under
//! `/v1/me`) and visit statistics.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use kluis_audit::{Action, Target};
use kluis_core::{PersonId, Scope, TenantId};
use kluis_devices::visits::{self, Granularity};
use kluis_devices::{Device, devices};
use kluis_people::accounts::sessions;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::check_id;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, NotFound};
use crate::extract::Json;
use crate::state::AppState;

/// What kind of device this is, as far as can be told.
#[derive(Serialize, ToSchema)]
pub struct EstimateView {
    /// Browser family.
    pub browser: Option<String>,
    /// Browser version.
    pub browser_version: Option<String>,
    /// OS family.
    pub os: Option<String>,
    /// OS version.
    pub os_version: Option<String>,
    /// `desktop`, `mobile`, `tablet`, `bot` or `other`.
    pub device_type: String,
    /// Device vendor.
    pub vendor: Option<String>,
    /// Device model.
    pub model: Option<String>,
}

/// A screen size.
#[derive(Serialize, ToSchema)]
pub struct ScreenView {
    /// Width in CSS pixels.
    pub width: i64,
    /// Height in CSS pixels.
    pub height: i64,
}

/// A device a person signs in from.
#[derive(Serialize, ToSchema)]
pub struct DeviceView {
    /// Device id.
    pub id: String,
    /// The last IP it signed in from (kept whole: it serves account security).
    pub ip: Option<String>,
    /// The last User-Agent.
    pub user_agent: Option<String>,
    /// The last `Sec-CH-UA*` hints.
    #[schema(value_type = Option<Object>)]
    pub client_hints: Option<kluis_devices::ClientHints>,
    /// Screen size.
    pub screen: Option<ScreenView>,
    /// Device language.
    pub language: Option<String>,
    /// The estimate.
    pub estimate: EstimateView,
    /// First sign-in.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen_at: time::PrimitiveDateTime,
    /// Last sign-in.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_login_at: time::PrimitiveDateTime,
    /// Last activity (written at most once a minute).
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_activity_at: time::PrimitiveDateTime,
}

impl From<Device> for DeviceView {
    fn from(d: Device) -> Self {
        DeviceView {
            id: d.id,
            ip: d.ip,
            user_agent: d.user_agent,
            client_hints: d.client_hints,
            screen: d.screen.map(|(width, height)| ScreenView { width, height }),
            language: d.language,
            estimate: EstimateView {
                browser: d.estimate.browser,
                browser_version: d.estimate.browser_version,
                os: d.estimate.os,
                os_version: d.estimate.os_version,
                device_type: d.estimate.device_type,
                vendor: d.estimate.vendor,
                model: d.estimate.model,
            },
            first_seen_at: d.first_seen_at,
            last_login_at: d.last_login_at,
            last_activity_at: d.last_activity_at,
        }
    }
}

/// A person's devices.
#[derive(Serialize, ToSchema)]
pub struct DeviceList {
    /// Most recently signed in first.
    pub items: Vec<DeviceView>,
}

async fn list_for(state: &web::Data<AppState>, tenant: TenantId, person: PersonId) -> Result<DeviceList, ApiError> {
    let items = state
        .db(move |conn| {
            kluis_people::persons::version(conn, &tenant, &person)?;
            devices::list(conn, &tenant, &person)
        })
        .await?;
    Ok(DeviceList { items: items.into_iter().map(DeviceView::from).collect() })
}

async fn remove(
    state: &web::Data<AppState>,
    caller: &Caller,
    tenant: TenantId,
    person: PersonId,
    id: String,
) -> Result<HttpResponse, ApiError> {
    check_id(&id)?;
    let ctx = caller.audit()?;
    state
        .write(move |conn| {
            devices::remove(conn, &tenant, &person, &id)?;
            sessions::revoke_device(conn, &tenant, &person, &id)?;
            kluis_audit::record(conn, &ctx, Action::DeviceRemoved, Target::person("device", &person), &[], None)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A person's devices.
#[utoipa::path(
    tag = "devices",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = DeviceList), AuthErrors, NotFound),
    security(("bearer" = ["devices:read"]))
)]
#[get("/v1/people/{person_id}/devices")]
pub async fn list_devices(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::DevicesRead)?;
    let person = path.into_inner();
    check_id(&person)?;
    let person = PersonId(person);
    let list = list_for(&state, tenant, person.clone()).await?;
    state
        .audit_reads
        .read(&caller.audit()?, Action::PersonRead, Target::person("device", &person), &["devices"], None)
        .await;
    Ok(HttpResponse::Ok().json(list))
}

/// Remove a person's device; its sessions end.
#[utoipa::path(
    tag = "devices",
    params(("person_id" = String, Path, description = "Person id"), ("device_id" = String, Path, description = "Device id")),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound),
    security(("bearer" = ["devices:write"]))
)]
#[delete("/v1/people/{person_id}/devices/{device_id}")]
pub async fn delete_device(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::DevicesWrite)?;
    let (person, id) = path.into_inner();
    check_id(&person)?;
    remove(&state, &caller, tenant, PersonId(person), id).await
}

/// One's own devices.
#[utoipa::path(tag = "me", responses((status = 200, body = DeviceList), AuthErrors), security(("bearer" = ["self"])))]
#[get("/v1/me/devices")]
pub async fn my_devices(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let (tenant, person) = caller.person()?;
    Ok(HttpResponse::Ok().json(list_for(&state, tenant, person).await?))
}

/// Remove one of one's own devices; its sessions end.
#[utoipa::path(
    tag = "me",
    params(("device_id" = String, Path, description = "Device id")),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound),
    security(("bearer" = ["self"]))
)]
#[delete("/v1/me/devices/{device_id}")]
pub async fn delete_my_device(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, person) = caller.person()?;
    remove(&state, &caller, tenant, person, path.into_inner()).await
}

/// A page view to count.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct VisitIn {
    /// The path viewed, e.g. `/pricing` (a query string is dropped: it can carry personal data).
    #[validate(length(min = 1, max = 2048, message = "must be 1 to 2048 characters"))]
    pub path: String,
    /// Where the visitor came from (checked, not stored).
    #[validate(length(max = 2048, message = "must be at most 2048 characters"))]
    pub referrer: Option<String>,
    /// The visitor's User-Agent (only its browser family is counted).
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    pub user_agent: Option<String>,
    /// The visitor's IP, when a site's backend reports for them; else the connection's. Truncated before storage.
    pub ip: Option<String>,
}

/// Count a page view: the IP is truncated (IPv4 /16, IPv6 /48) before storage; no person, cookie or full address is kept.
#[utoipa::path(tag = "devices", request_body = VisitIn, responses((status = 202, description = "Counted"), BodyErrors), security(("bearer" = ["devices:write"])))]
#[post("/v1/visits")]
pub async fn record_visit(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Json<VisitIn>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::DevicesWrite)?;
    body.0.validate()?;
    let b = body.0;
    let ip = match b.ip.as_deref() {
        Some(text) => text.trim().parse().map_err(|_| ApiError::invalid("ip", "must be an IPv4 or IPv6 address"))?,
        None => crate::extract::origin(&req).ip.ok_or_else(|| ApiError::invalid("ip", "no client address known"))?,
    };
    if let Some(referrer) = &b.referrer
        && !referrer.is_empty()
        && !kluis_core::validate::is_http_url(referrer)
    {
        return Err(ApiError::invalid("referrer", "must be an http or https URL"));
    }
    let day = time::OffsetDateTime::now_utc().date();
    state.write(move |conn| Ok(visits::record(conn, &tenant, &b.path, b.user_agent.as_deref(), ip, day)?)).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// `?from=&to=&granularity=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD` (inclusive).
    pub to: String,
    /// `day` (default), `week` or `month`.
    pub granularity: Option<String>,
}

/// Visits of one path in one period.
#[derive(Serialize, ToSchema)]
pub struct VisitCount {
    /// `2026-11-22`, `2026-W47` or `2026-11`.
    pub period: String,
    /// The path.
    pub path: String,
    /// Visits.
    pub visits: i64,
}

/// Visit statistics.
#[derive(Serialize, ToSchema)]
pub struct VisitStats {
    /// Per period and path.
    pub items: Vec<VisitCount>,
    /// All visits in the range.
    pub total: i64,
}

/// Visits per path and period.
#[utoipa::path(tag = "devices", params(StatsQuery), responses((status = 200, body = VisitStats), AuthErrors), security(("bearer" = ["devices:read"])))]
#[get("/v1/stats/visits")]
pub async fn visit_stats(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::DevicesRead)?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let from =
        time::Date::parse(&query.from, format).map_err(|_| ApiError::invalid("from", "must be a date YYYY-MM-DD"))?;
    let to = time::Date::parse(&query.to, format).map_err(|_| ApiError::invalid("to", "must be a date YYYY-MM-DD"))?;
    if to < from || (to - from).whole_days() > 3 * 366 {
        return Err(ApiError::invalid("to", "must be on or after from, within 3 years"));
    }
    let granularity = match query.granularity.as_deref().unwrap_or("day") {
        "day" => Granularity::Day,
        "week" => Granularity::Week,
        "month" => Granularity::Month,
        _ => return Err(ApiError::invalid("granularity", "must be day, week or month")),
    };
    let counts = state.db(move |conn| visits::stats(conn, &tenant, from, to, granularity)).await?;
    let total = counts.iter().map(|c| c.visits).sum();
    let items = counts.into_iter().map(|c| VisitCount { period: c.period, path: c.path, visits: c.visits }).collect();
    Ok(HttpResponse::Ok().json(VisitStats { items, total }))
}
