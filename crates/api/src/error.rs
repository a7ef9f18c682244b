//! One error type for every handler, rendered as RFC 9457 problem+json with a
//! stable `code`. Unexpected failures are logged with a short id and the
//! client gets only that id, never the cause.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use kluis_core::{DomainError, FieldError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// `Retry-After` of a 503: about when the pool's background reconnects,
/// which back off up to half the connection timeout, find a database that
/// came back.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// An RFC 9457 problem. `code` is stable and meant for programs; `title` and
/// `detail` are for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:kluis:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong in this request.
    pub detail: String,
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// Per-field errors (validation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// Correlation id of an unexpected failure, to quote to the operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
}

/// One field that broke a rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field, dotted for nested fields (`admin_client.name`, `scopes[2]`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Every error a handler or extractor can answer with.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the body is not well-formed.
    Malformed(String),
    /// 400: a well-formed request that cannot be carried out (a used token).
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Why.
        detail: String,
    },
    /// 401: no token, or a token that is not valid (now).
    Unauthorized {
        /// `missing_token` or `invalid_token`.
        code: &'static str,
        /// Why, in general terms.
        detail: &'static str,
    },
    /// 403: a valid token without the needed scope or role.
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// Why.
        detail: String,
    },
    /// 404: absent or another tenant's (the same answer).
    NotFound,
    /// 409: a unique value is taken.
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Why.
        detail: String,
    },
    /// 410: it existed, but is used up or expired for good.
    Gone {
        /// Stable code.
        code: &'static str,
        /// Why.
        detail: String,
    },
    /// 412: `If-Match` does not match the current version.
    PreconditionFailed,
    /// 413: the body is larger than the limit.
    PayloadTooLarge(usize),
    /// 415: the body is not JSON.
    UnsupportedMediaType(&'static str),
    /// 422: the input breaks rules; per-field errors.
    Validation(Vec<FieldError>),
    /// 429: too many attempts or requests; retry after this many seconds.
    RateLimited(u64),
    /// 503: the database is unreachable or saturated.
    Unavailable,
    /// 500: unexpected; logged with its id.
    Internal(String),
}

