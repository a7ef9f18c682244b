//! The unsubscribe link as a person meets it: a browser's GET shows a page
//! (in the person's language) whose button POSTs, and never acts by itself;
//! the form's POST and an RFC 8058 client's both record, once; links that do
//! not work are pages for browsers and problems for JSON clients; links are
//! bound to their tenant; and the mails that carry them say so in
//! `List-Unsubscribe` headers, while security mails do not.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use kluis_store::schema::{audit_events, consent_events};
use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const PASSWORD: &str = "correct horse battery staple";

async fn new_person(app: &TestApp, tenant: &Tenant, body: Value) -> String {
    let response = app.post("/v1/people", &tenant.token, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn grant(app: &TestApp, tenant: &Tenant, person: &str, purpose: &str) {
    let body = json!({"purpose": purpose, "action": "grant", "source": "web"});
    assert_eq!(
        app.post(&format!("/v1/people/{person}/consents"), &tenant.token, &body).await.status(),
        StatusCode::CREATED
    );
}

async fn allowed(app: &TestApp, tenant: &Tenant, person: &str, purpose: &str) -> bool {
    let answer: Value = app
        .get(&format!("/v1/consents/check?person_id={person}&purpose={purpose}"), &tenant.token)
        .await
        .json()
        .await
        .unwrap();
    answer["allowed"].as_bool().unwrap()
}

/// The path (`/v1/unsubscribe/{token}`) of a fresh link.
async fn link(app: &TestApp, tenant: &Tenant, person: &str, purpose: &str) -> String {
    let response = app.get(&format!("/v1/people/{person}/unsubscribe-link?purpose={purpose}"), &tenant.token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let url = response.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_owned();
    url[url.find("/v1/unsubscribe/").unwrap()..].to_owned()
}

/// Rows that record consent, and audit entries, of a tenant (audited reads flushed first).
fn recorded(app: &TestApp, tenant: &Tenant) -> (i64, i64) {
    app.state.audit_reads.flush();
    let mut conn = app.conn();
    let events =
        consent_events::table.filter(consent_events::tenant_id.eq(&tenant.id)).count().get_result(&mut *conn).unwrap();
    let audit =
        audit_events::table.filter(audit_events::tenant_id.eq(&tenant.id)).count().get_result(&mut *conn).unwrap();
    (events, audit)
}

async fn browse(app: &TestApp, path: &str, language: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path)).header("accept", BROWSER_ACCEPT);
    if let Some(language) = language {
        request = request.header("accept-language", language);
    }
    request.send().await.unwrap()
}

/// What a browser sends when the page's button is pressed.
async fn press(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("accept", BROWSER_ACCEPT)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap()
}

/// What an RFC 8058 client (a mail provider) sends.
async fn one_click(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap()
}

/// A page: its status, the headers a page must carry, and its text.
async fn page(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    let csp = header("content-security-policy");
    for directive in
        ["default-src 'none'", "style-src 'sha256-", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"]
    {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("script-src") && !csp.contains("unsafe"), "{csp}");
    assert_eq!(
        (header("cache-control"), header("x-content-type-options"), header("referrer-policy")),
        ("no-store".to_owned(), "nosniff".to_owned(), "no-referrer".to_owned())
    );
    let html = response.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("<script") && !html.contains("src="), "{html}");
    html
}

/// The headers of a raw `.eml` file, unfolded, as (lowercase name, value).
fn headers_of(eml: &str) -> Vec<(String, String)> {
    let head = eml.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ").replace("\r\n\t", " ");
    head.split("\r\n").filter_map(|l| l.split_once(": ")).map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned())).collect()
}

