//! Behind a trusted reverse proxy, what kluis records of a caller's address
//! (the audit log, a consent's proof) is the client's, taken from
//! `X-Forwarded-For`, truncated; never the proxy's own address.

use kluis_tests::{Backend, StatusCode, TestApp};
use serde_json::{Value, json};

/// The chain a proxy reports: the client added last by the one trusted hop.
const FORWARDED: &str = "198.51.100.1, 203.0.113.7";

async fn client_address_is_recorded_behind_a_trusted_proxy(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await
    else {
        return;
    };
    let tenant = app.new_tenant().await;
    let created = app
        .client
        .post(app.url("/v1/people"))
        .bearer_auth(&tenant.token)
        .header("x-forwarded-for", FORWARDED)
        .header("x-request-id", "proxied-create")
        .json(&json!({"first_name": "Proxied"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let person = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    let granted = app
        .client
        .post(app.url(&format!("/v1/people/{person}/consents")))
        .bearer_auth(&tenant.token)
        .header("x-forwarded-for", FORWARDED)
        .json(&json!({"purpose": "marketing_email", "action": "grant", "source": "web"}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), StatusCode::CREATED);
    let grant: Value = granted.json().await.unwrap();
    assert_eq!(grant["ip_prefix"], "203.0.0.0", "the consent proof holds the client's address, truncated");
    let history: Value =
        app.get(&format!("/v1/people/{person}/consents/history"), &tenant.token).await.json().await.unwrap();
    assert_eq!(history["items"][0]["ip_prefix"], "203.0.0.0", "and keeps it: {history}");

    let events: Value = app.get("/v1/audit/events?action=person.create", &tenant.token).await.json().await.unwrap();
    let entry = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request_id"] == "proxied-create")
        .cloned()
        .unwrap_or_else(|| panic!("no person.create entry in {events}"));
    assert_eq!(entry["ip_prefix"], "203.0.0.0", "the audit entry holds the client's address, truncated");

    // A request straight to kluis (no proxy header) is recorded with the
    // connection's own address.
    let direct = app
        .post(
            &format!("/v1/people/{person}/consents"),
            &tenant.token,
            &json!({"purpose": "marketing_email", "action": "withdraw", "source": "web"}),
        )
        .await;
    assert_eq!(direct.status(), StatusCode::CREATED);
    assert_eq!(direct.json::<Value>().await.unwrap()["ip_prefix"], "127.0.0.0");
}

#[actix_web::test]
async fn client_address_is_recorded_behind_a_trusted_proxy_sqlite() {
    client_address_is_recorded_behind_a_trusted_proxy(Backend::Sqlite).await;
}

#[actix_web::test]
async fn client_address_is_recorded_behind_a_trusted_proxy_postgres() {
    client_address_is_recorded_behind_a_trusted_proxy(Backend::Postgres).await;
}

#[actix_web::test]
async fn an_untrusted_connection_cannot_choose_its_recorded_address() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = TestApp::spawn(backend).await else {
            continue;
        };
        let tenant = app.new_tenant().await;
        let person: Value =
            app.post("/v1/people", &tenant.token, &json!({"first_name": "Direct"})).await.json().await.unwrap();
        let person = person["id"].as_str().unwrap();
        let granted = app
            .client
            .post(app.url(&format!("/v1/people/{person}/consents")))
            .bearer_auth(&tenant.token)
            .header("x-forwarded-for", FORWARDED)
            .json(&json!({"purpose": "marketing_email", "action": "grant", "source": "web"}))
            .send()
            .await
            .unwrap();
        assert_eq!(granted.status(), StatusCode::CREATED);
        assert_eq!(granted.json::<Value>().await.unwrap()["ip_prefix"], "127.0.0.0", "{backend:?}");
    }
}
