//! Passkeys (issue 21), end to end over HTTP with a software authenticator
//! that makes real WebAuthn answers: a P-256 key, "none" attestation objects
//! and assertions signed over the authenticator data and the client data
//! hash, CBOR and all. kluis verifies them with webauthn-rs, as it would a
//! browser's; nothing of its verification is mocked.
//!
//! Shown: register -> sign in -> `GET /v1/me`, the device recorded; a
//! replayed or altered assertion, a challenge used twice, an expired one, a
//! wrong origin or RP ID, an unknown credential and a stale counter (audited
//! as a clone warning) never make a session; a staff member with only a
//! passkey gets staff scopes; an unfamiliar device steps up by mail as for a
//! password; revoking a passkey ends its sessions; another
//! tenant's ids are 404; the relying party is validated; bad input is 422.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends, claims_of};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PASSWORD: &str = "correct horse battery staple";
const RP_ID: &str = "kluis.test";
const ORIGIN: &str = "https://app.kluis.test";
const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";
/// The AAGUID the software authenticator claims (1Password's, a known one).
const AAGUID: [u8; 16] =
    [0xba, 0xda, 0x55, 0x66, 0xa7, 0xaa, 0x40, 0x1f, 0xbd, 0x96, 0x45, 0x61, 0x9a, 0x55, 0x12, 0x0d];

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).unwrap()
}

/// A software authenticator holding one discoverable credential.
pub(crate) struct SoftAuthenticator {
    key: SigningKey,
    credential_id: Vec<u8>,
    user_handle: Vec<u8>,
    counter: u32,
}

impl SoftAuthenticator {
    pub(crate) fn new() -> Self {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).unwrap();
        let mut credential_id = vec![0u8; 32];
        getrandom::fill(&mut credential_id).unwrap();
        SoftAuthenticator {
            key: SigningKey::from_slice(&secret).unwrap(),
            credential_id,
            user_handle: Vec::new(),
            counter: 0,
        }
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false}))
            .unwrap()
    }

    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let map = vec![
            (Cbor::Integer(1), Cbor::Integer(2)),
            (Cbor::Integer(3), Cbor::Integer(-7)),
            (Cbor::Integer(-1), Cbor::Integer(1)),
            (Cbor::Integer(-2), Cbor::Bytes(point.x().unwrap().to_vec())),
            (Cbor::Integer(-3), Cbor::Bytes(point.y().unwrap().to_vec())),
        ];
        serde_cbor_2::to_vec(&Cbor::Map(map.into_iter().collect())).unwrap()
    }

    /// Answer creation options as `navigator.credentials.create` would, at `origin`.
    fn register(&mut self, options: &Value, origin: &str) -> Value {
        let public_key = &options["publicKey"];
        let rp_id = public_key["rp"]["id"].as_str().unwrap();
        self.user_handle = unb64(public_key["user"]["id"].as_str().unwrap());
        let client_data = Self::client_data("webauthn.create", public_key["challenge"].as_str().unwrap(), origin);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(0x45); // user present, user verified, attested credential data
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend(AAGUID);
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let attestation = Cbor::Map(
            vec![
                (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
                (Cbor::Text("attStmt".into()), Cbor::Map(Default::default())),
                (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
            ]
            .into_iter()
            .collect(),
        );
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&serde_cbor_2::to_vec(&attestation).unwrap()),
                "clientDataJSON": b64(&client_data),
            },
            "extensions": {},
        })
    }

    /// Answer request options as `navigator.credentials.get` would, at
    /// `origin`, signing for `rp_id` (the options' own when `None`).
    fn assert(&mut self, options: &Value, origin: &str, rp_id: Option<&str>) -> Value {
        let public_key = &options["publicKey"];
        let rp_id = rp_id.unwrap_or_else(|| public_key["rpId"].as_str().unwrap());
        let client_data = Self::client_data("webauthn.get", public_key["challenge"].as_str().unwrap(), origin);
        self.counter += 1;
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(0x05); // user present, user verified
        auth_data.extend(self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.to_der().as_bytes()),
                "userHandle": b64(&self.user_handle),
            },
            "extensions": {},
        })
    }
}

