//! Request extractors that answer bad input with problem+json: a JSON body
//! extractor that tells malformed (400) from invalid (422), too large (413)
//! and not JSON (415); `If-Match`; and list paging.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::QueryPayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use kluis_core::page::{Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use crate::error::ApiError;

/// True for `application/json` and `application/*+json`.
pub fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Read the body within the configured limit (413 beyond it).
pub async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<web::Bytes, ApiError> {
    web::Bytes::from_request(req, payload).await.map_err(|e| {
        if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(body_limit(req))
        } else {
            ApiError::Malformed("the body could not be read".to_owned())
        }
    })
}

/// The configured body limit, for messages.
pub fn body_limit(req: &HttpRequest) -> usize {
    req.app_data::<web::Data<crate::AppState>>().map(|s| s.config.body_limit).unwrap_or(256 * 1024)
}

/// Parse JSON, telling syntax errors (400) from data errors such as an
/// unknown field or a wrong type (422, naming the field).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, over the whole body: `{} {}` is malformed, not a missing field.
    let mut syntax = serde_json::Deserializer::from_slice(bytes);
    serde::de::IgnoredAny::deserialize(&mut syntax)
        .and_then(|_| syntax.end())
        .map_err(|e| ApiError::Malformed(format!("line {} column {}", e.line(), e.column())))?;
    // PostgreSQL text cannot hold NUL, and no field of kluis means one: a
    // body that writes it is refused here, naming the field, on both backends.
    if writes_nul(bytes) {
        let field = serde_json::from_slice::<serde_json::Value>(bytes).ok().and_then(|v| nul_field(&v, ""));
        let field = field.filter(|f| !f.is_empty()).unwrap_or_else(|| "body".to_owned());
        return Err(ApiError::invalid(field, "must not contain the NUL character (U+0000)"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let first = match serde_path_to_error::deserialize(&mut de) {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    // A number with no fraction is an integer (JSON Schema: `1.0` is an
    // `integer`), whatever its notation: `177.0` fills a `u32` as `177` does.
    if let Ok(mut document) = serde_json::from_slice::<serde_json::Value>(bytes)
        && whole_numbers(&mut document)
        && let Ok(value) = serde_path_to_error::deserialize(document)
    {
        return Ok(value);
    }
    Err(data_error(first))
}

/// Whether a JSON text, its syntax already checked, writes a NUL in a string
/// or a key: JSON can only write it as the escape `\u0000`. A backslash
/// always starts an escape, so the scan steps over each escape whole (`\\u0000`
/// is a backslash and the text `u0000`).
fn writes_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while let Some(at) = bytes[i..].iter().position(|&b| b == b'\\') {
        let escape = i + at;
        if bytes.get(escape + 1..escape + 6) == Some(&b"u0000"[..]) {
            return true;
        }
        i = escape + 2;
        if i >= bytes.len() {
            return false;
        }
    }
    false
}

/// Where in `value` a string or a key holds NUL, in the form of a body's
/// field errors (`purposes[1]`, `address.city`); `at` is the path so far.
fn nul_field(value: &serde_json::Value, at: &str) -> Option<String> {
    match value {
        serde_json::Value::String(s) => s.contains('\0').then(|| at.to_owned()),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| nul_field(item, &format!("{at}[{i}]")))
        }
        serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                return Some(at.to_owned());
            }
            nul_field(item, &if at.is_empty() { key.clone() } else { format!("{at}.{key}") })
        }),
        _ => None,
    }
}

