//! Webhooks over HTTP with a real receiver on 127.0.0.1: Standard Webhooks
//! signatures verified by the independent `standardwebhooks` library
//! (Python, from `.venv-ci`), retries with a growing schedule, a 410 that
//! disables, replays, the SSRF guard, and erasure reaching every app that
//! held a reference (Art. 17(2), 19) with both acknowledgements on the receipt.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use kluis_tests::{Backend, StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    id: String,
    timestamp: String,
    signature: String,
    pub(crate) body: String,
}

/// A local webhook receiver answering scripted statuses (then 204).
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    pub(crate) url: String,
}

async fn receive(req: HttpRequest, body: web::Bytes, receiver: web::Data<Receiver>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    receiver.got.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    let status = receiver.script.lock().unwrap().pop_front().unwrap_or(204);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).body(format!("answered {status}"))
}

impl Receiver {
    pub(crate) fn start(script: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            ..Receiver::default()
        };
        let data = web::Data::new(receiver.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(receive)))
            .workers(1)
            .listen(listener)
            .unwrap()
            .run();
        actix_web::rt::spawn(server);
        receiver
    }

    pub(crate) fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Wait (up to 30 s) until `n` requests came; them.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Received> {
        let started = std::time::Instant::now();
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "receiver got {} of {n} requests", got.len());
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn json_of(what: &str, response: reqwest::Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn new_webhook(app: &TestApp, tenant: &Tenant, body: Value) -> Value {
    json_of("webhook", app.post("/v1/webhooks", &tenant.token, &body).await, StatusCode::CREATED).await
}

async fn new_person(app: &TestApp, tenant: &Tenant) -> String {
    let person = json_of(
        "person",
        app.post("/v1/people", &tenant.token, &json!({"first_name": "Mira"})).await,
        StatusCode::CREATED,
    )
    .await;
    person["id"].as_str().unwrap().to_owned()
}

/// Wait (up to 30 s) until the endpoint's delivery log shows `n` deliveries
/// none of them pending; the log.
async fn settled(app: &TestApp, tenant: &Tenant, webhook: &str, n: usize) -> Vec<Value> {
    let started = std::time::Instant::now();
    loop {
        let page = json_of(
            "deliveries",
            app.get(&format!("/v1/webhooks/{webhook}/deliveries"), &tenant.token).await,
            StatusCode::OK,
        )
        .await;
        let items = page["items"].as_array().unwrap().clone();
        if items.len() >= n && items.iter().all(|d| d["status"] != "pending") {
            return items;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "deliveries did not settle: {items:#?}");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The interpreter of `.venv-ci` with the `standardwebhooks` package.
fn python() -> PathBuf {
    kluis_tests::venv_python("standardwebhooks")
}

const VERIFY: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, messages = sys.argv[1], json.load(sys.stdin)
for m in messages:
    headers = {"webhook-id": m["id"], "webhook-timestamp": m["timestamp"], "webhook-signature": m["signature"]}
    Webhook(secret).verify(m["body"], headers)
print("verified", len(messages))
"#;

/// Whether the independent library accepts every message under `secret`.
fn verifies(secret: &str, messages: &[Received]) -> bool {
    use std::io::Write;
    let input: Vec<Value> = messages
        .iter()
        .map(|m| json!({"id": m.id, "timestamp": m.timestamp, "signature": m.signature, "body": m.body}))
        .collect();
    let mut child = std::process::Command::new(python())
        .args(["-c", VERIFY, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(serde_json::to_string(&input).unwrap().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    if !output.status.success() {
        eprintln!("standardwebhooks refused: {}", String::from_utf8_lossy(&output.stderr));
    }
    output.status.success()
}

fn at(value: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(value.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
}

both_backends! {
    async fn deliveries_are_signed_as_standard_webhooks_say(app) {
        let tenant = app.new_tenant().await;
        let receiver = Receiver::start(&[]);
        let hook = new_webhook(&app, &tenant,
            json!({"url": receiver.url, "event_types": ["person.created", "person.updated"], "description": "crm"})).await;
        let secret = hook["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"), "{hook}");
        assert_eq!(hook["enabled"], true);
        assert_eq!(hook["client_id"], tenant.admin.client_id);
        let id = hook["id"].as_str().unwrap().to_owned();
        // The secret is shown once.
        let read = json_of("webhook", app.get(&format!("/v1/webhooks/{id}"), &tenant.token).await, StatusCode::OK).await;
        assert!(read.get("secret").is_none(), "{read}");

        let person = new_person(&app, &tenant).await;
        let got = receiver.wait_for(1).await;
        let body: Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(body["type"], "person.created");
        assert_eq!(body["data"]["person_id"], person);
        assert!(body["timestamp"].is_string());
        assert!(got[0].signature.starts_with("v1,") && !got[0].signature.contains(' '));
        assert!(verifies(&secret, &got[..1]), "the independent library verifies kluis's signature");
        assert!(!verifies("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &got[..1]), "and refuses another secret's");

        // A rotation: for 24 hours each delivery is signed under both secrets.
        let rotated = json_of("rotate", app.post(&format!("/v1/webhooks/{id}/secret"), &tenant.token, &json!({})).await,
            StatusCode::OK).await;
        let fresh = rotated["secret"].as_str().unwrap().to_owned();
        assert_ne!(fresh, secret);
        assert!(rotated["previous_secret_expires_at"].is_string());
        let response = app.patch(&format!("/v1/people/{person}"), &tenant.token, &json!({"last_name": "Jansen"})).await;
        assert_eq!(response.status(), StatusCode::OK);
        let got = receiver.wait_for(2).await;
        let body: Value = serde_json::from_str(&got[1].body).unwrap();
        assert_eq!(body["type"], "person.updated");
        assert_eq!(body["data"]["fields"], json!(["last_name"]), "field names, never values");
        assert!(!got[1].body.contains("Jansen"));
        assert_eq!(got[1].signature.split(' ').count(), 2, "{}", got[1].signature);
        assert!(verifies(&fresh, &got[1..2]) && verifies(&secret, &got[1..2]));
        assert_ne!(got[0].id, got[1].id);

        // The log shows the acknowledged deliveries.
        let log = settled(&app, &tenant, &id, 2).await;
        assert!(log.iter().all(|d| d["status"] == "succeeded" && d["response_status"] == 204 && d["attempts"] == 1), "{log:#?}");
        assert_eq!(log[0]["event_type"], "person.updated", "newest first");
        assert!(log[0]["acknowledged_at"].is_string() && log[0]["latency_ms"].is_i64());
    }

    async fn a_receiver_failing_twice_gets_the_event_three_times_with_growing_gaps(app) {
        let tenant = app.new_tenant().await;
        let receiver = Receiver::start(&[500, 503]);
        let hook = new_webhook(&app, &tenant, json!({"url": receiver.url, "event_types": ["person.created"]})).await;
        let id = hook["id"].as_str().unwrap();
        new_person(&app, &tenant).await;
        let log = settled(&app, &tenant, id, 1).await;
        let delivery = &log[0];
        assert_eq!(delivery["status"], "succeeded", "{delivery:#}");
        assert_eq!(delivery["attempts"], 3);
        let got = receiver.got();
        assert_eq!(got.len(), 3, "the event came 3 times");
        assert!(got.iter().all(|r| r.id == got[0].id), "with one webhook-id to deduplicate on");
        let attempts = delivery["attempt_log"].as_array().unwrap();
        let statuses: Vec<&Value> = attempts.iter().map(|a| &a["response_status"]).collect();
        assert_eq!(statuses, [&json!(500), &json!(503), &json!(204)]);
        assert_eq!(attempts[0]["response_body"], "answered 500");
        // The server's own schedule: each wait longer than the one before.
        let gap1 = at(&attempts[1]["scheduled_at"]) - at(&attempts[0]["attempted_at"]);
        let gap2 = at(&attempts[2]["scheduled_at"]) - at(&attempts[1]["attempted_at"]);
        assert!(gap1 > time::Duration::ZERO && gap2 > gap1, "gaps {gap1} then {gap2}");
    }

    async fn a_410_disables_the_endpoint_and_a_replay_sends_again(app) {
        let tenant = app.new_tenant().await;
        let receiver = Receiver::start(&[410]);
        let hook = new_webhook(&app, &tenant, json!({"url": receiver.url, "event_types": ["person.created"]})).await;
        let id = hook["id"].as_str().unwrap();
        new_person(&app, &tenant).await;
        let log = settled(&app, &tenant, id, 1).await;
        assert_eq!((&log[0]["status"], &log[0]["attempts"]), (&json!("failed"), &json!(1)));
        let read = json_of("webhook", app.get(&format!("/v1/webhooks/{id}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!((&read["enabled"], &read["disabled_reason"]), (&json!(false), &json!("gone")));
        // Disabled: nothing new goes out, and a replay waits for it to be enabled.
        new_person(&app, &tenant).await;
        let delivery = log[0]["id"].as_str().unwrap();
        let replay = format!("/v1/webhooks/{id}/deliveries/{delivery}/replay");
        assert_problem(app.post(&replay, &tenant.token, &json!({})).await, StatusCode::CONFLICT, "webhook_disabled").await;
        let enabled = app.patch(&format!("/v1/webhooks/{id}"), &tenant.token, &json!({"enabled": true})).await;
        let enabled = json_of("enable", enabled, StatusCode::OK).await;
        assert_eq!((&enabled["enabled"], &enabled["disabled_reason"]), (&json!(true), &Value::Null));
        let replayed = json_of("replay", app.post(&replay, &tenant.token, &json!({})).await, StatusCode::ACCEPTED).await;
        assert_eq!(replayed["event_id"], log[0]["event_id"]);
        let got = receiver.wait_for(2).await;
        assert_eq!(got.len(), 2, "the person made while disabled was not sent");
        assert_eq!(got[1].id, got[0].id, "a replay keeps the webhook-id");
        assert_eq!(got[1].body, got[0].body);
        let log = settled(&app, &tenant, id, 2).await;
        assert_eq!(log[0]["status"], "succeeded");
    }

    async fn three_days_of_failure_disable_the_endpoint_and_mail_the_privacy_contact(app) {
        let tenant = app.new_tenant().await;
        let contact = "privacy@hooks-failing.example";
        let settings = json!({"privacy_contact_email": contact});
        json_of("tenant", app.patch("/v1/tenant", &tenant.token, &settings).await, StatusCode::OK).await;
        let receiver = Receiver::start(&[500; 20]);
        let hook = new_webhook(&app, &tenant, json!({"url": receiver.url, "event_types": ["person.created"]})).await;
        let id = hook["id"].as_str().unwrap();
        new_person(&app, &tenant).await;
        receiver.wait_for(1).await;
        // The first attempt failed and a retry waits. Move the event three
        // days and more into the past (the clock the schedule reads), due now.
        {
            use diesel::prelude::*;
            use kluis_store::schema::webhook_deliveries as d;
            let mut conn = app.conn();
            let conn: &mut kluis_store::Db = &mut conn;
            let started = std::time::Instant::now();
            loop {
                let row = d::table.filter(d::tenant_id.eq(&tenant.id)).select((d::attempts, d::lease_holder)).first::<(i64, Option<String>)>(conn).unwrap();
                if row.0 >= 1 && row.1.is_none() {
                    break;
                }
                assert!(started.elapsed() < Duration::from_secs(10), "the first attempt was not recorded");
                actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            }
            let now = kluis_core::time::now();
            diesel::update(d::table.filter(d::tenant_id.eq(&tenant.id)))
                .set((d::created_at.eq(now - time::Duration::days(4)), d::next_attempt_at.eq(Some(now))))
                .execute(conn)
                .unwrap();
        }
        let log = settled(&app, &tenant, id, 1).await;
        assert_eq!(log[0]["status"], "failed");
        let read = json_of("webhook", app.get(&format!("/v1/webhooks/{id}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!((&read["enabled"], &read["disabled_reason"]), (&json!(false), &json!("failing")));
        let started = std::time::Instant::now();
        let mail = loop {
            if let Some(mail) = app.mails_to(contact).into_iter().find(|m| m.contains(id)) {
                break mail;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no mail to the privacy contact");
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(mail.contains("A webhook endpoint was disabled"), "{mail}");
        assert!(mail.contains("failed for three days") && mail.contains(&receiver.url), "{mail}");
        assert_eq!(app.mails_to(contact).len(), 1, "one mail for one disabling");
    }

    async fn erasure_reaches_every_app_that_held_a_reference(app) {
        let tenant = app.new_tenant().await;
        let person = new_person(&app, &tenant).await;
        let mut apps = Vec::new();
        for name in ["webshop", "crm"] {
            // An app that only reads can say it holds a reference.
            let client = app.new_client(&tenant, &["people:read"]).await;
            let token = app.token(&client).await;
            let reference = json_of("reference", app.post(&format!("/v1/people/{person}/references"), &token,
                &json!({"app": name, "external_ref": format!("{name}-7")})).await, StatusCode::CREATED).await;
            let receiver = Receiver::start(&[]);
            let hook = new_webhook(&app, &tenant, json!({"url": receiver.url, "event_types": ["person.erased"],
                "client_id": client.client_id})).await;
            apps.push((client, reference, receiver, hook));
        }
        let erased = json_of("erase", app.delete(&format!("/v1/people/{person}"), &tenant.token).await, StatusCode::OK).await;
        let receipt_id = erased["id"].as_str().unwrap().to_owned();
        assert_eq!(erased["webhooks"].as_array().unwrap().len(), 2, "{erased:#}");
        for (client, reference, receiver, _) in &apps {
            let got = receiver.wait_for(1).await;
            let body: Value = serde_json::from_str(&got[0].body).unwrap();
            assert_eq!(body["type"], "person.erased");
            assert_eq!(body["data"]["person_id"], person);
            assert_eq!(body["data"]["erasure_id"], receipt_id);
            assert_eq!(body["data"]["references"], json!([{"id": reference["id"], "app": reference["app"],
                "external_ref": reference["external_ref"]}]), "each app gets its own references only ({})", client.client_id);
        }
        // The receipt shows who was told, when delivered, when acknowledged.
        let started = std::time::Instant::now();
        let receipt = loop {
            let receipt = json_of("receipt", app.get(&format!("/v1/erasures/{receipt_id}"), &tenant.token).await,
                StatusCode::OK).await;
            if receipt["webhooks"].as_array().unwrap().iter().all(|w| w["acknowledged_at"].is_string()) {
                break receipt;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "not acknowledged: {receipt:#}");
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        };
        let told: Vec<(&Value, &Value)> = receipt["webhooks"].as_array().unwrap().iter()
            .map(|w| (&w["client_id"], &w["status"])).collect();
        for (client, _, _, hook) in &apps {
            assert!(told.contains(&(&json!(client.client_id), &json!("succeeded"))), "{receipt:#}");
            assert!(receipt["webhooks"].as_array().unwrap().iter().any(|w| w["webhook_id"] == hook["id"] && w["delivered_at"].is_string()));
        }
        // Once acknowledged the body naming the erased person is dropped: no replay.
        let (_, _, _, hook) = &apps[0];
        let hook_id = hook["id"].as_str().unwrap();
        let log = settled(&app, &tenant, hook_id, 1).await;
        let replay = format!("/v1/webhooks/{hook_id}/deliveries/{}/replay", log[0]["id"].as_str().unwrap());
        assert_problem(app.post(&replay, &tenant.token, &json!({})).await, StatusCode::CONFLICT, "payload_gone").await;
    }

    async fn consent_events_reach_endpoints_narrowed_to_their_purpose(app) {
        let tenant = app.new_tenant().await;
        let purposes = json_of("purposes", app.get("/v1/purposes", &tenant.token).await, StatusCode::OK).await;
        let consent_purposes: Vec<String> = purposes["items"].as_array().unwrap().iter()
            .filter(|p| p["legal_basis"] == "consent").map(|p| p["key"].as_str().unwrap().to_owned()).collect();
        assert!(consent_purposes.len() >= 2, "{purposes:#}");
        let receiver = Receiver::start(&[]);
        new_webhook(&app, &tenant, json!({"url": receiver.url, "event_types": ["consent.changed"],
            "purposes": [consent_purposes[0]]})).await;
        let person = new_person(&app, &tenant).await;
        for purpose in &consent_purposes[..2] {
            let response = app.post(&format!("/v1/people/{person}/consents"), &tenant.token,
                &json!({"purpose": purpose, "action": "grant", "source": "web"})).await;
            assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        }
        let got = receiver.wait_for(1).await;
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.got().len(), 1, "only the endpoint's purpose");
        let body: Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(body["type"], "consent.changed");
        assert_eq!((&body["data"]["purpose"], &body["data"]["action"]), (&json!(consent_purposes[0]), &json!("grant")));
    }

    async fn webhook_input_scope_and_tenant_are_checked(app) {
        let tenant = app.new_tenant().await;
        let url = "https://hooks.example.com/kluis";
        for (body, field) in [
            (json!({"url": "ftp://hooks.example.com/", "event_types": ["person.created"]}), "url"),
            (json!({"url": "https://user:pw@hooks.example.com/", "event_types": ["person.created"]}), "url"),
            (json!({"url": url, "event_types": ["person.deleted"]}), "event_types[0]"),
            (json!({"url": url, "event_types": ["person.created", "person.created"]}), "event_types[1]"),
            (json!({"url": url, "event_types": []}), "event_types"),
            (json!({"url": url, "event_types": ["consent.changed"], "purposes": ["no_such_purpose"]}), "purposes[0]"),
            (json!({"url": url, "event_types": ["person.created"], "client_id": "0190a0a0-0000-7000-8000-000000000000"}), "client_id"),
        ] {
            let problem = assert_problem(app.post("/v1/webhooks", &tenant.token, &body).await,
                StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == field), "{field}: {problem}");
        }
        let hook = new_webhook(&app, &tenant, json!({"url": url, "event_types": ["person.created"]})).await;
        let id = hook["id"].as_str().unwrap();
        let path = format!("/v1/webhooks/{id}");
        // If-Match.
        let stale = app.client.patch(app.url(&path)).bearer_auth(&tenant.token).header("If-Match", "\"99\"")
            .json(&json!({"description": "x"})).send().await.unwrap();
        assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
        let bad_patch = app.patch(&path, &tenant.token, &json!({"url": "http://insecure.example.com/"})).await;
        // The harness allows http; the URL still needs a host and no credentials.
        assert_eq!(bad_patch.status(), StatusCode::OK);
        // Wrong scope.
        let reader = app.new_client(&tenant, &["people:read"]).await;
        let reader = app.token(&reader).await;
        assert_problem(app.get("/v1/webhooks", &reader).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.post("/v1/webhooks", &reader, &json!({"url": url, "event_types": ["person.created"]})).await,
            StatusCode::FORBIDDEN, "insufficient_scope").await;
        // No token.
        let anonymous = app.client.get(app.url("/v1/webhooks")).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        // Another tenant's endpoint is absent.
        let other = app.new_tenant().await;
        assert_problem(app.get(&path, &other.token).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.patch(&path, &other.token, &json!({"enabled": false})).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.get(&format!("{path}/deliveries"), &other.token).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.post(&format!("{path}/secret"), &other.token, &json!({})).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.delete(&path, &other.token).await, StatusCode::NOT_FOUND, "not_found").await;
        let listed = json_of("list", app.get("/v1/webhooks", &other.token).await, StatusCode::OK).await;
        assert_eq!(listed["items"], json!([]));
        // Deleted.
        assert_eq!(app.delete(&path, &tenant.token).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.get(&path, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
    }
}

/// An app as the operator runs it by default: https only, no private addresses.
async fn strict(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |s| {
        s.webhooks_allow_private = false;
        s.webhooks_allow_http = false;
    })
    .await
}

async fn private_and_plain_http_urls_are_refused(app: TestApp) {
    let tenant = app.new_tenant().await;
    for (url, code_field) in [
        ("https://127.0.0.1:8443/hook", "url"),
        ("https://[::1]/hook", "url"),
        ("https://169.254.169.254/latest/meta-data", "url"),
        ("https://10.0.0.7/hook", "url"),
        ("https://localhost/hook", "url"),
        ("http://hooks.example.com/hook", "url"),
    ] {
        let problem = assert_problem(
            app.post("/v1/webhooks", &tenant.token, &json!({"url": url, "event_types": ["person.created"]})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], code_field, "{url}: {problem}");
    }
    new_webhook(&app, &tenant, json!({"url": "https://hooks.example.com/hook", "event_types": ["person.created"]}))
        .await;
}

#[actix_web::test]
async fn private_and_plain_http_urls_are_refused_sqlite() {
    private_and_plain_http_urls_are_refused(strict(Backend::Sqlite).await.unwrap()).await;
}

#[actix_web::test]
async fn private_and_plain_http_urls_are_refused_postgres() {
    if let Some(app) = strict(Backend::Postgres).await {
        private_and_plain_http_urls_are_refused(app).await;
    }
}
