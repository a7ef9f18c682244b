//! `Idempotency-Key` on every POST: the first answer to a key is stored for
//! 24 hours and replayed for a retry with the same method, path and body; the
//! same key with another request is a 422; a retry while the first is still
//! running is a 409. Keys belong to the authenticated caller, so nobody can
//! replay another client's answer (which may carry a secret).

use std::collections::BTreeMap;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use kluis_store::idempotency::{self, Claim, Owner, Stored};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on a replayed answer.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// Headers stored and replayed with the body.
const KEPT: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

fn acceptable(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Answers a retry may change are not kept: authentication, throttling and
/// the server's own failures.
fn keep(status: StatusCode) -> bool {
    !(status.is_server_error()
        || matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS))
}

fn replay(stored: Stored) -> HttpResponse {
    let mut response = HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
    let headers: BTreeMap<String, String> = serde_json::from_str(&stored.headers).unwrap_or_default();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.insert_header((name, value));
        }
    }
    response.insert_header((REPLAYED, HeaderValue::from_static("true")));
    response.body(stored.body)
}

/// The middleware; wrap it inside the request-id middleware.
pub async fn idempotency(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let key = req.headers().get(&IDEMPOTENCY_KEY).map(|v| v.to_str().map(str::to_owned));
    let (Method::POST, Some(key)) = (req.method().clone(), key) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let Ok(key) = key.map_err(|_| ()).and_then(|k| if acceptable(&k) { Ok(k) } else { Err(()) }) else {
        let error = ApiError::invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters");
        return Ok(req.into_response(error.error_response()));
    };
    // Only an authenticated caller owns keys; anything else runs as usual
    // (and is answered 401 by the handler).
    let Ok(caller) = crate::auth::authenticate(req.request()).await else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let (http, mut payload) = req.into_parts();
    let body = match crate::extract::read_body(&http, &mut payload).await {
        Ok(body) => body,
        Err(error) => return Ok(ServiceResponse::new(http, error.error_response())),
    };
    let mut hasher = Sha256::new();
    hasher.update(http.method().as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(http.uri().path().as_bytes());
    hasher.update(b"\n");
    hasher.update(&body);
    let request_hash = hex::encode(hasher.finalize());
    let owner = Owner {
        tenant: caller.actor.tenant.as_ref().map(|t| t.0.clone()).unwrap_or_default(),
        caller: caller.actor.id.clone(),
    };

    let (claim_owner, claim_key) = (owner.clone(), key.clone());
    let claim =
        state.app.with_conn(move |conn| idempotency::claim(conn, &claim_owner, &claim_key, &request_hash)).await;
    let claim = match claim {
        Ok(claim) => claim,
        Err(error) => return Ok(ServiceResponse::new(http, ApiError::from(error).error_response())),
    };
    match claim {
        Claim::Replay(stored) => return Ok(ServiceResponse::new(http, replay(stored))),
        Claim::Mismatch => {
            let error = ApiError::Validation(vec![kluis_core::FieldError::new(
                "Idempotency-Key",
                "this key was used with another request; use a new key for a new request",
            )]);
            return Ok(ServiceResponse::new(http, error.error_response()));
        }
        Claim::InFlight => {
            let error = ApiError::Conflict {
                code: "idempotency_key_in_use",
                detail: "a request with this Idempotency-Key is still being processed; retry shortly".into(),
            };
            return Ok(ServiceResponse::new(http, error.error_response()));
        }
        Claim::New => {}
    }

    let req = ServiceRequest::from_parts(http, actix_web::dev::Payload::from(body));
    let response = next.call(req).await;
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            let _ = state.app.with_conn(move |conn| idempotency::release(conn, &owner, &key)).await;
            return Err(error);
        }
    };
    let status = response.status();
    if !keep(status) {
        let _ = state.app.with_conn(move |conn| idempotency::release(conn, &owner, &key)).await;
        return Ok(response.map_into_boxed_body());
    }
    let (http, response) = response.into_parts();
    let headers: BTreeMap<String, String> = KEPT
        .iter()
        .filter_map(|name| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(|v| (name.to_string(), v.to_owned()))
        })
        .collect();
    let (response, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.map_err(|_| ApiError::Internal("response body".into()))?;
    let stored = Stored {
        status: status.as_u16(),
        headers: serde_json::to_string(&headers).unwrap_or_else(|_| "{}".into()),
        body: bytes.to_vec(),
    };
    if let Err(error) = state.app.with_conn(move |conn| idempotency::complete(conn, &owner, &key, &stored)).await {
        tracing::warn!(error = %error, "could not store an idempotent answer");
    }
    Ok(ServiceResponse::new(http, response.set_body(BoxBody::new(bytes))))
}