/// A body's data error (an unknown field, a wrong type) as a 422 naming its field.
fn data_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if inner.is_eof() || inner.is_io() {
        return ApiError::Malformed(format!("line {} column {}", inner.line(), inner.column()));
    }
    // The body is valid JSON (checked above), yet serde_json files some
    // type errors under syntax (`true` for an enum: "expected value"):
    // they are data errors all the same, named by their field.
    let message = if inner.is_syntax() { "has the wrong type".to_owned() } else { inner.to_string() };
    let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
    // serde_path_to_error's path already ends at an unknown field, but
    // stops at the parent of a missing one.
    let field = match (path.as_str(), message.strip_prefix("missing field `")) {
        (".", Some(rest)) => rest.split('`').next().unwrap_or("body").to_owned(),
        (parent, Some(rest)) => format!("{parent}.{}", rest.split('`').next().unwrap_or("")),
        (".", None) => "body".to_owned(),
        (field, None) => field.to_owned(),
    };
    ApiError::invalid(field, message)
}

/// Turn every number without a fraction written as a float (`177.0`,
/// `1.77e2`) into the integer it is, so integer fields take it; whether
/// any changed.
fn whole_numbers(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                // Exact below 2^53; the cast cannot truncate.
                #[allow(clippy::cast_possible_truncation, reason = "a whole number below 2^53")]
                let whole = f as i64;
                *value = serde_json::Value::from(whole);
                return true;
            }
            false
        }
        serde_json::Value::Array(items) => items.iter_mut().map(whole_numbers).fold(false, |a, b| a | b),
        serde_json::Value::Object(map) => map.values_mut().map(whole_numbers).fold(false, |a, b| a | b),
        _ => false,
    }
}

/// The field name in serde's "unknown field `x`, expected …" and
/// "missing field `x`" messages.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `").or_else(|| message.strip_prefix("missing field `"))?;
    Some(rest.split('`').next()?.to_owned())
}

/// A JSON request body. Bodies are `deny_unknown_fields`: a field kluis does
/// not know is a 422, never silently dropped (no mass assignment).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json(&req) {
                return Err(ApiError::UnsupportedMediaType("application/json"));
            }
            let bytes = read_body(&req, &mut payload).await?;
            parse_json(&bytes).map(Json)
        })
    }
}

/// The `If-Match` precondition: `None` when absent or `*`.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<i64>);

impl IfMatch {
    /// The ETag of a resource at `version`.
    pub fn etag(version: i64) -> String {
        format!("\"{version}\"")
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = match req.headers().get(header::IF_MATCH) {
            None => Ok(IfMatch(None)),
            Some(value) => {
                let text = value.to_str().unwrap_or("").trim();
                if text == "*" {
                    Ok(IfMatch(None))
                } else {
                    let tag = text.strip_prefix("W/").unwrap_or(text);
                    // An ETag kluis did not make can never match: 412, like a stale one.
                    let version = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')).and_then(|v| v.parse().ok());
                    version.map(|v| IfMatch(Some(v))).ok_or(ApiError::PreconditionFailed)
                }
            }
        };
        std::future::ready(parsed)
    }
}

/// `?limit=&cursor=` on every list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// The checked page size and the key to continue after.
    pub fn page(&self) -> Result<(i64, Option<String>), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("limit", "must be between 1 and 200"));
        }
        let after = match &self.cursor {
            None => None,
            Some(cursor) => {
                Some(Cursor::decode(cursor).ok_or_else(|| ApiError::invalid("cursor", "not a cursor kluis made"))?)
            }
        };
        Ok((limit, after))
    }
}

/// Query-string errors as 422 naming the parameter.
pub fn query_error(error: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let message = match &error {
        QueryPayloadError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    let field = unknown_field(&message).unwrap_or_else(|| "query".to_owned());
    ApiError::invalid(field, message).into()
}

/// Path errors as 404: a malformed id names nothing.
pub fn path_error(_: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound.into()
}

/// The raw body, read within the limit (413 beyond it), for handlers that
/// accept more than JSON (the token endpoint).
#[derive(Debug)]
pub struct RawBody(pub web::Bytes);

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move { read_body(&req, &mut payload).await.map(RawBody) })
    }
}

/// Where the request comes from (request id and client IP, both resolved
/// by the middleware), for the use cases.
pub fn origin(req: &HttpRequest) -> kluis_app::Origin {
    let ip = req.extensions().get::<crate::middleware::ClientIp>().and_then(|ip| ip.0);
    kluis_app::Origin { request_id: crate::middleware::request_id(req), ip }
}

