//! One's own data-subject requests (`self`): make one, list them, follow
//! one with its history, and download the export of a completed access or
//! portability request once. Where the tenant takes requests only itself,
//! making one is 403 `requests_via_tenant`, naming whom to ask.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use kluis_app::requests::OwnRequest;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, LinkErrors, NotFound};
use crate::extract::{Json, ListQuery};
use crate::routes::people::export::{ExportSchema, respond};
use crate::routes::requests::{KindView, RequestDetail, RequestPage, RequestView};
use crate::routes::{check_id, created, versioned};
use crate::state::AppState;

/// Make a request about one's own data.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MyRequest {
    /// What is asked.
    pub kind: KindView,
    /// What you want us to know (which data is wrong, what you object to): up to 2000 characters.
    #[validate(length(max = 2000, message = "must be at most 2000 characters"))]
    #[schema(max_length = 2000, pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$")]
    pub details: Option<String>,
    /// For an objection: the purpose keys (absent: every purpose that allows one).
    #[validate(length(max = 100, message = "must hold at most 100 purposes"))]
    #[schema(max_items = 100)]
    pub purposes: Option<Vec<String>>,
}

/// Make a request about one's own data (Art. 15-22): verified at once
/// (you are signed in), due one calendar month from today.
#[utoipa::path(
    tag = "me",
    request_body = MyRequest,
    responses((status = 201, body = RequestView, headers(("ETag" = String)), description = "Your request"), BodyErrors),
    security(("bearer" = ["self"]))
)]
#[post("/v1/me/requests")]
pub async fn create_my_request(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<MyRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?; // a person's own token first: 403 before 422
    body.0.validate()?;
    let b = body.0;
    let own = OwnRequest { kind: b.kind.into(), details: b.details, purposes: b.purposes.unwrap_or_default() };
    let request = kluis_app::requests::create_own(&state.app, &caller, own).await?;
    let location = format!("/v1/me/requests/{}", request.id);
    let version = request.version;
    Ok(created(location, version, &RequestView::from(request)))
}

/// One's own requests, oldest first.
#[utoipa::path(
    tag = "me",
    params(ListQuery),
    responses((status = 200, body = RequestPage, description = "Your requests"), AuthErrors),
    security(("bearer" = ["self"]))
)]
#[get("/v1/me/requests")]
pub async fn list_my_requests(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?;
    let (limit, after) = query.page()?;
    let page = kluis_app::requests::list_own(&state.app, &caller, limit, after).await?.map(RequestView::from);
    Ok(HttpResponse::Ok().json(RequestPage { items: page.items, next_cursor: page.next_cursor }))
}

/// One of one's own requests, with what happened to it so far.
#[utoipa::path(
    tag = "me",
    params(("request_id" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestDetail, headers(("ETag" = String)), description = "Your request and its history"), AuthErrors, NotFound),
    security(("bearer" = ["self"]))
)]
#[get("/v1/me/requests/{request_id}")]
pub async fn get_my_request(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?;
    let id = path.into_inner();
    check_id(&id)?;
    let found = kluis_app::requests::get_own(&state.app, &caller, id).await?;
    let version = found.request.version;
    Ok(versioned(StatusCode::OK, version, &RequestDetail::from(found)))
}

/// The export of one's completed access or portability request: once
/// (410 after it was downloaded here or through the mailed link).
#[utoipa::path(
    tag = "me",
    params(("request_id" = String, Path, description = "Request id")),
    responses(
        (status = 200, description = "Your export", headers(("Cache-Control" = String, description = "no-store")), content((ExportSchema = "application/json"))),
        AuthErrors,
        NotFound,
        LinkErrors,
    ),
    security(("bearer" = ["self"]))
)]
#[get("/v1/me/requests/{request_id}/export")]
pub async fn download_my_export(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.person()?;
    let id = path.into_inner();
    check_id(&id)?;
    let document = kluis_app::requests::download_own(&state.app, &caller, id).await?;
    respond(&document, false)
}
