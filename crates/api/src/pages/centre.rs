//! The reference privacy centre: a page where a person signs in and sees,
//! changes, downloads and erases what the tenant keeps about them, served at
//! `/privacy/{tenant_slug}/` once the tenant turns it on (`privacy_centre`).
//!
//! It is a client of the public API like any SPA (`/v1/auth/*`, `/v1/me*`,
//! `/v1/public/{tenant_slug}/*`): plain HTML, one style sheet and one
//! script, built into the binary, no framework, nothing loaded from
//! elsewhere. Its content security policy lets it load only its own files
//! and talk only to its own origin. Dutch or English, by the browser.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::escape;
use crate::error::ApiError;
use crate::extract::RequestOrigin;
use crate::state::AppState;

const INDEX: &str = include_str!("centre/index.html");
const SCRIPT: &str = include_str!("centre/centre.js");
const STYLE: &str = include_str!("centre/centre.css");

/// Where the centre's script and style sheet are served: `_` is no slug's
/// character, so no tenant's page can be shadowed.
const ASSETS: &str = "/privacy/_";

/// The centre's content security policy: its own script and style sheet,
/// requests to its own origin only (the API), no frames, no plug-ins.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Register the centre's routes on the app (they are pages, not part of the
/// API's contract).
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Each answers GET (and HEAD); any other method is 405 with `Allow`.
    macro_rules! get_only {
        ($path:expr, $handler:expr) => {
            web::resource($path)
                .route(web::get().to($handler))
                .route(web::head().to($handler))
                .default_service(web::to(not_allowed))
        };
    }
    cfg.service(get_only!(format!("{ASSETS}/centre.js"), script))
        .service(get_only!(format!("{ASSETS}/centre.css"), style))
        .service(get_only!("/privacy/{tenant_slug}/", index))
        .service(get_only!("/privacy/{tenant_slug}", with_slash));
}

async fn not_allowed(req: HttpRequest) -> HttpResponse {
    crate::methods::not_allowed(req.method(), "GET, HEAD")
}

/// The page of one tenant: its name and slug filled in (escaped); 404 unless
/// the tenant is active and has its centre on.
async fn index(
    state: web::Data<AppState>,
    origin: RequestOrigin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = kluis_app::tenants::privacy_centre(&state.app, &origin.0, path.into_inner()).await?;
    let html =
        INDEX.replace("{{tenant_name}}", &escape(&tenant.name)).replace("{{tenant_slug}}", &escape(&tenant.slug));
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}

/// `/privacy/{slug}` → `/privacy/{slug}/`, where the page's relative links
/// work; only for what could be a slug.
async fn with_slash(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let slug = path.into_inner();
    let plausible = (1..=63).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !plausible {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::build(StatusCode::PERMANENT_REDIRECT)
        .insert_header((header::LOCATION, format!("{slug}/")))
        .finish())
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body)
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_files_and_has_its_placeholders() {
        assert!(INDEX.contains("{{tenant_name}}") && INDEX.contains("{{tenant_slug}}"));
        assert!(INDEX.contains("src=\"../_/centre.js\"") && INDEX.contains("href=\"../_/centre.css\""));
        for text in [INDEX, SCRIPT, STYLE] {
            assert!(!text.contains("http://") && !text.contains("https://"), "nothing from elsewhere");
        }
        assert!(!INDEX.contains("<script>") && !INDEX.contains("style="), "no inline script or style");
        assert!(CSP.contains("script-src 'self'") && !CSP.contains("unsafe"));
    }
}
