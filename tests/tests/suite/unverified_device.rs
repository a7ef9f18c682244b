//! An unfamiliar device of a person with nothing to confirm it by (issue 13,
//! item 1.4): the sign-in fails closed by default (403 `device_unverifiable`,
//! audited, a verification mail to the unverified address); the TOTP code of
//! the sign-in is the step-up; a verified address still gets a mailed code;
//! a tenant may choose to trust such devices (`unverified_device: trust`).

use diesel::prelude::*;
use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

const PASSWORD: &str = "correct horse battery staple";
const CHROME_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

/// A person with an account; `email` (unverified) as their primary address when given.
async fn person(app: &TestApp, tenant: &Tenant, email: Option<&str>, username: &str) -> String {
    let mut body = json!({"first_name": "Uma"});
    if let Some(email) = email {
        body["emails"] = json!([{"address": email, "label": "private"}]);
    }
    let created: Value = app.post("/v1/people", &tenant.token, &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let account = app
        .post(&format!("/v1/people/{id}/account"), &tenant.token, &json!({"password": PASSWORD, "username": username}))
        .await;
    assert_eq!(account.status(), StatusCode::CREATED);
    id
}

async fn login(app: &TestApp, tenant: &Tenant, identifier: &str, user_agent: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"tenant": tenant.slug, "identifier": identifier, "password": PASSWORD, "device": {"user_agent": user_agent}}))
        .send()
        .await
        .unwrap()
}

async fn devices(app: &TestApp, tenant: &Tenant, person: &str) -> usize {
    let list: Value = app.get(&format!("/v1/people/{person}/devices"), &tenant.token).await.json().await.unwrap();
    list["items"].as_array().unwrap().len()
}

