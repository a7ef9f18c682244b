//! Per-request plumbing: a request id (echoed when the caller sent a sane
//! one), a tracing span that carries ids only, one log line per request
//! (method, route pattern, status, latency: never a query string, body,
//! token, name or IP), the client's IP resolved once, the request metrics,
//! and a NUL in the path or the query refused before any handler.

use std::net::IpAddr;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CACHE_CONTROL, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use tracing::Instrument;

use crate::error::ApiError;
use crate::metrics::{RequestLabels, RouteLabels};
use crate::state::AppState;

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, in request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The id of the request being served.
pub fn request_id(req: &actix_web::HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|id| id.0.clone())
}

/// The client's IP, resolved once per request (see [`client_ip`]), in
/// request extensions.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

/// The client's IP: the connection's, or, when the connection comes from a
/// trusted proxy, the last address in `X-Forwarded-For` that no trusted
/// proxy added. The one place that reads the connection's address.
#[expect(clippy::disallowed_methods, reason = "the one place the peer address is read")]
pub fn client_ip(req: &ServiceRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()).unwrap_or("");
    forwarded
        .split(',')
        .rev()
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .find(|ip| !trusted.contains(ip))
        .or(Some(peer))
}

/// Requests that cannot revoke anything, so they leave the token states
/// kept in memory alone (the hot writes: with them a processor's check
/// would go back to the database after every grant).
fn cannot_revoke(method: &actix_web::http::Method, route: &str) -> bool {
    if method.is_safe() {
        return true;
    }
    matches!(
        (method.as_str(), route),
        ("POST", "/v1/consents/check")
            | ("POST", "/v1/people/{person_id}/consents")
            | ("POST", "/v1/people")
            | ("POST", "/v1/auth/login")
            | ("POST", "/v1/visits")
    )
}

fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// The content security policy of the API documentation: its own scripts
/// and styles only (Swagger UI sets inline styles), no frames, no forms.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
     connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Everything else is data, never a page to render: nothing may load.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The routes that answer a browser with a page of [`crate::pages`].
const PAGE_ROUTES: [&str; 2] = ["/v1/unsubscribe/{token}", "/v1/public/{tenant_slug}/requests/verify/{token}"];

/// Headers on every response: no content sniffing, no referrer, and a
/// content security policy unless the handler set its own: the
/// documentation's, a page's (its inline style by hash, a form posting to
/// itself) when a page route answers HTML, else one that lets nothing load.
fn security_headers(route: &str, headers: &mut actix_web::http::header::HeaderMap) {
    use actix_web::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !headers.contains_key(CONTENT_SECURITY_POLICY) {
        let html = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"));
        let policy = if route.starts_with("/docs") {
            DOCS_CSP
        } else if html && PAGE_ROUTES.contains(&route) {
            crate::pages::csp()
        } else {
            API_CSP
        };
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    }
}

/// A NUL (`%00`) in the path names nothing (404); in the query it makes its
/// parameter invalid (422). No path or parameter of kluis means one, and
/// PostgreSQL text cannot hold it: refused here, the same on both backends,
/// rather than answered 500 by a query. (A body's NUL is refused by its
/// extractor; a header cannot carry one.)
fn refuse_nul(req: &ServiceRequest) -> Option<ApiError> {
    const NUL: &str = "%00";
    if req.path().contains(NUL) {
        return Some(ApiError::NotFound);
    }
    let pair = req.query_string().split('&').find(|pair| pair.contains(NUL))?;
    let name = pair.split('=').next().filter(|name| !name.is_empty() && !name.contains(NUL)).unwrap_or("query");
    Some(ApiError::invalid(name, "must not contain the NUL character (U+0000)"))
}

/// The middleware: wrap it around the whole app.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_owned)
        .unwrap_or_else(kluis_core::new_id);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let trusted = state.as_ref().map_or(&[][..], |s| &s.config.trusted_proxies[..]);
    let ip = client_ip(&req, trusted);
    req.extensions_mut().insert(ClientIp(ip));
    let http_method = req.method().clone();
    let method = http_method.to_string();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!(
        "request",
        request.id = %request_id,
        http.method = %method,
        http.route = %route,
        http.status = tracing::field::Empty,
        tenant.id = tracing::field::Empty,
        client.id = tracing::field::Empty,
        session.id = tracing::field::Empty,
    );
    let result = match refuse_nul(&req) {
        Some(refusal) => Ok(req.error_response(refusal).map_into_right_body()),
        None => next.call(req).instrument(span.clone()).await.map(ServiceResponse::map_into_left_body),
    };
    // A write may have revoked a client, a session or a tenant: kept token
    // states go stale before this answer is sent (and on errors).
    if let Some(state) = &state
        && !cannot_revoke(&http_method, &route)
    {
        state.app.token_states.invalidate();
    }
    let mut response = result?;
    security_headers(&route, response.headers_mut());
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    span.record("http.status", status);
    span.in_scope(|| {
        tracing::info!(latency_ms = elapsed.as_secs_f64() * 1000.0, "served");
    });
    if let Some(state) = state {
        state
            .metrics
            .requests
            .get_or_create(&RequestLabels { method: method.clone(), route: route.clone(), status })
            .inc();
        state.metrics.latency.get_or_create(&RouteLabels { method, route }).observe(elapsed.as_secs_f64());
    }
    // Responses carry personal data and secrets: no cache keeps them unless a
    // handler says otherwise (the JWKS does).
    if !response.headers().contains_key(CACHE_CONTROL) {
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}