/// Every raw `.eml` file delivered to `to`, oldest first, once `count` have arrived (10 s at most).
async fn raw_mails_to(app: &TestApp, to: &str, count: usize) -> Vec<String> {
    let started = std::time::Instant::now();
    loop {
        let mut mails: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(app.mail_dir())
            .map(|dir| dir.filter_map(|e| e.ok()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, std::fs::read_to_string(e.path()).ok()?)))
            .filter(|(_, eml)| headers_of(eml).iter().any(|(n, v)| n == "to" && v.contains(to)))
            .collect();
        if mails.len() >= count {
            mails.sort_by_key(|(at, _)| *at);
            return mails.into_iter().map(|(_, eml)| eml).collect();
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{} of {count} mails to {to}", mails.len());
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

both_backends! {
    async fn a_browser_get_shows_the_page_in_the_persons_language_and_records_nothing(app) {
        let tenant = app.new_tenant().await;
        let operator = app.operator_token().await;
        let renamed = app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"name": "Fietsen & Zo <b>"})).await;
        assert_eq!(renamed.status(), StatusCode::OK);
        let dutch = new_person(&app, &tenant, json!({"first_name": "Cees", "language": "nl"})).await;
        grant(&app, &tenant, &dutch, "marketing_email").await;
        let path = link(&app, &tenant, &dutch, "marketing_email").await;
        let before = recorded(&app, &tenant);

        for _ in 0..2 {
            let html = page(browse(&app, &path, Some("en")).await, StatusCode::OK).await;
            assert!(html.contains("<html lang=\"nl\">"), "the person's language before the browser's: {html}");
            assert!(html.contains("Afmelden: Marketing e-mail"), "{html}");
            assert!(html.contains("Fietsen &amp; Zo &lt;b&gt;") && !html.contains("<b>"), "the tenant's name, escaped: {html}");
            assert!(html.contains("<form method=\"post\">"), "{html}");
            assert!(html.contains("name=\"List-Unsubscribe\" value=\"One-Click\">Toestemming intrekken</button>"), "{html}");
        }
        // Nothing a GET does records anything: no consent event, no audit entry, the standing unchanged.
        assert_eq!(recorded(&app, &tenant), before);
        assert!(allowed(&app, &tenant, &dutch, "marketing_email").await);

        // A person without a language: the browser's, else English.
        let nobody = new_person(&app, &tenant, json!({"first_name": "Anon"})).await;
        let path = link(&app, &tenant, &nobody, "marketing_email").await;
        let html = page(browse(&app, &path, Some("nl-BE,nl;q=0.9,en;q=0.5")).await, StatusCode::OK).await;
        assert!(html.contains("<html lang=\"nl\">") && html.contains("Toestemming intrekken"), "{html}");
        let html = page(browse(&app, &path, None).await, StatusCode::OK).await;
        assert!(html.contains("<html lang=\"en\">") && html.contains("Unsubscribe: Marketing e-mail"), "{html}");
        assert!(html.contains(">Withdraw my consent</button>") && html.contains("Nothing changes until you press the button."));

        // A purpose one objects to rather than withdraws from, its name (tenant input) escaped.
        let purpose = json!({"key": "profiling", "name": "Profiling <script>alert(1)</script>", "description": "Guessing interests.",
            "legal_basis": "legitimate_interests", "data_categories": ["user.behavior"], "retention": "P1Y"});
        assert_eq!(app.post("/v1/purposes", &tenant.token, &purpose).await.status(), StatusCode::CREATED);
        let path = link(&app, &tenant, &nobody, "profiling").await;
        let html = page(browse(&app, &path, None).await, StatusCode::OK).await;
        assert!(html.contains("Object: Profiling &lt;script&gt;alert(1)&lt;/script&gt;") && html.contains(">Object</button>"), "{html}");
        assert!(allowed(&app, &tenant, &nobody, "profiling").await, "legitimate interests: allowed until objected");
    }

    async fn the_pages_button_withdraws_and_answers_a_page_and_an_rfc_8058_post_answers_json(app) {
        let tenant = app.new_tenant().await;
        let person = new_person(&app, &tenant, json!({"first_name": "Cees", "language": "nl-NL"})).await;
        grant(&app, &tenant, &person, "marketing_email").await;
        let path = link(&app, &tenant, &person, "marketing_email").await;
        let (events, _) = recorded(&app, &tenant);

        let html = page(press(&app, &path).await, StatusCode::OK).await;
        assert!(html.contains("Toestemming ingetrokken") && html.contains("Marketing e-mail"), "{html}");
        assert!(!html.contains("<form"), "nothing left to press: {html}");
        assert!(!allowed(&app, &tenant, &person, "marketing_email").await, "the button withdrew the consent");
        assert_eq!(recorded(&app, &tenant).0, events + 1);
        let history: Value = app.get(&format!("/v1/people/{person}/consents/history"), &tenant.token).await.json().await.unwrap();
        let last = history["items"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["action"].clone(), last["source"].clone()), (json!("withdraw"), json!("unsubscribe")));

        // Used: a page saying so for the browser, the problem for a JSON client; nothing more recorded.
        // Pages about links that do not work speak the browser's language.
        let html = page(browse(&app, &path, Some("nl")).await, StatusCode::GONE).await;
        assert!(html.contains("Deze link is al gebruikt"), "{html}");
        let html = page(press(&app, &path).await, StatusCode::GONE).await;
        assert!(html.contains("This link was used already"), "{html}");
        assert_problem(one_click(&app, &path).await, StatusCode::GONE, "link_used").await;
        assert_eq!(recorded(&app, &tenant).0, events + 1);

        // An RFC 8058 client's POST (form body, no Accept) on a fresh link: JSON, as before.
        let purpose = json!({"key": "profiling", "name": "Profiling", "description": "Guessing interests.",
            "legal_basis": "legitimate_interests", "data_categories": ["user.behavior"], "retention": "P1Y"});
        assert_eq!(app.post("/v1/purposes", &tenant.token, &purpose).await.status(), StatusCode::CREATED);
        let path = link(&app, &tenant, &person, "profiling").await;
        let response = one_click(&app, &path).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        let done: Value = response.json().await.unwrap();
        assert_eq!((done["purpose"].clone(), done["action"].clone()), (json!("profiling"), json!("object")));
        assert!(!allowed(&app, &tenant, &person, "profiling").await, "the objection stands");
        // A POST without any body, as older clients send, works too.
        let path = link(&app, &tenant, &person, "phone_contact").await;
        assert_eq!(app.client.post(app.url(&path)).send().await.unwrap().status(), StatusCode::OK);
        let withdrawals = app.get("/v1/audit/events?limit=200&action=consent.withdraw", &tenant.token).await.json::<Value>().await.unwrap();
        assert_eq!(withdrawals["items"].as_array().unwrap().len(), 2, "each click audited once");
    }

    async fn links_that_do_not_work_are_pages_for_browsers_and_problems_for_json_clients(app) {
        let tenant = app.new_tenant().await;
        let person = new_person(&app, &tenant, json!({"first_name": "Cees"})).await;
        grant(&app, &tenant, &person, "marketing_email").await;
        let path = link(&app, &tenant, &person, "marketing_email").await;
        let token = path.trim_start_matches("/v1/unsubscribe/");
        let mut altered = token.to_owned().into_bytes();
        altered[7] = if altered[7] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        let before = recorded(&app, &tenant);
        for bad in [altered, format!("{token}x"), "nonsense".to_owned(), kluis_core::new_id()] {
            let bad = format!("/v1/unsubscribe/{bad}");
            let html = page(browse(&app, &bad, Some("nl")).await, StatusCode::NOT_FOUND).await;
            assert!(html.contains("Deze link is niet geldig") && !html.contains("<form"), "{html}");
            let html = page(browse(&app, &bad, None).await, StatusCode::NOT_FOUND).await;
            assert!(html.contains("This link is not valid"), "{html}");
            let json = app.client.get(app.url(&bad)).header("accept", "application/json").send().await.unwrap();
            assert_problem(json, StatusCode::NOT_FOUND, "not_found").await;
            let html = page(press(&app, &bad).await, StatusCode::BAD_REQUEST).await;
            assert!(html.contains("This link is not valid"), "{html}");
            assert_problem(one_click(&app, &bad).await, StatusCode::BAD_REQUEST, "invalid_link").await;
        }
        let expired = {
            let mut conn = app.conn();
            let past = kluis_core::time::now() - time::Duration::days(1);
            let (tenant, person) = (kluis_core::TenantId(tenant.id.clone()), kluis_core::PersonId(person.clone()));
            kluis_consent::unsubscribe::issue(&mut conn, &tenant, &person, "marketing_email", past).unwrap()
        };
        let expired = format!("/v1/unsubscribe/{expired}");
        let html = page(browse(&app, &expired, None).await, StatusCode::GONE).await;
        assert!(html.contains("This link has expired"), "{html}");
        let json = app.client.get(app.url(&expired)).header("accept", "application/problem+json").send().await.unwrap();
        assert_problem(json, StatusCode::GONE, "link_expired").await;
        assert_eq!(recorded(&app, &tenant), before, "nothing recorded, nothing audited");
        assert!(allowed(&app, &tenant, &person, "marketing_email").await);

        // What a link points to is gone: the person erased.
        assert_eq!(app.delete(&format!("/v1/people/{person}"), &tenant.token).await.status(), StatusCode::OK);
        let html = page(browse(&app, &path, None).await, StatusCode::GONE).await;
        assert!(html.contains("This link no longer works"), "{html}");
    }

    async fn a_link_is_bound_to_its_tenant(app) {
        let a = app.new_tenant().await;
        let b = app.new_tenant().await;
        let theirs = new_person(&app, &b, json!({"first_name": "B"})).await;
        let ours = new_person(&app, &a, json!({"first_name": "A"})).await;
        grant(&app, &a, &ours, "marketing_email").await;
        grant(&app, &b, &theirs, "marketing_email").await;
        let path = link(&app, &a, &ours, "marketing_email").await;
        let (payload, signature) = path.trim_start_matches("/v1/unsubscribe/").split_once('.').unwrap();
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(text.contains(&a.id) && text.contains(&ours), "the link names its tenant and person: {text}");
        let before = recorded(&app, &b);
        // A's link, rewritten to name B (and B's person), keeps A's signature: B's key refuses it.
        for forged in [text.replace(&a.id, &b.id), text.replace(&a.id, &b.id).replace(&ours, &theirs), text.replace(&ours, &theirs)] {
            let forged = format!("/v1/unsubscribe/{}.{signature}", URL_SAFE_NO_PAD.encode(forged));
            page(browse(&app, &forged, None).await, StatusCode::NOT_FOUND).await;
            assert_problem(one_click(&app, &forged).await, StatusCode::BAD_REQUEST, "invalid_link").await;
            page(press(&app, &forged).await, StatusCode::BAD_REQUEST).await;
        }
        assert_eq!(recorded(&app, &b), before, "nothing recorded or audited in B");
        assert!(allowed(&app, &b, &theirs, "marketing_email").await);
        assert!(allowed(&app, &a, &ours, "marketing_email").await);
        // The real link acts in A only, and B's page shows B's name, not A's.
        assert_eq!(one_click(&app, &path).await.status(), StatusCode::OK);
        assert!(!allowed(&app, &a, &ours, "marketing_email").await);
        assert!(allowed(&app, &b, &theirs, "marketing_email").await);
        assert_eq!(recorded(&app, &b), before);
    }

    async fn the_purpose_notice_carries_list_unsubscribe_and_security_mails_do_not(app) {
        let tenant = app.new_tenant().await;
        let address = "headers@example.nl";
        let person = new_person(&app, &tenant, json!({"first_name": "Cees", "emails": [{"address": address, "label": "private"}]})).await;
        let account = app.post(&format!("/v1/people/{person}/account"), &tenant.token, &json!({"password": PASSWORD})).await;
        assert_eq!(account.status(), StatusCode::CREATED);
        let verification = raw_mails_to(&app, address, 1).await.remove(0);
        let reset = app.client.post(app.url("/v1/auth/password-reset")).json(&json!({"tenant": tenant.slug, "email": address})).send().await.unwrap();
        assert_eq!(reset.status(), StatusCode::ACCEPTED);
        let reset = raw_mails_to(&app, address, 2).await.remove(1);
        for security in [&verification, &reset] {
            assert!(headers_of(security).iter().all(|(name, _)| !name.starts_with("list-")), "{security}");
        }

        let purpose = json!({"key": "fraud_checks", "name": "Fraud checks", "description": "Spotting fraud.",
            "legal_basis": "legitimate_interests", "data_categories": ["user.device"], "retention": "P2Y"});
        assert_eq!(app.post("/v1/purposes", &tenant.token, &purpose).await.status(), StatusCode::CREATED);
        let notice = raw_mails_to(&app, address, 3).await.remove(2);
        let headers = headers_of(&notice);
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        assert_eq!(header("list-unsubscribe-post"), "List-Unsubscribe=One-Click", "{notice}");
        let list = header("list-unsubscribe");
        let url = list.strip_prefix('<').and_then(|l| l.strip_suffix('>')).unwrap_or_else(|| panic!("<url> in {list}"));
        assert!(url.starts_with(&format!("{}/v1/unsubscribe/", app.settings.public_url())), "{url}");
        let path = &url[url.find("/v1/unsubscribe/").unwrap()..];
        // The header's link is the page's, and a mail client's one-click records the objection.
        let html = page(browse(&app, path, None).await, StatusCode::OK).await;
        assert!(html.contains("Object: Fraud checks"), "{html}");
        assert!(allowed(&app, &tenant, &person, "fraud_checks").await);
        assert_eq!(one_click(&app, path).await.status(), StatusCode::OK);
        assert!(!allowed(&app, &tenant, &person, "fraud_checks").await);
    }
}
