//! Tokens: the client-credentials grant, what a token carries, every way a
//! token is refused, rate limiting, the JWKS and key rotation.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kluis_api::auth::Claims;
use kluis_store::tenancy::keys;
use kluis_tests::{StatusCode, TestApp, assert_problem, both_backends, claims_of, header_of};
use serde_json::{Value, json};

fn claims_for(app: &TestApp, tenant_id: &str, client_id: &str) -> Claims {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Claims {
        iss: app.settings.public_url(),
        aud: "kluis".to_owned(),
        sub: client_id.to_owned(),
        tid: Some(tenant_id.to_owned()),
        scope: "clients:admin".to_owned(),
        purposes: vec![],
        sid: None,
        iat: now,
        nbf: now,
        exp: now + 600,
        jti: kluis_core::new_id(),
    }
}

/// Sign with the app's real current key.
fn sign(app: &TestApp, claims: &Claims) -> String {
    let mut conn = app.conn();
    app.state.tokens.sign(&mut conn, claims).unwrap()
}

async fn assert_refused(app: &TestApp, token: &str, why: &str) {
    let response = app.get("/v1/clients", token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{why}");
    let challenge = response.headers().get("www-authenticate").unwrap().to_str().unwrap().to_owned();
    assert!(challenge.starts_with("Bearer"), "{why}: {challenge}");
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

both_backends! {
    async fn operator_creates_tenant_whose_admin_creates_a_client_with_exactly_its_scope(app) {
        let operator = app.operator_token().await;
        assert_eq!(claims_of(&operator)["scope"], "tenants:admin");
        assert!(claims_of(&operator).get("tid").is_none(), "operator tokens carry no tenant");
        let response = app.post("/v1/tenants", &operator, &json!({"name": "Reparatie B.V.", "slug": "reparatie"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let tenant: Value = response.json().await.unwrap();
        let admin = kluis_tests::Credentials {
            client_id: tenant["admin_client"]["client_id"].as_str().unwrap().to_owned(),
            client_secret: tenant["admin_client"]["client_secret"].as_str().unwrap().to_owned(),
        };
        let admin_token = app.token(&admin).await;
        let admin_claims = claims_of(&admin_token);
        assert_eq!(admin_claims["tid"], tenant["id"]);
        assert!(admin_claims["scope"].as_str().unwrap().contains("clients:admin"));

        let response = app.post("/v1/clients", &admin_token, &json!({"name": "reader", "scopes": ["people:read"]})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let reader: Value = response.json().await.unwrap();
        let creds = kluis_tests::Credentials {
            client_id: reader["client_id"].as_str().unwrap().to_owned(),
            client_secret: reader["client_secret"].as_str().unwrap().to_owned(),
        };
        let response = app.request_token(&creds, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "people:read");
        assert!(body["expires_in"].as_u64().unwrap() <= 900);
        let token = body["access_token"].as_str().unwrap();
        let claims = claims_of(token);
        assert_eq!(claims["scope"], "people:read");
        assert_eq!(claims["sub"], reader["client_id"]);
        assert_eq!(claims["tid"], tenant["id"]);
        assert_eq!(claims["aud"], "kluis");
        assert_eq!(claims["iss"], app.settings.public_url());
        for claim in ["iat", "nbf", "exp", "jti"] {
            assert!(!claims[claim].is_null(), "{claim} missing");
        }
        assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 900);
        let header = header_of(token);
        assert_eq!(header["alg"], "EdDSA");
        assert!(header["kid"].is_string());

        // The people:read client cannot manage clients.
        assert_problem(app.get("/v1/clients", token).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
    }

    async fn token_endpoint_takes_json_basic_and_scope_subsets(app) {
        let tenant = app.new_tenant().await;
        let creds = app.new_client(&tenant, &["people:read", "people:write"]).await;
        let response = app.client.post(app.url("/v1/oauth/token"))
            .json(&json!({"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret, "scope": "people:write"}))
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["scope"], "people:write");

        let basic = STANDARD.encode(format!("{}:{}", creds.client_id, creds.client_secret));
        let response = app.client.post(app.url("/v1/oauth/token"))
            .header("authorization", format!("Basic {basic}"))
            .form(&[("grant_type", "client_credentials")])
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["scope"], "people:read people:write");

        let response = app.request_token(&creds, Some("people:read clients:admin")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_scope");
        let response = app.request_token(&creds, Some("root")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_scope");

        let response = app.client.post(app.url("/v1/oauth/token"))
            .form(&[("grant_type", "password"), ("client_id", &creds.client_id), ("client_secret", &creds.client_secret)])
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "unsupported_grant_type");

        let response = app.client.post(app.url("/v1/oauth/token"))
            .form(&[("client_id", &creds.client_id), ("client_secret", &creds.client_secret)])
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_request");

        let response = app.client.post(app.url("/v1/oauth/token"))
            .header("content-type", "text/plain").body("grant_type=client_credentials")
            .send().await.unwrap();
        assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    }

    async fn wrong_secret_is_invalid_client_and_repeated_tries_are_rate_limited(app) {
        let tenant = app.new_tenant().await;
        let mut wrong = tenant.admin.clone();
        wrong.client_secret.push('x');
        let response = app.request_token(&wrong, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get("www-authenticate").is_some());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");

        let unknown = kluis_tests::Credentials { client_id: kluis_core::new_id(), client_secret: "nope".into() };
        let response = app.request_token(&unknown, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_client");

        let mut limited = None;
        for attempt in 2..=100 {
            let response = app.request_token(&wrong, None).await;
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                limited = Some((attempt, response));
                break;
            }
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        let (attempt, response) = limited.expect("100 wrong tries are rate limited");
        assert!(attempt <= 20, "limited only after {attempt} tries");
        let retry_after: u64 = response.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
        assert!(retry_after > 0);
        assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        // While throttled, even the right secret is refused: guessing stays blocked.
        let response = app.request_token(&tenant.admin, None).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        // Other clients are unaffected.
        let other = app.new_tenant().await;
        assert_eq!(app.request_token(&other.admin, None).await.status(), StatusCode::OK);
    }

    async fn no_token_is_401_with_bearer_challenge(app) {
        let response = app.client.get(app.url("/v1/clients")).send().await.unwrap();
        assert_eq!(response.headers().get("www-authenticate").unwrap(), "Bearer realm=\"kluis\"");
        assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
        let response = app.client.get(app.url("/v1/tenants")).header("authorization", "Basic abc").send().await.unwrap();
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }

    async fn forged_expired_and_misaddressed_tokens_are_401(app) {
        let tenant = app.new_tenant().await;
        let good = claims_for(&app, &tenant.id, &tenant.admin.client_id);
        let valid = sign(&app, &good);
        assert_eq!(app.get("/v1/clients", &valid).await.status(), StatusCode::OK, "the control token works");

        assert_refused(&app, "garbage", "garbage").await;
        assert_refused(&app, "a.b.c", "three garbage parts").await;

        let now = good.iat;
        let expired = Claims { iat: now - 1200, nbf: now - 1200, exp: now - 120, ..good.clone() };
        assert_refused(&app, &sign(&app, &expired), "expired").await;
        let wrong_aud = Claims { aud: "someone-else".into(), ..good.clone() };
        assert_refused(&app, &sign(&app, &wrong_aud), "wrong aud").await;
        let wrong_iss = Claims { iss: "https://evil.example".into(), ..good.clone() };
        assert_refused(&app, &sign(&app, &wrong_iss), "wrong iss").await;
        let future = Claims { nbf: now + 600, ..good.clone() };
        assert_refused(&app, &sign(&app, &future), "future nbf").await;

        // alg: none, with the real kid and a valid payload.
        let kid = header_of(&valid)["kid"].as_str().unwrap().to_owned();
        let payload = valid.split('.').nth(1).unwrap();
        let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
        assert_refused(&app, &format!("{none_header}.{payload}."), "alg none").await;

        // HS256 keyed with the published public key (the algorithm-confusion attack).
        let jwks: Value = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        let x = jwks["keys"][0]["x"].as_str().unwrap();
        let raw_public = URL_SAFE_NO_PAD.decode(x).unwrap();
        for secret in [raw_public.as_slice(), x.as_bytes()] {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(kid.clone());
            let forged = jsonwebtoken::encode(&header, &good, &EncodingKey::from_secret(secret)).unwrap();
            assert_refused(&app, &forged, "HS256 with the public key").await;
        }

        // A well-formed EdDSA token from a key kluis never published.
        let stranger = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let der = stranger.to_pkcs8_der().unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("unknown-kid".into());
        let unknown_kid = jsonwebtoken::encode(&header, &good, &EncodingKey::from_ed_der(der.as_bytes())).unwrap();
        assert_refused(&app, &unknown_kid, "unknown kid").await;
        // The same stranger's token under the real kid fails the signature.
        header.kid = Some(kid.clone());
        let bad_signature = jsonwebtoken::encode(&header, &good, &EncodingKey::from_ed_der(der.as_bytes())).unwrap();
        assert_refused(&app, &bad_signature, "signature by another key").await;
    }

    async fn revoked_client_and_suspended_or_deleted_tenant_stop_at_once(app) {
        let operator = app.operator_token().await;
        let tenant = app.new_tenant().await;
        let creds = app.new_client(&tenant, &["clients:admin"]).await;
        let token = app.token(&creds).await;
        assert_eq!(app.get("/v1/clients", &token).await.status(), StatusCode::OK);

        assert_eq!(app.delete(&format!("/v1/clients/{}", creds.client_id), &tenant.token).await.status(), StatusCode::NO_CONTENT);
        assert_refused(&app, &token, "revoked client").await;
        let response = app.request_token(&creds, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

        let path = format!("/v1/tenants/{}", tenant.id);
        let response = app.patch(&path, &operator, &json!({"status": "suspended"})).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_refused(&app, &tenant.token, "suspended tenant").await;
        let response = app.request_token(&tenant.admin, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_client");

        let response = app.patch(&path, &operator, &json!({"status": "active"})).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(app.get("/v1/clients", &tenant.token).await.status(), StatusCode::OK, "reactivated");

        assert_eq!(app.delete(&path, &operator).await.status(), StatusCode::NO_CONTENT);
        assert_refused(&app, &tenant.token, "deleted tenant").await;
    }

    async fn a_revocation_by_another_process_holds_within_a_second(app) {
        use diesel::prelude::*;
        use kluis_store::schema::api_clients;
        let tenant = app.new_tenant().await;
        let creds = app.new_client(&tenant, &["clients:admin"]).await;
        let token = app.token(&creds).await;
        // Live now, and kept as live for the next second.
        assert_eq!(app.get("/v1/clients", &token).await.status(), StatusCode::OK);
        // Another instance (or the CLI) revokes the client: this process hears nothing of it.
        let mut conn = app.conn();
        let revoked = diesel::update(api_clients::table.filter(api_clients::id.eq(&creds.client_id)))
            .set(api_clients::revoked_at.eq(kluis_core::time::now()))
            .execute(&mut *conn)
            .unwrap();
        drop(conn);
        assert_eq!(revoked, 1);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let status = app.get("/v1/clients", &token).await.status();
            if status == StatusCode::UNAUTHORIZED {
                break;
            }
            assert_eq!(status, StatusCode::OK);
            assert!(std::time::Instant::now() < deadline, "the token stayed live long after the revocation");
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_refused(&app, &token, "revoked elsewhere").await;
    }

    async fn jwks_serves_current_key_and_rotation_keeps_old_tokens_valid(app) {
        let tenant = app.new_tenant().await;
        let old_token = tenant.token.clone();
        let old_kid = header_of(&old_token)["kid"].as_str().unwrap().to_owned();
        let response = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let jwks: Value = response.json().await.unwrap();
        let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids, vec![old_kid.as_str()]);
        assert_eq!(jwks["keys"][0]["kty"], "OKP");
        assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
        assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
        assert!(jwks["keys"][0].get("d").is_none(), "never the private half");

        // What `kluis keys rotate` runs, against the same database.
        let new_kid = {
            let mut conn = app.conn();
            keys::rotate(&mut conn, &master_key(&app), app.state.tokens.max_token_ttl()).unwrap()
        };
        assert_ne!(new_kid, old_kid);

        assert_eq!(app.get("/v1/clients", &old_token).await.status(), StatusCode::OK, "old token still valid");
        let new_token = app.token(&tenant.admin).await;
        assert_eq!(header_of(&new_token)["kid"], new_kid.as_str());
        assert_eq!(app.get("/v1/clients", &new_token).await.status(), StatusCode::OK);
        let jwks: Value = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids, vec![new_kid.as_str(), old_kid.as_str()], "current first, old kept while its tokens live");

        // Once the old key's tokens can no longer be alive, rotation drops it.
        let newest = {
            let mut conn = app.conn();
            keys::rotate(&mut conn, &master_key(&app), time::Duration::ZERO).unwrap()
        };
        let published = {
            let mut conn = app.conn();
            keys::published(&mut conn, app.state.tokens.max_token_ttl()).unwrap()
        };
        let kids: Vec<String> = published.into_iter().map(|k| k.kid).collect();
        assert_eq!(kids, vec![newest, new_kid], "keys retired longer than a token lives are deleted");
    }
}

fn master_key(app: &TestApp) -> kluis_store::MasterKey {
    let text = std::fs::read_to_string(app.settings.data_dir.join("master.key")).unwrap();
    kluis_store::MasterKey::from_base64(&text).unwrap()
}
