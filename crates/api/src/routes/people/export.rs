//! A person's export (Art. 15/20, `people:read`): everything kept about them
//! and what they must be told, as one JSON document or, with
//! `Accept: application/zip` or `?format=zip`, a ZIP of that document and
//! one CSV per table. Never cached. Shared with `GET /v1/me/export`.

use actix_web::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, get, web};
use kluis_app::export::Document;
use kluis_core::Scope;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, NotFound};
use crate::routes::person_id;
use crate::state::AppState;

/// The form of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// One JSON document.
    Json,
    /// A ZIP: `export.json` and a CSV per table.
    Zip,
}

/// `?format=` of an export.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (default) or `zip`; `Accept: application/zip` asks for the ZIP too.
    #[param(value_type = Option<ExportFormat>)]
    pub format: Option<String>,
}

impl ExportQuery {
    /// The format asked by `?format=`, if any; anything else is a 422 naming it.
    fn format(&self) -> Result<Option<ExportFormat>, ApiError> {
        match self.format.as_deref() {
            None => Ok(None),
            Some("json") => Ok(Some(ExportFormat::Json)),
            Some("zip") => Ok(Some(ExportFormat::Zip)),
            Some(_) => Err(ApiError::invalid("format", "must be `json` or `zip`")),
        }
    }
}

/// An export, as JSON. `data` holds the person's rows per table; `information`
/// what Art. 15(1) GDPR says they must be told.
#[derive(ToSchema)]
#[schema(as = PersonExport)]
pub struct ExportSchema {
    /// `kluis.export.v1`.
    pub format: String,
    /// When it was made (RFC 3339).
    pub generated_at: String,
    /// The person.
    pub person_id: String,
    /// `nl` or `en`: the language of the texts (the person's language).
    pub language: String,
    /// Table name to the person's rows in it (secrets left out).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// `controller`, `purposes` (with legal basis and retention),
    /// `recipients` (transfers outside the EEA flagged, with their
    /// safeguard), `retention` (periods per category), `sources` and `rights`.
    #[schema(value_type = Object)]
    pub information: serde_json::Value,
}

fn wants_zip(req: &HttpRequest, query: &ExportQuery) -> Result<bool, ApiError> {
    Ok(match query.format()? {
        Some(format) => format == ExportFormat::Zip,
        None => req
            .headers()
            .get_all(ACCEPT)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|range| range.split(';').next().is_some_and(|e| e.trim().eq_ignore_ascii_case("application/zip"))),
    })
}

/// The response for an export in the form asked: never stored by a cache.
pub(crate) fn respond(document: &Document, zip: bool) -> Result<HttpResponse, ApiError> {
    let mut response = HttpResponse::Ok();
    response.insert_header((CACHE_CONTROL, "no-store"));
    if !zip {
        return Ok(response.json(&document.0));
    }
    let bytes = document.zip()?;
    Ok(response
        .insert_header((CONTENT_TYPE, "application/zip"))
        .insert_header((CONTENT_DISPOSITION, "attachment; filename=\"export.zip\""))
        .body(bytes))
}

/// Everything kept about a person, and what they must be told (Art. 15/20).
/// Audited as `person.export`.
#[utoipa::path(
    tag = "lifecycle",
    params(("person_id" = String, Path, description = "Person id"), ExportQuery),
    responses(
        (status = 200, description = "The export: JSON, or a ZIP of the JSON and one CSV per table", headers(("Cache-Control" = String, description = "no-store")), content(
            (ExportSchema = "application/json"),
            (Vec<u8> = "application/zip"),
        )),
        AuthErrors,
        NotFound,
    ),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/people/{person_id}/export")]
pub async fn export_person(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ExportQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleRead)?;
    let zip = wants_zip(&req, &query)?;
    let person = person_id(path.into_inner())?;
    let document = kluis_app::export::person(&state.app, &scoped, person).await?;
    respond(&document, zip)
}

/// One's own export: everything kept about oneself, and one's rights.
#[utoipa::path(
    tag = "me",
    params(ExportQuery),
    responses(
        (status = 200, description = "Your export: JSON, or a ZIP of the JSON and one CSV per table", headers(("Cache-Control" = String, description = "no-store")), content(
            (ExportSchema = "application/json"),
            (Vec<u8> = "application/zip"),
        )),
        AuthErrors,
        NotFound,
    ),
    security(("bearer" = ["self"]))
)]
#[get("/v1/me/export")]
pub async fn my_export(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ExportQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let zip = wants_zip(&req, &query)?;
    let document = kluis_app::export::own(&state.app, &caller).await?;
    respond(&document, zip)
}