impl ApiError {
    /// A 422 for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// A 401 for a token that did not validate.
    pub fn invalid_token() -> Self {
        ApiError::Unauthorized { code: "invalid_token", detail: "the access token is invalid, expired or revoked" }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "malformed_json",
            ApiError::BadRequest { code, .. } => code,
            ApiError::Gone { code, .. } => code,
            ApiError::Unauthorized { code, .. } => code,
            ApiError::Forbidden { code, .. } => code,
            ApiError::NotFound => "not_found",
            ApiError::Conflict { code, .. } => code,
            ApiError::PreconditionFailed => "version_mismatch",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Validation(_) => "validation_failed",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "Malformed request body",
            ApiError::BadRequest { .. } => "Bad request",
            ApiError::Gone { .. } => "Gone",
            ApiError::Unauthorized { .. } => "Unauthorized",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::NotFound => "Not found",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::PreconditionFailed => "Precondition failed",
            ApiError::PayloadTooLarge(_) => "Payload too large",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::Validation(_) => "Validation failed",
            ApiError::RateLimited(_) => "Too many requests",
            ApiError::Unavailable => "Service unavailable",
            ApiError::Internal(_) => "Internal error",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Malformed(why) => format!("the request body is not valid JSON: {why}"),
            ApiError::Unauthorized { detail, .. } => (*detail).to_owned(),
            ApiError::Forbidden { detail, .. }
            | ApiError::Conflict { detail, .. }
            | ApiError::BadRequest { detail, .. }
            | ApiError::Gone { detail, .. } => detail.clone(),
            ApiError::NotFound => "the resource does not exist".to_owned(),
            ApiError::PreconditionFailed => "If-Match does not match the current version of the resource".to_owned(),
            ApiError::PayloadTooLarge(limit) => {
                format!("the request body is larger than {limit} bytes")
            }
            ApiError::UnsupportedMediaType(expected) => {
                format!("the request body must be {expected}")
            }
            ApiError::Validation(_) => "the input breaks one or more rules; see errors".to_owned(),
            ApiError::RateLimited(secs) => {
                format!("too many attempts; retry in {secs} seconds")
            }
            ApiError::Unavailable => {
                format!("the database is unavailable; retry in {UNAVAILABLE_RETRY_AFTER_SECS} seconds")
            }
            ApiError::Internal(_) => "an unexpected error happened; quote error_id to the operator".to_owned(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.detail())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut error_id = None;
        if let ApiError::Internal(cause) = self {
            let id = kluis_core::new_id();
            let short = id[id.len() - 12..].to_owned();
            tracing::error!(error.id = %short, error.cause = %cause, "unexpected error");
            error_id = Some(short);
        }
        let errors = match self {
            ApiError::Validation(fields) => {
                fields.iter().map(|f| ProblemField { field: f.field.clone(), message: f.message.clone() }).collect()
            }
            _ => Vec::new(),
        };
        let code = self.code();
        let problem = Problem {
            type_: format!("urn:kluis:problem:{code}"),
            title: self.title().to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            code: code.to_owned(),
            errors,
            error_id,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            ApiError::Unauthorized { code, .. } if *code == "missing_token" => {
                response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"kluis\"")));
            }
            ApiError::Unauthorized { .. } => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"kluis\", error=\"invalid_token\""),
                ));
            }
            ApiError::Forbidden { .. } => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"kluis\", error=\"insufficient_scope\""),
                ));
            }
            ApiError::RateLimited(secs) => {
                response.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            ApiError::Unavailable => {
                response.insert_header((header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER_SECS.to_string()));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound => ApiError::NotFound,
            DomainError::Validation(fields) => ApiError::Validation(fields),
            DomainError::Conflict { code, message } => ApiError::Conflict { code, detail: message },
            DomainError::VersionMismatch => ApiError::PreconditionFailed,
            DomainError::Forbidden { code, message } => ApiError::Forbidden { code, detail: message },
            DomainError::Unavailable(cause) => {
                tracing::warn!(error.cause = %cause, "database unavailable");
                ApiError::Unavailable
            }
            DomainError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<kluis_app::AppError> for ApiError {
    fn from(error: kluis_app::AppError) -> Self {
        use kluis_app::AppError;
        match error {
            AppError::Domain(e) => ApiError::from(e),
            AppError::Unauthorized { code, detail } => ApiError::Unauthorized { code, detail },
            AppError::BadRequest { code, detail } => ApiError::BadRequest { code, detail },
            AppError::Gone { code, detail } => ApiError::Gone { code, detail },
            AppError::RateLimited(seconds) => ApiError::RateLimited(seconds),
        }
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields = Vec::new();
        flatten(String::new(), &errors, &mut fields);
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        ApiError::Validation(fields)
    }
}

fn flatten(prefix: String, errors: &validator::ValidationErrors, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let message = e.message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| e.code.to_string());
                    out.push(FieldError::new(path.clone(), message));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    flatten(format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

/// The problem responses a route documents, for `#[utoipa::path(responses(..))]`.
pub mod responses {
    use super::Problem;
    use utoipa::IntoResponses;

    /// 400, 401, 403, 413, 415, 422, 503 and 500: what any authenticated
    /// route with a JSON body may answer.
    #[derive(IntoResponses)]
    pub enum BodyErrors {
        /// Malformed JSON.
        #[response(status = 400, content_type = "application/problem+json")]
        Malformed(Problem),
        /// No token, or an invalid, expired or revoked one.
        #[response(status = 401, content_type = "application/problem+json")]
        Unauthorized(Problem),
        /// The token lacks the scope.
        #[response(status = 403, content_type = "application/problem+json")]
        Forbidden(Problem),
        /// Body over the size limit.
        #[response(status = 413, content_type = "application/problem+json")]
        TooLarge(Problem),
        /// Body is not JSON.
        #[response(status = 415, content_type = "application/problem+json")]
        MediaType(Problem),
        /// Field errors.
        #[response(status = 422, content_type = "application/problem+json")]
        Invalid(Problem),
        /// Database unavailable or saturated; retry after `Retry-After` seconds.
        #[response(status = 503, content_type = "application/problem+json")]
        Unavailable(Problem),
        /// Unexpected; carries `error_id`.
        #[response(status = 500, content_type = "application/problem+json")]
        Internal(Problem),
    }

    /// 401, 403, 422, 503 and 500: what any authenticated route without a body may answer.
    #[derive(IntoResponses)]
    pub enum AuthErrors {
        /// No token, or an invalid, expired or revoked one.
        #[response(status = 401, content_type = "application/problem+json")]
        Unauthorized(Problem),
        /// The token lacks the scope.
        #[response(status = 403, content_type = "application/problem+json")]
        Forbidden(Problem),
        /// Bad query or path parameters.
        #[response(status = 422, content_type = "application/problem+json")]
        Invalid(Problem),
        /// Database unavailable or saturated; retry after `Retry-After` seconds.
        #[response(status = 503, content_type = "application/problem+json")]
        Unavailable(Problem),
        /// Unexpected; carries `error_id`.
        #[response(status = 500, content_type = "application/problem+json")]
        Internal(Problem),
    }

    /// 404: absent or another tenant's.
    #[derive(IntoResponses)]
    pub enum NotFound {
        /// Absent, or another tenant's.
        #[response(status = 404, content_type = "application/problem+json")]
        NotFound(Problem),
    }

    /// 409: a unique value is taken.
    #[derive(IntoResponses)]
    pub enum Conflict {
        /// Duplicate.
        #[response(status = 409, content_type = "application/problem+json")]
        Conflict(Problem),
    }

    /// 503 and 500: what a public route without a token or body may answer.
    #[derive(IntoResponses)]
    pub enum ServerErrors {
        /// Database unavailable or saturated; retry after `Retry-After` seconds.
        #[response(status = 503, content_type = "application/problem+json")]
        Unavailable(Problem),
        /// Unexpected; carries `error_id`.
        #[response(status = 500, content_type = "application/problem+json")]
        Internal(Problem),
    }

    /// 400 and 410: a link that was altered, or is used up or expired.
    #[derive(IntoResponses)]
    pub enum LinkErrors {
        /// Not a link kluis made, or altered.
        #[response(status = 400, content_type = "application/problem+json")]
        Invalid(Problem),
        /// Used before, expired, or what it points to is gone.
        #[response(status = 410, content_type = "application/problem+json")]
        Gone(Problem),
    }

    /// 429: over a rate limit (per client IP, address, client id or
    /// identifier); `Retry-After` says when the window ends.
    #[derive(IntoResponses)]
    pub enum RateLimited {
        /// Too many requests in the window; retry after `Retry-After` seconds.
        #[response(
            status = 429,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit's window ends"))
        )]
        TooMany(Problem),
    }

    /// 412: `If-Match` mismatch.
    #[derive(IntoResponses)]
    pub enum Precondition {
        /// The resource changed since it was read.
        #[response(status = 412, content_type = "application/problem+json")]
        PreconditionFailed(Problem),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;

    use super::*;

    #[test]
    fn an_unavailable_database_is_503_with_retry_after_and_no_cause() {
        let cause = "database: server closed the connection unexpectedly";
        let response = ApiError::from(DomainError::Unavailable(cause.into())).error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "2");
        assert_eq!(response.headers().get(header::CONTENT_TYPE).unwrap(), PROBLEM_JSON);
        let body = response.into_body().try_into_bytes().unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "unavailable");
        assert_eq!(problem["status"], 503);
        assert!(problem.get("error_id").is_none());
        assert!(!String::from_utf8_lossy(&body).contains("closed"), "the cause stays in the log");
    }

    #[test]
    fn an_internal_error_is_500_without_retry_after() {
        let response = ApiError::from(DomainError::Internal("database: no such table".into())).error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
    }
}