/// The origin of a request made without a token (sign-in, mailed links).
#[derive(Debug, Clone)]
pub struct RequestOrigin(pub kluis_app::Origin);

impl FromRequest for RequestOrigin {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(RequestOrigin(origin(req))))
    }
}

/// The proof kept with a consent event or a policy acceptance: the client's
/// IP truncated (IPv4 /16, IPv6 /48) and its user agent.
#[derive(Debug, Clone)]
pub struct ConsentProof(pub kluis_consent::Proof);

impl FromRequest for ConsentProof {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(ConsentProof(consent_proof(req))))
    }
}

/// The proof of a request (see [`ConsentProof`]).
pub fn consent_proof(req: &HttpRequest) -> kluis_consent::Proof {
    let ip = req.extensions().get::<crate::middleware::ClientIp>().and_then(|ip| ip.0);
    let user_agent =
        req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).and_then(kluis_consent::clean_user_agent);
    kluis_consent::Proof { ip_prefix: ip.map(|ip| kluis_core::net::ip_prefix(ip).to_string()), user_agent }
}

/// Whether the request carries Global Privacy Control: `Sec-GPC: 1`.
pub fn sends_gpc(req: &HttpRequest) -> bool {
    req.headers().get("sec-gpc").is_some_and(|v| v.as_bytes().trim_ascii() == b"1")
}

#[cfg(test)]
mod nul_tests {
    use super::*;

    #[test]
    fn a_nul_anywhere_in_a_body_is_found_and_an_escaped_backslash_is_not_one() {
        assert!(writes_nul(br#"{"a": "x\u0000"}"#));
        assert!(writes_nul(br#"{"a\u0000": 1}"#));
        assert!(writes_nul(br#"["\\\u0000"]"#), "an escaped backslash, then a NUL");
        assert!(!writes_nul(br#"{"a": "\\u0000"}"#), "a backslash and the text u0000");
        assert!(writes_nul(br#"{"a": "\u00001"}"#), "a NUL, then 1");
        assert!(!writes_nul(br#"{"a": "\u0001\u1000\\"}"#));
        assert!(!writes_nul(br#""\\""#));
    }

    #[test]
    fn the_field_holding_a_nul_is_named() {
        let at = |body: &[u8]| match parse_json::<serde_json::Value>(body) {
            Err(ApiError::Validation(errors)) => errors[0].field.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(at(br#"{"name": "ok", "purposes": ["a", "b\u0000"]}"#), "purposes[1]");
        assert_eq!(at(br#"{"address": {"city": "\u0000"}}"#), "address.city");
        assert_eq!(at(br#"{"a": {"\u0000": 1}}"#), "a");
        assert_eq!(at(br#""\u0000""#), "body");
        assert!(parse_json::<serde_json::Value>(br#"{"a": "\\u0000"}"#).is_ok());
    }
}

#[cfg(test)]
mod whole_number_tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Policy {
        keep: u32,
        ratio: Option<f64>,
    }

    #[test]
    fn a_whole_float_fills_an_integer_field_and_a_fraction_does_not() {
        assert_eq!(parse_json::<Policy>(br#"{"keep": 177.0}"#).unwrap(), Policy { keep: 177, ratio: None });
        assert_eq!(
            parse_json::<Policy>(br#"{"keep": 1.77e2, "ratio": 2.0}"#).unwrap(),
            Policy { keep: 177, ratio: Some(2.0) }
        );
        assert_eq!(
            parse_json::<Policy>(br#"{"keep": 7, "ratio": 0.5}"#).unwrap(),
            Policy { keep: 7, ratio: Some(0.5) }
        );
        for bad in [&br#"{"keep": 177.5}"#[..], br#"{"keep": -1.0}"#, br#"{"keep": 1.0, "other": 1}"#] {
            assert!(
                matches!(parse_json::<Policy>(bad), Err(ApiError::Validation(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
