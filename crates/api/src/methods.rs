//! Requests no route takes: a documented path with a method it does not
//! declare is a 405 naming the methods it does declare in `Allow` (RFC 9110
//! §15.5.6); any other path is a 404. The table is read once from the OpenAPI
//! document the handlers declare, so a route added later is covered by
//! construction.

use actix_web::dev::ResourceDef;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::error::{ApiError, PROBLEM_JSON, Problem};
use crate::state::AppState;

/// The methods, in the order HTTP lists them, that a path item may declare.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every documented route pattern with the methods it declares.
#[derive(Debug, Default)]
pub struct AllowedMethods(Vec<(ResourceDef, String)>);

impl AllowedMethods {
    /// Every path of `doc`, with its declared methods as an `Allow` value.
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> AllowedMethods {
        let doc = serde_json::to_value(doc).unwrap_or_default();
        let paths = doc.get("paths").and_then(|p| p.as_object()).cloned().unwrap_or_default();
        let routes = paths
            .into_iter()
            .map(|(path, item)| {
                let declared: Vec<String> =
                    METHODS.iter().filter(|m| item.get(**m).is_some()).map(|m| m.to_ascii_uppercase()).collect();
                (ResourceDef::new(path), declared.join(", "))
            })
            .collect();
        AllowedMethods(routes)
    }

    /// The `Allow` value of the documented route `path` falls under, if any.
    pub fn allow(&self, path: &str) -> Option<&str> {
        self.0.iter().find(|(def, _)| def.is_match(path)).map(|(_, allow)| allow.as_str())
    }
}

/// The default service: 405 with `Allow` on a documented path, else 404.
pub async fn unrouted(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(allow) = state.allowed_methods.allow(req.path()) else {
        return ApiError::NotFound.error_response();
    };
    not_allowed(req.method(), allow)
}

/// 405 for `method` on a resource that allows `allow` (`GET, HEAD`), with
/// the `Allow` header and a problem+json body.
pub fn not_allowed(method: &actix_web::http::Method, allow: &str) -> HttpResponse {
    let status = StatusCode::METHOD_NOT_ALLOWED;
    let problem = Problem {
        type_: "urn:kluis:problem:method_not_allowed".to_owned(),
        title: "Method not allowed".to_owned(),
        status: status.as_u16(),
        detail: format!("{method} is not a method of this resource; it allows {allow}"),
        code: "method_not_allowed".to_owned(),
        errors: Vec::new(),
        error_id: None,
    };
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
    if let Ok(value) = HeaderValue::from_str(allow) {
        response.insert_header((header::ALLOW, value));
    }
    response.body(serde_json::to_string(&problem).unwrap_or_default())
}
