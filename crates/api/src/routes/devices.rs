//! Devices (`devices:read` / `devices:write`; a person's own are under
//! `/v1/me`, in `me/devices.rs`) and visit statistics.

use actix_web::{HttpResponse, delete, get, post, web};
use kluis_app::visits::Visit;
use kluis_core::{PersonId, Scope};
use kluis_devices::Device;
use kluis_devices::visits::{Count, Granularity};
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

impl From<Vec<Device>> for DeviceList {
    fn from(items: Vec<Device>) -> Self {
        DeviceList { items: items.into_iter().map(DeviceView::from).collect() }
    }
}

/// A person's devices.
#[utoipa::path(
    tag = "devices",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = DeviceList, description = "The devices"), AuthErrors, NotFound),
    security(("bearer" = ["devices:read"]))
)]
#[get("/v1/people/{person_id}/devices")]
pub async fn list_devices(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::DevicesRead)?;
    let person = path.into_inner();
    check_id(&person)?;
    let items = kluis_app::devices::list(&state.app, &scoped, PersonId(person)).await?;
    Ok(HttpResponse::Ok().json(DeviceList::from(items)))
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
    let scoped = caller.scoped(Scope::DevicesWrite)?;
    let (person, id) = path.into_inner();
    check_id(&person)?;
    check_id(&id)?;
    kluis_app::devices::remove(&state.app, &scoped, PersonId(person), id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A page view to count.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct VisitIn {
    /// The path viewed, e.g. `/pricing` (a query string is dropped: it can carry personal data).
    #[validate(length(min = 1, max = 2048, message = "must be 1 to 2048 characters"))]
    #[schema(
        min_length = 1,
        max_length = 2048,
        pattern = "^/[^?#\\u0000-\\u001f\\u007f-\\u009f]{0,511}(?:[?#][\\s\\S]*)?$"
    )]
    pub path: String,
    /// Where the visitor came from (checked, not stored).
    #[validate(length(max = 2048, message = "must be at most 2048 characters"))]
    #[schema(
        max_length = 2048,
        pattern = "^$|^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9.-]+|\\[(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\\])(?::[0-9]{1,5})?(?:[/?#][^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)?$"
    )]
    pub referrer: Option<String>,
    /// The visitor's User-Agent (only its browser family is counted).
    #[validate(length(max = 1024, message = "must be at most 1024 characters"))]
    #[schema(max_length = 1024)]
    pub user_agent: Option<String>,
    /// The visitor's IP, when a site's backend reports for them; else the connection's. Truncated before storage.
    #[schema(value_type = Option<crate::contract::IpAddress>)]
    pub ip: Option<String>,
}

impl From<VisitIn> for Visit {
    fn from(b: VisitIn) -> Self {
        Visit { path: b.path, referrer: b.referrer, user_agent: b.user_agent, ip: b.ip }
    }
}

/// Count a page view: the IP is truncated (IPv4 /16, IPv6 /48) before storage; no person, cookie or full address is kept.
#[utoipa::path(tag = "devices", request_body = VisitIn, responses((status = 202, description = "Counted"), BodyErrors), security(("bearer" = ["devices:write"])))]
#[post("/v1/visits")]
pub async fn record_visit(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<VisitIn>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::DevicesWrite)?;
    body.0.validate()?;
    kluis_app::visits::record(&state.app, &scoped, body.0.into()).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// `?from=&to=&granularity=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// First day, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub from: String,
    /// Last day, `YYYY-MM-DD` (inclusive).
    #[param(format = Date)]
    pub to: String,
    /// `day` (default), `week` or `month`.
    #[param(inline, value_type = Option<crate::contract::Granularity>)]
    pub granularity: Option<String>,
}

impl StatsQuery {
    /// The first and last day (at most 3 years apart) and the grouping.
    fn period(&self) -> Result<(time::Date, time::Date, Granularity), ApiError> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let from = time::Date::parse(&self.from, format)
            .map_err(|_| ApiError::invalid("from", "must be a date YYYY-MM-DD"))?;
        let to =
            time::Date::parse(&self.to, format).map_err(|_| ApiError::invalid("to", "must be a date YYYY-MM-DD"))?;
        if to < from || (to - from).whole_days() > 3 * 366 {
            return Err(ApiError::invalid("to", "must be on or after from, within 3 years"));
        }
        let granularity = match self.granularity.as_deref().unwrap_or("day") {
            "day" => Granularity::Day,
            "week" => Granularity::Week,
            "month" => Granularity::Month,
            _ => return Err(ApiError::invalid("granularity", "must be day, week or month")),
        };
        Ok((from, to, granularity))
    }
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

impl From<Vec<Count>> for VisitStats {
    fn from(counts: Vec<Count>) -> Self {
        let total = counts.iter().map(|c| c.visits).sum();
        let items =
            counts.into_iter().map(|c| VisitCount { period: c.period, path: c.path, visits: c.visits }).collect();
        VisitStats { items, total }
    }
}

/// Visits per path and period.
#[utoipa::path(tag = "devices", params(StatsQuery), responses((status = 200, body = VisitStats, description = "Visits per period and path"), AuthErrors), security(("bearer" = ["devices:read"])))]
#[get("/v1/stats/visits")]
pub async fn visit_stats(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::DevicesRead)?;
    let (from, to, granularity) = query.period()?;
    let counts = kluis_app::visits::stats(&state.app, &scoped, from, to, granularity).await?;
    Ok(HttpResponse::Ok().json(VisitStats::from(counts)))
}