pub(crate) async fn relying_party(app: &TestApp, tenant: &Tenant) {
    let body = json!({"passkey_rp_id": RP_ID, "passkey_origins": [ORIGIN]});
    let response = app.patch("/v1/tenant", &tenant.token, &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let view: Value = response.json().await.unwrap();
    assert_eq!(view["passkey_rp_id"], RP_ID);
    assert_eq!(view["passkey_origins"], json!([ORIGIN]));
}

/// A person with an account (and `staff_scopes`); returns their id.
async fn person(app: &TestApp, tenant: &Tenant, username: &str, staff_scopes: &[&str]) -> String {
    let created: Value =
        app.post("/v1/people", &tenant.token, &json!({"first_name": "Pim"})).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let body = json!({"password": PASSWORD, "username": username, "staff_scopes": staff_scopes});
    let account = app.post(&format!("/v1/people/{id}/account"), &tenant.token, &body).await;
    assert_eq!(account.status(), StatusCode::CREATED);
    id
}

/// A password sign-in from the first device: the session's tokens.
async fn password_login(app: &TestApp, tenant: &Tenant, username: &str) -> Value {
    let body = json!({"tenant": tenant.slug, "identifier": username, "password": PASSWORD, "device": {"user_agent": FIREFOX_LINUX}});
    let response = app.client.post(app.url("/v1/auth/login")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Register a passkey on `authenticator` for the person signed in with `token`.
pub(crate) async fn register(app: &TestApp, token: &str, authenticator: &mut SoftAuthenticator, name: &str) -> Value {
    let response = app.post("/v1/me/passkeys/registration", token, &json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let options: Value = response.json().await.unwrap();
    let credential = authenticator.register(&options, ORIGIN);
    let response = app.post("/v1/me/passkeys", token, &json!({"name": name, "credential": credential})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn sign_in_options(app: &TestApp, tenant: &Tenant) -> Value {
    let response = app
        .client
        .post(app.url("/v1/auth/passkey/options"))
        .json(&json!({"tenant": tenant.slug}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn passkey_sign_in(app: &TestApp, tenant: &Tenant, credential: &Value) -> reqwest::Response {
    let body = json!({"tenant": tenant.slug, "credential": credential, "device": {"user_agent": SAFARI_MAC}});
    app.client.post(app.url("/v1/auth/passkey")).json(&body).send().await.unwrap()
}

async fn audit(app: &TestApp, tenant: &Tenant, action: &str) -> Vec<Value> {
    let page: Value =
        app.get(&format!("/v1/audit/events?limit=200&action={action}"), &tenant.token).await.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

async fn refused(response: reqwest::Response) {
    let body = assert_problem(response, StatusCode::UNAUTHORIZED, "passkey_invalid").await;
    assert!(body.get("access_token").is_none());
}

both_backends! {
    async fn a_registered_passkey_signs_in_and_its_device_is_recorded(app) {
        let tenant = app.new_tenant().await;
        relying_party(&app, &tenant).await;
        let pim = person(&app, &tenant, "pim", &[]).await;
        let tokens = password_login(&app, &tenant, "pim").await;
        let token = tokens["access_token"].as_str().unwrap();

        // Creation options: a discoverable credential, user verification required.
        let options: Value = app.post("/v1/me/passkeys/registration", token, &json!({})).await.json().await.unwrap();
        let selection = &options["publicKey"]["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required", "{options}");
        assert_eq!(selection["userVerification"], "required");
        assert_eq!(options["publicKey"]["rp"]["id"], RP_ID);

        let mut authenticator = SoftAuthenticator::new();
        let made = register(&app, token, &mut authenticator, "MacBook").await;
        assert_eq!(made["name"], "MacBook");
        assert_eq!(made["aaguid"], "bada5566-a7aa-401f-bd96-45619a55120d");
        assert_eq!(made["authenticator"], "1Password");
        assert!(made["last_used_at"].is_null());
        let passkey_id = made["id"].as_str().unwrap().to_owned();
        let list: Value = app.get("/v1/me/passkeys", token).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert!(!list.to_string().contains(&b64(&authenticator.credential_id)), "no key material: {list}");
        assert_eq!(audit(&app, &tenant, "passkey.registered").await.len(), 1);

        // Sign in with it from another browser: a session, as for a password.
        let options = sign_in_options(&app, &tenant).await;
        assert_eq!(options["publicKey"]["userVerification"], "required");
        assert_eq!(options["publicKey"]["allowCredentials"], json!([]), "discoverable: no account named");
        assert_eq!(options["mediation"], "conditional");
        let assertion = authenticator.assert(&options, ORIGIN, None);
        let response = passkey_sign_in(&app, &tenant, &assertion).await;
        assert_eq!(response.status(), StatusCode::OK);
        let session: Value = response.json().await.unwrap();
        assert_eq!(session["token_type"], "Bearer");
        assert!(session["refresh_token"].is_string() && session["device_key"].is_string());
        let passkey_token = session["access_token"].as_str().unwrap();
        assert_eq!(claims_of(passkey_token)["sub"], pim.as_str());
        let me = app.get("/v1/me", passkey_token).await;
        assert_eq!(me.status(), StatusCode::OK);

        // The device is recorded as for a password sign-in, with the same entries.
        let devices: Value = app.get(&format!("/v1/people/{pim}/devices"), &tenant.token).await.json().await.unwrap();
        let devices = devices["items"].as_array().unwrap();
        assert_eq!(devices.len(), 2, "the password's device and the passkey's: {devices:?}");
        assert!(devices.iter().any(|d| d["id"] == session["device_id"] && d["estimate"]["browser"] == "Safari"));
        assert_eq!(audit(&app, &tenant, "login.succeeded").await.len(), 2);
        let step_up = audit(&app, &tenant, "step_up.passed").await;
        assert_eq!(step_up.len(), 1);
        assert_eq!(step_up[0]["fields"], json!(["passkey"]));
        let list: Value = app.get("/v1/me/passkeys", token).await.json().await.unwrap();
        assert!(list["items"][0]["last_used_at"].is_string());

        // The same assertion again (its challenge is spent): the same 401, no session.
        refused(passkey_sign_in(&app, &tenant, &assertion).await).await;
        assert_eq!(audit(&app, &tenant, "login.succeeded").await.len(), 2);

        // Renamed, exported by name and dates only, removed.
        let renamed = app.patch(&format!("/v1/me/passkeys/{passkey_id}"), token, &json!({"name": "Work laptop"})).await;
        assert_eq!(renamed.status(), StatusCode::OK);
        let export: Value = app.get("/v1/me/export", token).await.json().await.unwrap();
        let exported = export.to_string();
        assert!(exported.contains("Work laptop"), "{exported}");
        assert!(!exported.contains(&b64(&authenticator.credential_id)) && !exported.contains("bada5566"));
        let gone = app.delete(&format!("/v1/me/passkeys/{passkey_id}"), token).await;
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        // Removing it oneself ends the session it started too; the password one goes on.
        assert_eq!(app.get("/v1/me", passkey_token).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/v1/me", token).await.status(), StatusCode::OK);
        assert_eq!(app.delete(&format!("/v1/me/passkeys/{passkey_id}"), token).await.status(), StatusCode::NOT_FOUND);
        let options = sign_in_options(&app, &tenant).await;
        refused(passkey_sign_in(&app, &tenant, &authenticator.assert(&options, ORIGIN, None)).await).await;
    }

    async fn forged_replayed_expired_and_misdirected_answers_never_make_a_session(app) {
        let tenant = app.new_tenant().await;
        relying_party(&app, &tenant).await;
        person(&app, &tenant, "pim", &[]).await;
        let tokens = password_login(&app, &tenant, "pim").await;
        let token = tokens["access_token"].as_str().unwrap();
        let mut authenticator = SoftAuthenticator::new();

        // Registration: a wrong origin, then a challenge used twice, are 422.
        let options: Value = app.post("/v1/me/passkeys/registration", token, &json!({})).await.json().await.unwrap();
        let wrong = authenticator.register(&options, "https://evil.example");
        let response = app.post("/v1/me/passkeys", token, &json!({"name": "Evil", "credential": wrong})).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let again = authenticator.register(&options, ORIGIN);
        let response = app.post("/v1/me/passkeys", token, &json!({"name": "Again", "credential": again})).await;
        let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "credential");
        register(&app, token, &mut authenticator, "Phone").await;
        let logins = audit(&app, &tenant, "login.succeeded").await.len();

        // An altered signature.
        let options = sign_in_options(&app, &tenant).await;
        let mut altered = authenticator.assert(&options, ORIGIN, None);
        let mut signature = unb64(altered["response"]["signature"].as_str().unwrap());
        let last = signature.len() - 1;
        signature[last] ^= 0x01;
        altered["response"]["signature"] = json!(b64(&signature));
        let first = passkey_sign_in(&app, &tenant, &altered).await;
        let first = assert_problem(first, StatusCode::UNAUTHORIZED, "passkey_invalid").await;

        // A credential kluis does not know: the very same answer.
        let options = sign_in_options(&app, &tenant).await;
        let mut stranger = SoftAuthenticator::new();
        stranger.user_handle = authenticator.user_handle.clone();
        let unknown = passkey_sign_in(&app, &tenant, &stranger.assert(&options, ORIGIN, None)).await;
        let unknown = assert_problem(unknown, StatusCode::UNAUTHORIZED, "passkey_invalid").await;
        assert_eq!(first, unknown, "unknown credential and wrong signature answer alike");

        // Another origin, another RP ID.
        let options = sign_in_options(&app, &tenant).await;
        refused(passkey_sign_in(&app, &tenant, &authenticator.assert(&options, "https://evil.example", None)).await).await;
        let options = sign_in_options(&app, &tenant).await;
        refused(passkey_sign_in(&app, &tenant, &authenticator.assert(&options, ORIGIN, Some("evil.example"))).await).await;

        // An expired challenge.
        let options = sign_in_options(&app, &tenant).await;
        {
            use kluis_store::schema::passkey_ceremonies as pc;
            let mut conn = app.conn();
            let past = kluis_core::time::now() - time::Duration::minutes(1);
            let n = diesel::update(pc::table.filter(pc::tenant_id.eq(&tenant.id)))
                .set(pc::expires_at.eq(past))
                .execute(&mut *conn)
                .unwrap();
            assert_eq!(n, 1);
        }
        refused(passkey_sign_in(&app, &tenant, &authenticator.assert(&options, ORIGIN, None)).await).await;

        // Another tenant's challenge does not sign in here.
        let other = app.new_tenant().await;
        relying_party(&app, &other).await;
        let options = sign_in_options(&app, &other).await;
        refused(passkey_sign_in(&app, &tenant, &authenticator.assert(&options, ORIGIN, None)).await).await;

        // A counter that went back: refused, and audited as a clone warning.
        let options = sign_in_options(&app, &tenant).await;
        assert_eq!(passkey_sign_in(&app, &tenant, &authenticator.assert(&options, ORIGIN, None)).await.status(), StatusCode::OK);
        authenticator.counter -= 3;
        let options = sign_in_options(&app, &tenant).await;
        refused(passkey_sign_in(&app, &tenant, &authenticator.assert(&options, ORIGIN, None)).await).await;
        let warnings = audit(&app, &tenant, "passkey.clone_warning").await;
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0]["subject_ref"].is_string());

        assert_eq!(audit(&app, &tenant, "login.succeeded").await.len(), logins + 1, "only the one good assertion");
        assert!(audit(&app, &tenant, "passkey.failed").await.len() >= 6);
    }

    async fn a_staff_member_whose_second_factor_is_a_passkey_gets_staff_scopes(app) {
        let tenant = app.new_tenant().await;
        relying_party(&app, &tenant).await;
        person(&app, &tenant, "sam", &["people:read"]).await;
        let tokens = password_login(&app, &tenant, "sam").await;
        assert_eq!(tokens["scope"], "self", "a password alone grants no staff scope");
        let mut authenticator = SoftAuthenticator::new();
        register(&app, tokens["access_token"].as_str().unwrap(), &mut authenticator, "Key").await;

        let options = sign_in_options(&app, &tenant).await;
        let response = passkey_sign_in(&app, &tenant, &authenticator.assert(&options, ORIGIN, None)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let session: Value = response.json().await.unwrap();
        assert!(session["scope"].as_str().unwrap().split(' ').any(|s| s == "people:read"), "{session}");
        let staff = session["access_token"].as_str().unwrap();
        assert_eq!(app.get("/v1/people", staff).await.status(), StatusCode::OK);

        // A refresh of that session keeps them; the password session still lacks them.
        let refreshed = app
            .client
            .post(app.url("/v1/oauth/token"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", session["refresh_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
        assert_eq!(refreshed.status(), StatusCode::OK);
        let refreshed: Value = refreshed.json().await.unwrap();
        assert!(refreshed["scope"].as_str().unwrap().contains("people:read"), "{refreshed}");
        let password_only = tokens["access_token"].as_str().unwrap();
        assert_eq!(app.get("/v1/people", password_only).await.status(), StatusCode::FORBIDDEN);
    }

    async fn an_unfamiliar_device_steps_up_by_mail_as_for_a_password_and_keeps_the_passkey(app) {
        let tenant = app.new_tenant().await;
        relying_party(&app, &tenant).await;
        // A staff member with a verified address and no TOTP.
        let created: Value = app
            .post("/v1/people", &tenant.token, &json!({"first_name": "Sam", "emails": [{"address": "sam@example.nl", "label": "work"}]}))
            .await
            .json()
            .await
            .unwrap();
        let sam = created["id"].as_str().unwrap().to_owned();
        let body = json!({"password": PASSWORD, "username": "sam", "staff_scopes": ["people:read"]});
        assert_eq!(app.post(&format!("/v1/people/{sam}/account"), &tenant.token, &body).await.status(), StatusCode::CREATED);
        let token = app.mailed_code("sam@example.nl", 1).await;
        let verified = app.client.post(app.url("/v1/auth/verify-email")).json(&json!({"token": token})).send().await.unwrap();
        assert_eq!(verified.status(), StatusCode::NO_CONTENT);
        let tokens = password_login(&app, &tenant, "sam").await;
        let mut authenticator = SoftAuthenticator::new();
        let made = register(&app, tokens["access_token"].as_str().unwrap(), &mut authenticator, "Phone").await;

        // From another browser: the same 202 email_code a password sign-in gets, no session yet.
        let options = sign_in_options(&app, &tenant).await;
        let step = passkey_sign_in(&app, &tenant, &authenticator.assert(&options, ORIGIN, None)).await;
        assert_eq!(step.status(), StatusCode::ACCEPTED);
        let step: Value = step.json().await.unwrap();
        assert_eq!(step["kind"], "email_code", "{step}");
        assert!(step.get("access_token").is_none());
        let code = app.mailed_code("sam@example.nl", 2).await;
        let path = format!("/v1/auth/challenges/{}", step["challenge_id"].as_str().unwrap());
        let passed = app.client.post(app.url(&path)).json(&json!({"code": code})).send().await.unwrap();
        assert_eq!(passed.status(), StatusCode::OK);
        let session: Value = passed.json().await.unwrap();

        // The session is the passkey's: staff scopes without TOTP, the device
        // recorded, and it ends when the passkey is revoked.
        assert!(session["scope"].as_str().unwrap().split(' ').any(|s| s == "people:read"), "{session}");
        let devices: Value = app.get(&format!("/v1/people/{sam}/devices"), &tenant.token).await.json().await.unwrap();
        assert!(devices["items"].as_array().unwrap().iter().any(|d| d["id"] == session["device_id"] && d["estimate"]["browser"] == "Safari"));
        let staff = session["access_token"].as_str().unwrap();
        assert_eq!(app.get("/v1/people", staff).await.status(), StatusCode::OK);
        let path = format!("/v1/people/{sam}/passkeys/{}", made["id"].as_str().unwrap());
        assert_eq!(app.delete(&path, &tenant.token).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get("/v1/me", staff).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/v1/me", tokens["access_token"].as_str().unwrap()).await.status(), StatusCode::OK);
    }

    async fn revoking_a_passkey_ends_its_sessions_and_other_tenants_get_404(app) {
        let tenant = app.new_tenant().await;
        relying_party(&app, &tenant).await;
        let pim = person(&app, &tenant, "pim", &[]).await;
        let tokens = password_login(&app, &tenant, "pim").await;
        let password_token = tokens["access_token"].as_str().unwrap();
        let mut authenticator = SoftAuthenticator::new();
        let made = register(&app, password_token, &mut authenticator, "YubiKey").await;
        let passkey_id = made["id"].as_str().unwrap();
        let options = sign_in_options(&app, &tenant).await;
        let session: Value =
            passkey_sign_in(&app, &tenant, &authenticator.assert(&options, ORIGIN, None)).await.json().await.unwrap();
        let passkey_token = session["access_token"].as_str().unwrap();
        assert_eq!(app.get("/v1/me", passkey_token).await.status(), StatusCode::OK);

        // The administrator sees names, dates and the authenticator, never key material.
        let list = app.get(&format!("/v1/people/{pim}/passkeys"), &tenant.token).await;
        assert_eq!(list.status(), StatusCode::OK);
        let list: Value = list.json().await.unwrap();
        assert_eq!(list["items"][0]["name"], "YubiKey");
        assert_eq!(list["items"][0]["aaguid"], "bada5566-a7aa-401f-bd96-45619a55120d");
        assert!(list["items"][0]["last_used_at"].is_string());
        assert!(!list.to_string().contains(&b64(&authenticator.credential_id)));
        let no_scope = app.new_client(&tenant, &["people:read"]).await;
        let no_scope = app.token(&no_scope).await;
        assert_eq!(app.get(&format!("/v1/people/{pim}/passkeys"), &no_scope).await.status(), StatusCode::FORBIDDEN);

        // Another tenant: its administrator and its people get 404 for these ids.
        let other = app.new_tenant().await;
        relying_party(&app, &other).await;
        person(&app, &other, "olga", &[]).await;
        let olga = password_login(&app, &other, "olga").await;
        let olga = olga["access_token"].as_str().unwrap();
        let path = format!("/v1/people/{pim}/passkeys");
        assert_problem(app.get(&path, &other.token).await, StatusCode::NOT_FOUND, "not_found").await;
        let path = format!("/v1/people/{pim}/passkeys/{passkey_id}");
        assert_problem(app.delete(&path, &other.token).await, StatusCode::NOT_FOUND, "not_found").await;
        let path = format!("/v1/me/passkeys/{passkey_id}");
        assert_problem(app.delete(&path, olga).await, StatusCode::NOT_FOUND, "not_found").await;
        let rename = app.patch(&path, olga, &json!({"name": "Mine now"})).await;
        assert_problem(rename, StatusCode::NOT_FOUND, "not_found").await;
        // Its sign-in does not know this tenant's passkey either.
        let options = sign_in_options(&app, &other).await;
        refused(passkey_sign_in(&app, &other, &authenticator.assert(&options, ORIGIN, None)).await).await;

        // Revoked by the administrator: the session it started ends, the password one goes on.
        let revoked = app.delete(&format!("/v1/people/{pim}/passkeys/{passkey_id}"), &tenant.token).await;
        assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get("/v1/me", passkey_token).await.status(), StatusCode::UNAUTHORIZED);
        let refresh = app
            .client
            .post(app.url("/v1/oauth/token"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", session["refresh_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
        assert_ne!(refresh.status(), StatusCode::OK);
        assert_eq!(app.get("/v1/me", password_token).await.status(), StatusCode::OK);
        assert_eq!(audit(&app, &tenant, "passkey.revoked").await.len(), 1);

        // Erasure takes the passkeys with the account.
        register(&app, password_token, &mut SoftAuthenticator::new(), "Second").await;
        let erased = app.delete(&format!("/v1/people/{pim}"), &tenant.token).await;
        assert!(erased.status().is_success(), "{}", erased.status());
        use kluis_store::schema::passkeys as pk;
        let left: i64 =
            pk::table.filter(pk::tenant_id.eq(&tenant.id)).count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(left, 0);
    }

    async fn passkeys_need_a_valid_relying_party_a_recent_sign_in_and_good_input(app) {
        let tenant = app.new_tenant().await;
        person(&app, &tenant, "pim", &[]).await;
        let tokens = password_login(&app, &tenant, "pim").await;
        let token = tokens["access_token"].as_str().unwrap();

        // Off until the tenant sets its relying party.
        let view: Value = app.get("/v1/tenant", &tenant.token).await.json().await.unwrap();
        assert!(view["passkey_rp_id"].is_null() && view["passkey_origins"] == json!([]));
        let off = app.post("/v1/me/passkeys/registration", token, &json!({})).await;
        assert_problem(off, StatusCode::CONFLICT, "passkeys_not_configured").await;
        let off = app.client.post(app.url("/v1/auth/passkey/options")).json(&json!({"tenant": tenant.slug})).send().await.unwrap();
        assert_problem(off, StatusCode::CONFLICT, "passkeys_not_configured").await;

        // The relying party is validated: 422 naming the field.
        for (body, field) in [
            (json!({"passkey_rp_id": "kluis.test", "passkey_origins": ["https://app.other.test"]}), "passkey_origins"),
            (json!({"passkey_rp_id": "kluis.test", "passkey_origins": ["https://evilkluis.test"]}), "passkey_origins"),
            (json!({"passkey_rp_id": "kluis.test", "passkey_origins": ["http://app.kluis.test"]}), "passkey_origins"),
            (json!({"passkey_rp_id": "kluis.test", "passkey_origins": ["https://app.kluis.test/login"]}), "passkey_origins"),
            (json!({"passkey_rp_id": "kluis.test", "passkey_origins": []}), "passkey_origins"),
            (json!({"passkey_rp_id": "test", "passkey_origins": ["https://test"]}), "passkey_rp_id"),
            (json!({"passkey_rp_id": "Kluis.Test", "passkey_origins": [ORIGIN]}), "passkey_rp_id"),
            (json!({"passkey_rp_id": "10.0.0.1", "passkey_origins": ["https://10.0.0.1"]}), "passkey_rp_id"),
            (json!({"passkey_origins": [ORIGIN]}), "passkey_rp_id"),
        ] {
            let response = app.patch("/v1/tenant", &tenant.token, &body).await;
            let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        }
        let view: Value = app.get("/v1/tenant", &tenant.token).await.json().await.unwrap();
        assert!(view["passkey_rp_id"].is_null(), "nothing was kept");
        let localhost = json!({"passkey_rp_id": "localhost", "passkey_origins": ["http://localhost:8080"]});
        assert_eq!(app.patch("/v1/tenant", &tenant.token, &localhost).await.status(), StatusCode::OK);
        relying_party(&app, &tenant).await;

        // Bad input.
        for body in [
            json!({"name": "", "credential": {}}),
            json!({"name": "x".repeat(101), "credential": {}}),
            json!({"name": "Key", "credential": "not an object"}),
            json!({"name": "Key", "credential": {"id": "x"}}),
        ] {
            let response = app.post("/v1/me/passkeys", token, &body).await;
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        }
        let response = app.post("/v1/me/passkeys", token, &json!({"name": "Key"})).await;
        assert!(response.status().is_client_error());
        let response = app.client.post(app.url("/v1/auth/passkey")).json(&json!({"tenant": tenant.slug, "credential": []})).send().await.unwrap();
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let response = app.client.post(app.url("/v1/auth/passkey/options")).json(&json!({"tenant": ""})).send().await.unwrap();
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let response = app.client.post(app.url("/v1/auth/passkey/options")).json(&json!({"tenant": "no-such-tenant"})).send().await.unwrap();
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        let response = app.patch("/v1/me/passkeys/not-an-id", token, &json!({"name": "Key"})).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(app.get("/v1/me/passkeys", &tenant.token).await.status(), StatusCode::FORBIDDEN);
        let anonymous = app.client.get(app.url("/v1/me/passkeys")).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

        // Registering needs a sign-in of the last 10 minutes, or a current TOTP code.
        {
            use kluis_store::schema::sessions;
            let then = kluis_core::time::now() - time::Duration::minutes(11);
            diesel::update(sessions::table.filter(sessions::tenant_id.eq(&tenant.id)))
                .set(sessions::created_at.eq(then))
                .execute(&mut *app.conn())
                .unwrap();
        }
        let stale = app.post("/v1/me/passkeys/registration", token, &json!({})).await;
        assert_problem(stale, StatusCode::FORBIDDEN, "reauthentication_required").await;
        let wrong = app.post("/v1/me/passkeys/registration", token, &json!({"totp_code": "000000"})).await;
        let problem = assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "totp_code");
        let enrolment: Value = app.post("/v1/me/totp", token, &json!({})).await.json().await.unwrap();
        let secret = enrolment["secret"].as_str().unwrap().to_owned();
        let confirmed = app.post("/v1/me/totp/confirm", token, &json!({"code": totp_code(&secret)})).await;
        assert_eq!(confirmed.status(), StatusCode::OK);
        // The confirming code is spent: the next step's code registers.
        let fresh = totp_code_at(&secret, now() + 30);
        let options = app.post("/v1/me/passkeys/registration", token, &json!({"totp_code": fresh})).await;
        assert_eq!(options.status(), StatusCode::OK);
    }
}

fn now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp() as u64
}

fn totp_code(secret: &str) -> String {
    totp_code_at(secret, now())
}

fn totp_code_at(secret: &str, at: u64) -> String {
    use totp_rs::{Algorithm, Builder, Secret};
    let seed = Secret::try_from_base32(secret).unwrap();
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(seed)
        .build()
        .unwrap();
    totp.generate(at).to_string()
}
