//! A signed-in person's own devices (`self`).

use actix_web::{HttpResponse, delete, get, web};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, NotFound};
use crate::routes::check_id;
use crate::routes::devices::DeviceList;
use crate::state::AppState;

/// One's own devices.
#[utoipa::path(tag = "me", responses((status = 200, body = DeviceList, description = "The devices"), AuthErrors), security(("bearer" = ["self"])))]
#[get("/v1/me/devices")]
pub async fn my_devices(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let items = kluis_app::devices::list_mine(&state.app, &caller).await?;
    Ok(HttpResponse::Ok().json(DeviceList::from(items)))
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
    caller.person()?;
    let id = path.into_inner();
    check_id(&id)?;
    kluis_app::devices::remove_mine(&state.app, &caller, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