async fn audit(app: &TestApp, tenant: &Tenant, action: &str) -> Vec<Value> {
    let page: Value =
        app.get(&format!("/v1/audit/events?limit=200&action={action}"), &tenant.token).await.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

/// Pretend every verification mail of the tenant went out 11 minutes ago.
fn age_verification_mails(app: &TestApp, tenant: &Tenant) {
    use kluis_store::schema::auth_tokens;
    let mut conn = app.conn();
    let then = kluis_core::time::now() - time::Duration::minutes(11);
    diesel::update(auth_tokens::table.filter(auth_tokens::tenant_id.eq(&tenant.id)))
        .set(auth_tokens::created_at.eq(then))
        .execute(&mut *conn)
        .unwrap();
}

fn totp_code(secret: &str, at: u64) -> String {
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

fn now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp() as u64
}

both_backends! {
    async fn an_unfamiliar_device_without_a_verified_address_or_totp_is_refused_by_default(app) {
        let tenant = app.new_tenant().await;
        let operator = app.operator_token().await;
        let view: Value = app.get(&format!("/v1/tenants/{}", tenant.id), &operator).await.json().await.unwrap();
        assert_eq!(view["unverified_device"], "refuse", "fail closed by default: {view}");
        let uma = person(&app, &tenant, Some("uma@example.nl"), "uma").await;
        app.mailed_code("uma@example.nl", 1).await;

        // The first device is trusted; an unfamiliar one is refused, and no session or device is made.
        assert_eq!(login(&app, &tenant, "uma", CHROME_WINDOWS).await.status(), StatusCode::OK);
        let refused = login(&app, &tenant, "uma", SAFARI_IPHONE).await;
        assert!(refused.headers().get("retry-after").is_none());
        let body = assert_problem(refused, StatusCode::FORBIDDEN, "device_unverifiable").await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("/v1/auth/verify-email") && detail.contains("verification mail"), "{detail}");
        assert!(!detail.contains("uma@example.nl"), "the detail names no address: {detail}");
        assert_eq!(devices(&app, &tenant, &uma).await, 1, "the refused device is not stored");
        assert_eq!(audit(&app, &tenant, "login.succeeded").await.len(), 1, "only the first sign-in started a session");

        // The refusal is audited, with no personal data in its fields.
        let entries = audit(&app, &tenant, "login.refused").await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0]["target_kind"], "device");
        assert_eq!(entries[0]["fields"], json!([]));
        assert!(entries[0]["subject_ref"].is_string());
        assert!(!entries[0].to_string().contains("uma@example.nl") && !entries[0].to_string().contains("\"uma\""));
        assert!(audit(&app, &tenant, "device.trusted").await.len() == 1, "only the first device was trusted");

        // The account's verification mail is seconds old: no second one yet.
        actix_web::rt::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(app.mails_to("uma@example.nl").len(), 1);
        // Ten minutes on, a refusal mails a fresh code, once.
        age_verification_mails(&app, &tenant);
        assert_eq!(login(&app, &tenant, "uma", SAFARI_IPHONE).await.status(), StatusCode::FORBIDDEN);
        let code = app.mailed_code("uma@example.nl", 2).await;
        assert_eq!(login(&app, &tenant, "uma", SAFARI_IPHONE).await.status(), StatusCode::FORBIDDEN);
        actix_web::rt::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(app.mails_to("uma@example.nl").len(), 2, "at most one reminder in 10 minutes");
        assert_eq!(audit(&app, &tenant, "login.refused").await.len(), 3);

        // Verified with the mailed code, the same device gets the mailed-code step-up (as before).
        let verified = app.client.post(app.url("/v1/auth/verify-email")).json(&json!({"token": code})).send().await.unwrap();
        assert_eq!(verified.status(), StatusCode::NO_CONTENT);
        let step = login(&app, &tenant, "uma", SAFARI_IPHONE).await;
        assert_eq!(step.status(), StatusCode::ACCEPTED);
        let challenge: Value = step.json().await.unwrap();
        assert_eq!(challenge["kind"], "email_code");
        let device_code = app.mailed_code("uma@example.nl", 3).await;
        let path = format!("/v1/auth/challenges/{}", challenge["challenge_id"].as_str().unwrap());
        let passed = app.client.post(app.url(&path)).json(&json!({"code": device_code})).send().await.unwrap();
        assert_eq!(passed.status(), StatusCode::OK);
        assert_eq!(devices(&app, &tenant, &uma).await, 2);
    }

    async fn a_person_without_any_address_is_told_to_get_one(app) {
        let tenant = app.new_tenant().await;
        person(&app, &tenant, None, "noaddr").await;
        assert_eq!(login(&app, &tenant, "noaddr", CHROME_WINDOWS).await.status(), StatusCode::OK);
        let refused = login(&app, &tenant, "noaddr", SAFARI_IPHONE).await;
        let body = assert_problem(refused, StatusCode::FORBIDDEN, "device_unverifiable").await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("no e-mail address") && detail.contains("/v1/auth/verify-email"), "{detail}");
        assert_eq!(audit(&app, &tenant, "login.refused").await.len(), 1);
    }

    async fn totp_answered_in_the_sign_in_is_the_step_up_for_an_unverified_address(app) {
        let tenant = app.new_tenant().await;
        let tess = person(&app, &tenant, Some("tess@example.nl"), "tess").await;
        app.mailed_code("tess@example.nl", 1).await;
        let session: Value = login(&app, &tenant, "tess", CHROME_WINDOWS).await.json().await.unwrap();
        let access = session["access_token"].as_str().unwrap().to_owned();
        let enrol: Value = app.client.post(app.url("/v1/me/totp")).bearer_auth(&access).send().await.unwrap().json().await.unwrap();
        let secret = enrol["secret"].as_str().unwrap().to_owned();
        let confirm = app.post("/v1/me/totp/confirm", &access, &json!({"code": totp_code(&secret, now())})).await;
        assert_eq!(confirm.status(), StatusCode::OK);

        // The unfamiliar device is challenged with TOTP, and that is its step-up: no mail, a session.
        let step = login(&app, &tenant, "tess", SAFARI_IPHONE).await;
        assert_eq!(step.status(), StatusCode::ACCEPTED);
        let challenge: Value = step.json().await.unwrap();
        assert_eq!(challenge["kind"], "totp");
        let path = format!("/v1/auth/challenges/{}", challenge["challenge_id"].as_str().unwrap());
        let answered = app.client.post(app.url(&path)).json(&json!({"code": totp_code(&secret, now() + 30)})).send().await.unwrap();
        assert_eq!(answered.status(), StatusCode::OK);
        let answered: Value = answered.json().await.unwrap();
        assert!(answered["access_token"].is_string() && answered["device_key"].is_string(), "{answered}");
        assert_eq!(devices(&app, &tenant, &tess).await, 2);
        actix_web::rt::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(app.mails_to("tess@example.nl").len(), 1, "only the account's verification mail: no device code");
        let passed = audit(&app, &tenant, "step_up.passed").await;
        assert_eq!(passed.len(), 1);
        assert_eq!(passed[0]["fields"], json!(["totp"]));
        assert!(audit(&app, &tenant, "login.refused").await.is_empty());
    }

    async fn a_tenant_that_opts_in_trusts_the_device_and_says_so_in_the_log(app) {
        let tenant = app.new_tenant().await;
        let operator = app.operator_token().await;
        let lax = person(&app, &tenant, Some("lax@example.nl"), "lax").await;
        assert_eq!(login(&app, &tenant, "lax", CHROME_WINDOWS).await.status(), StatusCode::OK);
        let patched = app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"unverified_device": "trust"})).await;
        assert_eq!(patched.status(), StatusCode::OK);
        assert_eq!(patched.json::<Value>().await.unwrap()["unverified_device"], "trust");
        let update = audit(&app, &tenant, "tenant.update").await;
        assert_eq!(update[0]["fields"], json!(["unverified_device"]));

        let signed = login(&app, &tenant, "lax", SAFARI_IPHONE).await;
        assert_eq!(signed.status(), StatusCode::OK);
        assert!(signed.json::<Value>().await.unwrap()["device_key"].is_string());
        assert_eq!(devices(&app, &tenant, &lax).await, 2);
        assert_eq!(audit(&app, &tenant, "device.trusted").await.len(), 2, "the device is audited as trusted");
        assert!(audit(&app, &tenant, "login.refused").await.is_empty());

        // And back: refused again.
        let back = app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"unverified_device": "refuse"})).await;
        assert_eq!(back.status(), StatusCode::OK);
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
        assert_problem(login(&app, &tenant, "lax", firefox).await, StatusCode::FORBIDDEN, "device_unverifiable").await;
    }

    async fn a_bad_setting_is_422_naming_the_field_and_another_tenants_settings_are_untouchable(app) {
        let tenant = app.new_tenant().await;
        let other = app.new_tenant().await;
        let operator = app.operator_token().await;
        // `true` and `1` included: serde_json calls those a syntax error, but the body is JSON.
        for bad in [json!("maybe"), json!(true), json!(null), json!(1), json!(["trust"])] {
            let response = app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"unverified_device": bad})).await;
            if bad.is_null() {
                // null is "leave it as it is", like every absent field of a PATCH.
                assert_eq!(response.status(), StatusCode::OK);
                continue;
            }
            let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(body["errors"][0]["field"], "unverified_device", "{body}");
        }
        let view: Value = app.get(&format!("/v1/tenants/{}", tenant.id), &operator).await.json().await.unwrap();
        assert_eq!(view["unverified_device"], "refuse", "nothing changed");

        // A tenant's own admin client (every tenant scope) cannot read or change any tenant's settings.
        let foreign = app.patch(&format!("/v1/tenants/{}", other.id), &tenant.token, &json!({"unverified_device": "trust"})).await;
        assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
        let own = app.patch(&format!("/v1/tenants/{}", tenant.id), &tenant.token, &json!({"unverified_device": "trust"})).await;
        assert_eq!(own.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.get(&format!("/v1/tenants/{}", other.id), &tenant.token).await.status(), StatusCode::FORBIDDEN);
        let view: Value = app.get(&format!("/v1/tenants/{}", other.id), &operator).await.json().await.unwrap();
        assert_eq!(view["unverified_device"], "refuse", "the other tenant's setting is untouched");
        // An unknown tenant id is 404 for the operator.
        let random = format!("/v1/tenants/{}", uuid::Uuid::now_v7());
        let missing = app.patch(&random, &operator, &json!({"unverified_device": "trust"})).await;
        assert_problem(missing, StatusCode::NOT_FOUND, "not_found").await;
    }
}
