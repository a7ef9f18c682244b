//! The reference privacy centre at `/privacy/{tenant_slug}/`: served only for
//! a tenant that turns it on, with a policy that loads nothing from
//! elsewhere; mails link to it; and a person clicks through it in headless
//! Chromium (Playwright), each effect checked through the API.

use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

const PASSWORD: &str = "correct horse battery staple";

async fn turn_on(app: &TestApp, tenant: &Tenant, settings: Value) -> Value {
    let response = app.patch("/v1/tenant", &tenant.token, &settings).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// A person with an account and an e-mail address; their id.
async fn person_with_account(app: &TestApp, tenant: &Tenant, email: &str) -> String {
    let body = json!({"first_name": "Fenna", "language": "en", "emails": [{"address": email, "label": "private"}]});
    let response = app.post("/v1/people", &tenant.token, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let person: Value = response.json().await.unwrap();
    let id = person["id"].as_str().unwrap().to_owned();
    let account = app.post(&format!("/v1/people/{id}/account"), &tenant.token, &json!({"password": PASSWORD})).await;
    assert_eq!(account.status(), StatusCode::CREATED);
    id
}

/// A second person with TOTP turned on; the secret their authenticator holds.
async fn person_with_totp(app: &TestApp, tenant: &Tenant, email: &str) -> String {
    person_with_account(app, tenant, email).await;
    let login = json!({"tenant": tenant.slug, "identifier": email, "password": PASSWORD});
    let session: Value =
        app.client.post(app.url("/v1/auth/login")).json(&login).send().await.unwrap().json().await.unwrap();
    let access = session["access_token"].as_str().unwrap().to_owned();
    let enrol: Value =
        app.client.post(app.url("/v1/me/totp")).bearer_auth(&access).send().await.unwrap().json().await.unwrap();
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(&secret).unwrap())
        .build()
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    let confirmed = app.post("/v1/me/totp/confirm", &access, &json!({"code": totp.generate(now).to_string()})).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    secret
}

both_backends! {
    async fn the_centre_is_served_only_for_an_active_tenant_that_turned_it_on(app) {
        let tenant = app.new_tenant().await;
        let other = app.new_tenant().await;
        let page = format!("/privacy/{}/", tenant.slug);
        // Off by default: the same 404 as a tenant that does not exist.
        assert_problem(app.client.get(app.url(&page)).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.client.get(app.url("/privacy/no-such-tenant/")).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        let off: Value = app.get("/v1/tenant", &tenant.token).await.json().await.unwrap();
        assert_eq!(off["privacy_centre"], false);

        // Bad input is a problem, and changes nothing.
        let bad = app.patch("/v1/tenant", &tenant.token, &json!({"privacy_centre": "yes"})).await;
        assert!(bad.status().is_client_error(), "{}", bad.status());
        assert!(bad.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
        let unchanged: Value = app.get("/v1/tenant", &tenant.token).await.json().await.unwrap();
        assert_eq!((unchanged["privacy_centre"].clone(), unchanged["version"].clone()), (json!(false), off["version"].clone()));

        // The tenant's name is markup-escaped on its page.
        let operator = app.operator_token().await;
        let renamed = app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"name": "<b>Bakkerij</b> & Zn"})).await;
        assert_eq!(renamed.status(), StatusCode::OK);
        let on = turn_on(&app, &tenant, json!({"privacy_centre": true})).await;
        assert_eq!(on["privacy_centre"], true);
        let response = app.client.get(app.url(&page)).header("accept", "text/html").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("connect-src 'self'") && csp.contains("default-src 'none'"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(headers["cache-control"], "no-store");
        let html = response.text().await.unwrap();
        assert!(html.contains("&lt;b&gt;Bakkerij&lt;/b&gt; &amp; Zn") && !html.contains("<b>Bakkerij"), "{html}");
        assert!(html.contains(&format!("data-tenant=\"{}\"", tenant.slug)));

        // Its script and style sheet come from kluis itself.
        for (asset, kind) in [("/privacy/_/centre.js", "text/javascript; charset=utf-8"), ("/privacy/_/centre.css", "text/css; charset=utf-8")] {
            let response = app.client.get(app.url(asset)).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{asset}");
            assert_eq!(response.headers()["content-type"], kind, "{asset}");
            assert!(!response.text().await.unwrap().is_empty());
        }
        // Without the slash: a redirect to where the page's relative links work.
        let bare = app.client.get(app.url(&format!("/privacy/{}", tenant.slug))).send().await.unwrap();
        assert_eq!(bare.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(bare.headers()["location"], format!("{}/", tenant.slug));
        // Pages answer GET; other methods are 405 with Allow.
        let posted = app.client.post(app.url(&page)).send().await.unwrap();
        assert_eq!(posted.headers()["allow"], "GET, HEAD");
        assert_problem(posted, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

        // Another tenant's centre stays off; a suspended tenant's goes away.
        let elsewhere = app.client.get(app.url(&format!("/privacy/{}/", other.slug))).send().await.unwrap();
        assert_problem(elsewhere, StatusCode::NOT_FOUND, "not_found").await;
        let suspended = app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"status": "suspended"})).await;
        assert_eq!(suspended.status(), StatusCode::OK);
        assert_problem(app.client.get(app.url(&page)).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn mails_link_to_the_centre_unless_the_tenant_has_its_own_pages(app) {
        let tenant = app.new_tenant().await;
        turn_on(&app, &tenant, json!({"privacy_centre": true})).await;
        person_with_account(&app, &tenant, "centre@example.nl").await;
        let code = app.mailed_code("centre@example.nl", 1).await;
        let centre = format!("{}/privacy/{}/#verify=", app.settings.public_url(), tenant.slug);
        let mail = &app.mails_to("centre@example.nl")[0];
        assert!(mail.contains(&format!("{centre}{code}")), "the centre's link:\n{mail}");

        let reset = app.client.post(app.url("/v1/auth/password-reset"))
            .json(&json!({"tenant": tenant.slug, "email": "centre@example.nl"})).send().await.unwrap();
        assert_eq!(reset.status(), StatusCode::ACCEPTED);
        let code = app.mailed_code("centre@example.nl", 2).await;
        let link = format!("{}/privacy/{}/#reset={code}", app.settings.public_url(), tenant.slug);
        assert!(app.mails_to("centre@example.nl")[1].contains(&link));

        // The tenant's own link base wins over the centre's.
        turn_on(&app, &tenant, json!({"verify_email_url": "https://app.example.nl/verify?token={token}"})).await;
        person_with_account(&app, &tenant, "own@example.nl").await;
        let code = app.mailed_code("own@example.nl", 1).await;
        let mail = &app.mails_to("own@example.nl")[0];
        assert!(mail.contains(&format!("https://app.example.nl/verify?token={code}")) && !mail.contains("/privacy/"), "{mail}");
        // A tenant without the centre mails only the code.
        let plain = app.new_tenant().await;
        person_with_account(&app, &plain, "plain@example.nl").await;
        app.mailed_code("plain@example.nl", 1).await;
        assert!(!app.mails_to("plain@example.nl")[0].contains("/privacy/"));
    }

    async fn a_person_signs_in_consents_downloads_and_asks_for_erasure_in_chromium(app) {
        let tenant = app.new_tenant().await;
        // An erasure waits an hour, so that its request can be seen.
        turn_on(&app, &tenant, json!({"privacy_centre": true, "self_erasure_grace_seconds": 3600})).await;
        for (title, body) in [("Privacy statement", "What we keep, and why."), ("Privacy statement 2", "Now also: newsletters.")] {
            let version = json!({"title": title, "body": body, "material": false});
            assert_eq!(app.post("/v1/policies/privacy/versions", &tenant.token, &version).await.status(), StatusCode::CREATED);
        }
        let email = "fenna@example.nl";
        let person = person_with_account(&app, &tenant, email).await;
        app.mailed_code(email, 1).await;
        let prefix = format!("{}/privacy/{}/", app.settings.public_url(), tenant.slug);
        let link = app.mails_to(email)[0].lines().find_map(|l| l.trim().strip_prefix(prefix.as_str()).map(str::to_owned)).expect("the link");
        let totp_secret = person_with_totp(&app, &tenant, "tweestaps@example.nl").await;
        let centre = app.url(&format!("/privacy/{}/", tenant.slug));
        let shots = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/centre");
        std::fs::create_dir_all(&shots).unwrap();
        let screenshot = shots.join(format!("{:?}.png", app.backend).to_lowercase());
        let config = json!({
            "chromium": std::env::var("KLUIS_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
            "centre": centre,
            "verify_link": format!("{centre}{link}"),
            "email": email,
            "password": PASSWORD,
            "first_name": "Fenna",
            "purpose": "marketing_email",
            "mail_dir": app.mail_dir(),
            "mails_before": app.mails_to(email).len(),
            "screenshot": screenshot,
            "totp_email": "tweestaps@example.nl",
            "totp_secret": totp_secret,
        });
        let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("centre/e2e.py");
        let python = kluis_tests::venv_python("playwright");
        // The browser talks to this test's server: wait for it off the runtime the server runs on.
        let run = move || std::process::Command::new(python).arg(script).arg(config.to_string()).output();
        let output = actix_web::rt::task::spawn_blocking(run).await.unwrap().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "the browser run failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        let seen: Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
        assert_eq!(seen["fragment_cleared"], true, "{seen}");
        assert_eq!(seen["policy"], "Privacy statement: Privacy statement 2", "{seen}");
        assert_eq!(seen["export_has_email"], true, "{seen}");
        assert_eq!(seen["export_format"], "kluis.export.v1", "{seen}");
        assert_eq!(seen["dutch_lang"], "nl", "{seen}");
        assert_eq!(seen["totp_signed_in"], "Fenna", "{seen}");
        let errors = seen["console_errors"].as_array().unwrap();
        assert!(errors.iter().all(|e| e.as_str().unwrap().starts_with("Failed to load resource")), "CSP or script errors: {seen}");
        assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000, "a screenshot in {}", screenshot.display());

        // The API shows each effect: the verified address, the consent,
        // both devices, the export and the erasure request.
        let read: Value = app.get(&format!("/v1/people/{person}"), &tenant.token).await.json().await.unwrap();
        assert!(read["emails"][0]["verified_at"].is_string(), "{read}");
        let check: Value = app.get(&format!("/v1/consents/check?person_id={person}&purpose=marketing_email"), &tenant.token)
            .await.json().await.unwrap();
        assert_eq!(check["allowed"], true, "{check}");
        let devices: Value = app.get(&format!("/v1/people/{person}/devices"), &tenant.token).await.json().await.unwrap();
        assert_eq!(devices["items"].as_array().unwrap().len(), 2, "{devices}");
        // The audit log names the person by the pseudonym of their subject
        // (`actor_kind` `subject`): one and the same for the three acts.
        let mut actors = std::collections::BTreeSet::new();
        for action in ["person.export", "erasure.request", "consent.grant"] {
            let events: Value = app.get(&format!("/v1/audit/events?action={action}"), &tenant.token).await.json().await.unwrap();
            let by_subject: Vec<&Value> = events["items"].as_array().unwrap().iter().filter(|e| e["actor_kind"] == "subject").collect();
            assert_eq!(by_subject.len(), 1, "{action} by the person: {events}");
            actors.insert(by_subject[0]["actor_id"].as_str().unwrap().to_owned());
        }
        assert_eq!(actors.len(), 1, "{actors:?}");
        // Another tenant cannot see any of it.
        let other = app.new_tenant().await;
        assert_problem(app.get(&format!("/v1/people/{person}"), &other.token).await, StatusCode::NOT_FOUND, "not_found").await;
    }
}
