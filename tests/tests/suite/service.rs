//! Serviced devices (issue 19, section 2): items taken in and their
//! status, sealed customer credentials (never in a response, a log line,
//! an audit entry or any table in clear; revealed only with a reason,
//! the `service:reveal` scope and, for staff, 2FA; gone when the item is
//! returned), customer-data backups purged by a sweep once restored and
//! not before, notes per customer, export and erasure, and another
//! tenant's ids answered 404.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use diesel::QueryableByName;
use diesel::sql_types::Text;
use kluis_store::Db;
use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends, claims_of};
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

const PASSWORD: &str = "correct horse battery staple";

/// A response that must have `status`; its body.
async fn expect(response: reqwest::Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }
}

/// A response that must have `status`; its body as text (to search it).
async fn expect_text(response: reqwest::Response, status: StatusCode) -> String {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    text
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

/// A fresh secret that nothing else in the database could contain.
fn plaintext() -> String {
    format!("Pw-{}-geheim!", uuid::Uuid::now_v7().simple())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every log line the test process writes from here on (the app runs in
/// it): a global subscriber at `debug` for kluis, `info` for the rest.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Captured(buffer.clone());
        let filter = tracing_subscriber::EnvFilter::new(
            "info,kluis_api=debug,kluis_app=debug,kluis_server=debug,kluis_service=debug,kluis_store=debug",
        );
        let installed = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init()
            .is_ok();
        assert!(installed || std::env::var("TEST_LOG").is_ok(), "the log capture could not be installed");
        buffer
    })
}

#[derive(Clone)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    row: String,
}

/// Every row of every table in the database, as text (binary columns in hex).
fn every_row(app: &TestApp) -> Vec<(String, String)> {
    let mut conn = app.conn();
    let conn: &mut Db = &mut conn;
    let tables = kluis_store::dump::live_tables(conn).unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let sql = match conn {
            Db::Sqlite(_) => {
                let columns: Vec<Name> = diesel::RunQueryDsl::load(
                    diesel::sql_query(format!("SELECT name FROM pragma_table_info('{table}')")),
                    conn,
                )
                .unwrap();
                let parts: Vec<String> =
                    columns.iter().map(|c| format!("COALESCE(quote(\"{}\"), '')", c.name)).collect();
                format!("SELECT {} AS row FROM \"{table}\"", parts.join(" || '|' || "))
            }
            Db::Pg(_) => format!("SELECT t::text AS row FROM \"{table}\" t"),
        };
        let found: Vec<Row> = diesel::RunQueryDsl::load(diesel::sql_query(sql), conn).unwrap();
        rows.extend(found.into_iter().map(|r| (table.clone(), r.row)));
    }
    rows
}

/// The tables whose rows contain `needle` (as text, or its bytes in hex).
fn tables_containing(app: &TestApp, needle: &str) -> Vec<String> {
    let as_hex = hex(needle.as_bytes());
    let mut found: Vec<String> = every_row(app)
        .into_iter()
        .filter(|(_, row)| row.contains(needle) || row.to_lowercase().contains(&as_hex))
        .map(|(table, _)| table)
        .collect();
    found.dedup();
    found
}

fn sealed_secrets(app: &TestApp, tenant: &Tenant) -> Vec<Vec<u8>> {
    use diesel::prelude::*;
    use kluis_store::schema::service_credentials as c;
    let mut conn = app.conn();
    c::table.filter(c::tenant_id.eq(&tenant.id)).order(c::id.asc()).select(c::secret).load(&mut *conn).unwrap()
}

fn count_rows(app: &TestApp, tenant: &Tenant, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.conn();
    let conn: &mut Db = &mut conn;
    let sql = match conn {
        Db::Sqlite(_) => format!("SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = '{}'", tenant.id),
        Db::Pg(_) => format!("SELECT COUNT(*)::bigint AS n FROM {table} WHERE tenant_id = '{}'", tenant.id),
    };
    let n: Vec<N> = diesel::RunQueryDsl::load(diesel::sql_query(sql), conn).unwrap();
    n[0].n
}

async fn person(app: &TestApp, tenant: &Tenant, name: &str) -> String {
    id(&expect(app.post("/v1/people", &tenant.token, &json!({"first_name": name})).await, StatusCode::CREATED).await)
}

async fn item(app: &TestApp, tenant: &Tenant, person: &str) -> Value {
    let body = json!({"kind": "laptop", "make": "Lenovo", "model": "ThinkPad T14", "serial": "PF-3XK9Q",
        "request": "Replace the SSD and put the user's data back"});
    expect(app.post(&format!("/v1/people/{person}/service-items"), &tenant.token, &body).await, StatusCode::CREATED)
        .await
}

async fn credential(app: &TestApp, tenant: &Tenant, item_path: &str, secret: &str) -> Value {
    let body =
        json!({"kind": "apple_id", "label": "Apple ID of the MacBook", "login": "sanne@example.nl", "secret": secret});
    expect(app.post(&format!("{item_path}/credentials"), &tenant.token, &body).await, StatusCode::CREATED).await
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

async fn login(app: &TestApp, tenant: &Tenant, identifier: &str) -> Value {
    let response = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"tenant": tenant.slug, "identifier": identifier, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

/// Wait (up to 10 s) until `to` has received `count` mails; all of them.
async fn mails_to(app: &TestApp, to: &str, count: usize) -> Vec<String> {
    let started = std::time::Instant::now();
    loop {
        let mails = app.mails_to(to);
        if mails.len() >= count {
            return mails;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "no mail #{count} to {to}");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn sweep(app: &TestApp, tenant: &Tenant) -> Value {
    expect(app.post("/v1/retention/sweeps", &tenant.token, &json!({})).await, StatusCode::CREATED).await
}

/// Wait until the clock is past the default policy's period (PT1S) after
/// an event, at whole-second precision.
async fn past_period() {
    actix_web::rt::time::sleep(std::time::Duration::from_millis(2100)).await;
}

both_backends! {
    async fn items_are_taken_in_changed_moved_through_their_statuses_and_deleted(app) {
        let tenant = app.new_tenant().await;
        let sanne = person(&app, &tenant, "Sanne").await;
        let base = format!("/v1/people/{sanne}/service-items");
        let created = app.post(&base, &tenant.token, &json!({"kind": "phone", "request": "Screen cracked"})).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        assert_eq!(created.headers()["etag"], "\"1\"");
        let location = created.headers()["location"].to_str().unwrap().to_owned();
        let phone: Value = created.json().await.unwrap();
        assert_eq!(location, format!("{base}/{}", id(&phone)));
        assert_eq!(phone["status"], "received");
        assert!(phone["received_at"].is_string() && phone["returned_at"].is_null());
        let laptop = item(&app, &tenant, &sanne).await;
        let page = expect(app.get(&base, &tenant.token).await, StatusCode::OK).await;
        let listed: Vec<String> = page["items"].as_array().unwrap().iter().map(id).collect();
        assert_eq!(listed, [id(&phone), id(&laptop)]);
        let path = format!("{base}/{}", id(&laptop));
        assert_eq!(expect(app.get(&path, &tenant.token).await, StatusCode::OK).await["serial"], "PF-3XK9Q");

        // Status: forward, back from ready to work, never back to received, nothing after returned.
        let step = |status: &'static str| json!({"status": status});
        let moved = expect(app.patch(&path, &tenant.token, &step("in_progress")).await, StatusCode::OK).await;
        assert_eq!((moved["status"].clone(), moved["version"].clone()), (json!("in_progress"), json!(2)));
        assert_problem(app.patch(&path, &tenant.token, &step("received")).await, StatusCode::CONFLICT, "service_status_transition").await;
        let ready = expect(app.patch(&path, &tenant.token, &step("ready")).await, StatusCode::OK).await;
        assert!(ready["ready_at"].is_string());
        expect(app.patch(&path, &tenant.token, &step("in_progress")).await, StatusCode::OK).await;
        let stale = app.client.patch(app.url(&path)).bearer_auth(&tenant.token).header("if-match", "\"1\"").json(&json!({"model": "T14s"})).send().await.unwrap();
        assert_problem(stale, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
        let returned = expect(app.patch(&path, &tenant.token, &json!({"status": "returned", "model": null})).await, StatusCode::OK).await;
        assert!(returned["returned_at"].is_string() && returned["model"].is_null(), "{returned}");
        assert_problem(app.patch(&path, &tenant.token, &step("ready")).await, StatusCode::CONFLICT, "service_status_transition").await;

        // Bad input: 422 naming each field, nothing stored.
        let problem = assert_problem(app.post(&base, &tenant.token, &json!({"kind": "toaster", "request": "x"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(fields(&problem), ["kind"]);
        let future = (time::OffsetDateTime::now_utc() + time::Duration::days(2)).format(&time::format_description::well_known::Rfc3339).unwrap();
        let body = json!({"kind": "laptop", "request": "", "make": "x".repeat(101), "received_at": future});
        let problem = assert_problem(app.post(&base, &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let mut named = fields(&problem);
        named.sort();
        assert!(named.contains(&"make".to_owned()) && named.contains(&"request".to_owned()), "{problem}");
        let body = json!({"kind": "laptop", "request": "Card 4111 1111 1111 1111 on the sticker"});
        assert_eq!(fields(&assert_problem(app.post(&base, &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["request"]);
        let body = json!({"kind": "laptop", "request": "Backup first", "received_at": future});
        assert_eq!(fields(&assert_problem(app.post(&base, &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["received_at"]);
        let page = expect(app.get(&base, &tenant.token).await, StatusCode::OK).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 2, "nothing of the bad input was stored");

        // Scopes: read is not write; no token is 401; another person's path is 404.
        let reader = app.new_client(&tenant, &["service:read"]).await;
        let reader = app.token(&reader).await;
        assert_eq!(app.get(&path, &reader).await.status(), StatusCode::OK);
        assert_problem(app.post(&base, &reader, &json!({"kind": "phone", "request": "x"})).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_eq!(app.client.get(app.url(&path)).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        let piet = person(&app, &tenant, "Piet").await;
        assert_problem(app.get(&format!("/v1/people/{piet}/service-items/{}", id(&laptop)), &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(app.delete(&path, &tenant.token).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.get(&path, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn a_credential_is_sealed_never_shown_and_revealed_only_with_a_reason_and_the_scope(app) {
        let logs = logs();
        let tenant = app.new_tenant().await;
        let sanne = person(&app, &tenant, "Sanne").await;
        let laptop = item(&app, &tenant, &sanne).await;
        let item_path = format!("/v1/people/{sanne}/service-items/{}", id(&laptop));
        let secret = plaintext();
        let first = app.post(&format!("{item_path}/credentials"), &tenant.token, &json!({"kind": "apple_id", "label": "Apple ID", "login": "sanne@example.nl", "secret": secret})).await;
        let first = expect_text(first, StatusCode::CREATED).await;
        assert!(!first.contains(&secret), "{first}");
        let first: Value = serde_json::from_str(&first).unwrap();
        assert!(first.get("secret").is_none());
        // The same secret twice: sealed differently (own nonce, bound to its row).
        let second = credential(&app, &tenant, &item_path, &secret).await;
        let sealed = sealed_secrets(&app, &tenant);
        assert_eq!(sealed.len(), 2);
        assert_ne!(sealed[0], sealed[1], "the ciphertext differs per credential");
        let listed = expect_text(app.get(&format!("{item_path}/credentials"), &tenant.token).await, StatusCode::OK).await;
        assert!(!listed.contains(&secret) && listed.contains("sanne@example.nl"), "{listed}");
        assert_eq!(tables_containing(&app, &secret), Vec::<String>::new(), "the plaintext is in no table");

        // Reveal: a reason is required; the scope too (no other implies it).
        let reveal = format!("{item_path}/credentials/{}/reveal", id(&first));
        let problem = assert_problem(app.post(&reveal, &tenant.token, &json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(fields(&problem), ["reason"]);
        let problem = assert_problem(app.post(&reveal, &tenant.token, &json!({"reason": ""})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(fields(&problem), ["reason"]);
        let all_but_reveal: Vec<&str> = vec!["clients:admin", "people:read", "people:write", "accounts:admin", "retention:admin", "requests:admin", "audit:read", "service:read", "service:write"];
        let others = app.new_client(&tenant, &all_but_reveal).await;
        let others = app.token(&others).await;
        assert!(!claims_of(&others)["scope"].as_str().unwrap().contains("service:reveal"));
        assert_problem(app.post(&reveal, &others, &json!({"reason": "customer asked"})).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert!(claims_of(&tenant.token)["scope"].as_str().unwrap().split(' ').any(|s| s == "service:reveal"), "the admin client holds it");
        let reason = format!("Customer {} asked to reset the Apple ID during the repair", uuid::Uuid::now_v7().simple());
        let revealed = app.post(&reveal, &tenant.token, &json!({"reason": reason})).await;
        assert_eq!(revealed.status(), StatusCode::OK);
        assert_eq!(revealed.headers()["cache-control"], "no-store");
        let revealed: Value = revealed.json().await.unwrap();
        assert_eq!(revealed["secret"], secret.as_str());
        assert_eq!(revealed["credential"]["id"], first["id"]);
        assert!(revealed["credential"]["revealed_at"].is_string());

        // Audited with the reason, never the secret; the plaintext is still in no table and no log line.
        let audit = expect_text(app.get("/v1/audit/events?limit=200&action=service_credential.reveal", &tenant.token).await, StatusCode::OK).await;
        assert!(audit.contains(&reason), "{audit}");
        assert!(!audit.contains(&secret));
        let all = expect_text(app.get("/v1/audit/events?limit=200", &tenant.token).await, StatusCode::OK).await;
        assert!(!all.contains(&secret));
        assert_eq!(tables_containing(&app, &secret), Vec::<String>::new());
        assert!(tables_containing(&app, &reason).contains(&"audit_events".to_owned()), "the reason is audited");
        let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
        assert!(!logged.is_empty(), "the capture sees the app's log lines");
        assert!(!logged.contains(&secret), "the plaintext is in a log line");

        // Rate limited per caller.
        let mut limited = None;
        for _ in 0..12 {
            let response = app.post(&reveal, &tenant.token, &json!({"reason": "checking"})).await;
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                limited = Some(response);
                break;
            }
            assert_eq!(response.status(), StatusCode::OK);
        }
        let limited = limited.expect("the reveals were limited");
        assert!(limited.headers().contains_key("retry-after"));

        // Delete one; returning the item deletes the rest.
        let one = format!("{item_path}/credentials/{}", id(&second));
        assert_eq!(app.delete(&one, &tenant.token).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.delete(&one, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        credential(&app, &tenant, &item_path, &plaintext()).await;
        assert_eq!(count_rows(&app, &tenant, "service_credentials"), 2);
        expect(app.patch(&item_path, &tenant.token, &json!({"status": "returned"})).await, StatusCode::OK).await;
        assert_eq!(count_rows(&app, &tenant, "service_credentials"), 0, "credentials are gone with the return");
        let listed = expect(app.get(&format!("{item_path}/credentials"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(listed["items"], json!([]));
        let body = json!({"kind": "server", "label": "NAS", "login": "admin", "secret": "x"});
        assert_problem(app.post(&format!("{item_path}/credentials"), &tenant.token, &body).await, StatusCode::CONFLICT, "service_item_returned").await;

        // Bad input names its fields.
        let other = item(&app, &tenant, &sanne).await;
        let path = format!("/v1/people/{sanne}/service-items/{}/credentials", id(&other));
        let problem = assert_problem(app.post(&path, &tenant.token, &json!({"kind": "pager", "label": "x", "login": "y", "secret": "z"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(fields(&problem), ["kind"]);
        let problem = assert_problem(app.post(&path, &tenant.token, &json!({"kind": "wifi", "label": "", "login": "y", "secret": ""})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let mut named = fields(&problem);
        named.sort();
        assert_eq!(named, ["label", "secret"]);
    }

    async fn staff_reveal_only_with_the_scope_given_by_name_and_2fa(app) {
        let tenant = app.new_tenant().await;
        let operator = app.operator_token().await;
        // Even where the tenant does not ask staff for TOTP, revealing needs it.
        expect(app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"require_staff_totp": false})).await, StatusCode::OK).await;
        let staff = expect(app.post("/v1/people", &tenant.token, &json!({"first_name": "Tech", "emails": [{"address": "tech@vts.example", "label": "work"}]})).await, StatusCode::CREATED).await;
        let account = json!({"password": PASSWORD, "staff_scopes": ["service:read", "service:reveal"]});
        expect(app.post(&format!("/v1/people/{}/account", id(&staff)), &tenant.token, &account).await, StatusCode::CREATED).await;
        let customer = person(&app, &tenant, "Klant").await;
        let laptop = item(&app, &tenant, &customer).await;
        let item_path = format!("/v1/people/{customer}/service-items/{}", id(&laptop));
        let secret = plaintext();
        let stored = credential(&app, &tenant, &item_path, &secret).await;
        let reveal = format!("{item_path}/credentials/{}/reveal", id(&stored));

        let session = login(&app, &tenant, "tech@vts.example").await;
        let access = session["access_token"].as_str().unwrap().to_owned();
        let mut scopes: Vec<String> = claims_of(&access)["scope"].as_str().unwrap().split(' ').map(str::to_owned).collect();
        scopes.sort();
        assert_eq!(scopes, ["self", "service:read"], "no reveal without 2FA");
        assert_eq!(app.get(&item_path, &access).await.status(), StatusCode::OK);
        assert_problem(app.post(&reveal, &access, &json!({"reason": "configure the phone"})).await, StatusCode::FORBIDDEN, "insufficient_scope").await;

        let enrol: Value = app.client.post(app.url("/v1/me/totp")).bearer_auth(&access).send().await.unwrap().json().await.unwrap();
        let seed = enrol["secret"].as_str().unwrap().to_owned();
        expect(app.post("/v1/me/totp/confirm", &access, &json!({"code": totp_code(&seed, now())})).await, StatusCode::OK).await;
        let challenge = login(&app, &tenant, "tech@vts.example").await;
        let path = format!("/v1/auth/challenges/{}", challenge["challenge_id"].as_str().unwrap());
        let answered: Value = app.client.post(app.url(&path)).json(&json!({"code": totp_code(&seed, now() + 30)})).send().await.unwrap().json().await.unwrap();
        let access = answered["access_token"].as_str().unwrap().to_owned();
        assert!(claims_of(&access)["scope"].as_str().unwrap().split(' ').any(|s| s == "service:reveal"));
        let revealed = expect(app.post(&reveal, &access, &json!({"reason": "configure the phone"})).await, StatusCode::OK).await;
        assert_eq!(revealed["secret"], secret.as_str());
        let audit = expect(app.get("/v1/audit/events?action=service_credential.reveal", &tenant.token).await, StatusCode::OK).await;
        let entry = &audit["items"][0];
        assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
        assert_eq!(entry["actor_kind"], "subject", "the staff member, not a client: {audit}");
        assert_ne!(entry["actor_id"], tenant.admin.client_id.as_str());
        assert_eq!(entry["purpose"], "configure the phone");

        // Nobody grants a scope they do not hold: a client without it cannot give it.
        let admin_of_accounts = app.new_client(&tenant, &["accounts:admin", "people:write"]).await;
        let admin_of_accounts = app.token(&admin_of_accounts).await;
        let other = person(&app, &tenant, "Other").await;
        let body = json!({"password": PASSWORD, "staff_scopes": ["service:reveal"]});
        assert_problem(app.post(&format!("/v1/people/{other}/account"), &admin_of_accounts, &body).await, StatusCode::FORBIDDEN, "scope_not_held").await;
    }

    async fn a_customer_data_backup_is_purged_by_a_sweep_after_restored_and_not_before(app) {
        let tenant = app.new_tenant().await;
        let policies = expect(app.get("/v1/retention/policies", &tenant.token).await, StatusCode::OK).await;
        assert!(policies["items"].as_array().unwrap().iter().any(|p| p["category"] == "user.service.backup" && p["start"] == "restored_or_returned"), "{policies}");
        let sanne = person(&app, &tenant, "Sanne").await;
        let laptop = item(&app, &tenant, &sanne).await;
        let item_path = format!("/v1/people/{sanne}/service-items/{}", id(&laptop));
        let backups = format!("{item_path}/backups");
        let body = json!({"location": "NAS shelf 3, disk 7", "size_bytes": 512_000_000_000_i64, "checksum": "sha256:ab12", "encrypted": true});
        let first = expect(app.post(&backups, &tenant.token, &body).await, StatusCode::CREATED).await;
        assert_eq!((first["encrypted"].clone(), first["restored_at"].clone()), (json!(true), Value::Null));
        let second = expect(app.post(&backups, &tenant.token, &json!({"location": "USB disk B", "encrypted": false})).await, StatusCode::CREATED).await;
        let listed = |v: Value| -> Vec<String> { v["items"].as_array().unwrap().iter().map(id).collect() };
        assert_eq!(listed(expect(app.get(&backups, &tenant.token).await, StatusCode::OK).await), [id(&first), id(&second)]);

        past_period().await;
        sweep(&app, &tenant).await;
        assert_eq!(listed(expect(app.get(&backups, &tenant.token).await, StatusCode::OK).await).len(), 2, "not before restored");

        let restored = expect(app.post(&format!("{backups}/{}/restored", id(&first)), &tenant.token, &json!({})).await, StatusCode::OK).await;
        assert!(restored["restored_at"].is_string());
        assert_problem(app.post(&format!("{backups}/{}/restored", id(&first)), &tenant.token, &json!({})).await, StatusCode::CONFLICT, "service_backup_restored").await;
        past_period().await;
        let report = sweep(&app, &tenant).await;
        assert_eq!(report["rows"]["user.service.backup"]["service_backups"], 1, "{report}");
        assert_eq!(listed(expect(app.get(&backups, &tenant.token).await, StatusCode::OK).await), [id(&second)]);

        // The item returned: the rest goes at the next sweep after.
        expect(app.patch(&item_path, &tenant.token, &json!({"status": "returned"})).await, StatusCode::OK).await;
        assert_problem(app.post(&backups, &tenant.token, &json!({"location": "x", "encrypted": false})).await, StatusCode::CONFLICT, "service_item_returned").await;
        past_period().await;
        sweep(&app, &tenant).await;
        assert_eq!(listed(expect(app.get(&backups, &tenant.token).await, StatusCode::OK).await), Vec::<String>::new());
        assert_eq!(count_rows(&app, &tenant, "service_items"), 1, "the item itself has no such policy");

        // Bad input names its fields; the start only fits the serviced-device categories.
        let other = item(&app, &tenant, &sanne).await;
        let path = format!("/v1/people/{sanne}/service-items/{}/backups", id(&other));
        let problem = assert_problem(app.post(&path, &tenant.token, &json!({"location": "", "size_bytes": -1, "encrypted": true})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let mut named = fields(&problem);
        named.sort();
        assert_eq!(named, ["location", "size_bytes"]);
        let problem = assert_problem(app.post(&path, &tenant.token, &json!({"location": "x"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(fields(&problem), ["encrypted"]);
        let policy = json!({"category": "user.contact.email", "period": "P1D", "start": "restored_or_returned", "action": "delete"});
        let problem = assert_problem(app.post("/v1/retention/policies", &tenant.token, &policy).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(fields(&problem), ["start"]);
    }

    async fn notes_are_typed_in_a_catalogue_category(app) {
        let tenant = app.new_tenant().await;
        let sanne = person(&app, &tenant, "Sanne").await;
        let base = format!("/v1/people/{sanne}/service-notes");
        let contract = expect(app.post(&base, &tenant.token, &json!({"kind": "contract", "category": "user.business", "title": "Maintenance contract", "body": "Two visits a year."})).await, StatusCode::CREATED).await;
        assert_eq!((contract["kind"].clone(), contract["category"].clone()), (json!("contract"), json!("user.business")));
        let config = expect(app.post(&base, &tenant.token, &json!({"kind": "configuration", "title": "Work environment", "body": "VPN to the office NAS\nPrinter on floor 2"})).await, StatusCode::CREATED).await;
        assert_eq!(config["category"], "user.service", "the default category");
        let page = expect(app.get(&base, &tenant.token).await, StatusCode::OK).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        let path = format!("{base}/{}", id(&config));
        let changed = expect(app.patch(&path, &tenant.token, &json!({"title": "Work environment (2026)"})).await, StatusCode::OK).await;
        assert_eq!(changed["version"], 2);
        let stale = app.client.delete(app.url(&path)).bearer_auth(&tenant.token).header("if-match", "\"1\"").send().await.unwrap();
        assert_problem(stale, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
        let special = json!({"kind": "other", "category": "user.health", "title": "x", "body": "y"});
        assert_eq!(fields(&assert_problem(app.post(&base, &tenant.token, &special).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["category"]);
        let unknown = json!({"kind": "memo", "category": "user.nope", "title": "", "body": "y"});
        let mut named = fields(&assert_problem(app.post(&base, &tenant.token, &unknown).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await);
        named.sort();
        assert_eq!(named, ["kind"]);
        let unknown = json!({"kind": "other", "category": "user.nope", "title": "Contract", "body": "y"});
        assert_eq!(fields(&assert_problem(app.post(&base, &tenant.token, &unknown).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["category"]);
        let empty = json!({"kind": "other", "title": "", "body": "y"});
        assert_eq!(fields(&assert_problem(app.post(&base, &tenant.token, &empty).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["title"]);
        let page = expect(app.get(&base, &tenant.token).await, StatusCode::OK).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 2, "nothing of the bad input was stored");
        assert_eq!(app.delete(&path, &tenant.token).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.get(&path, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn export_lists_items_notes_backups_but_no_secret_and_erasure_removes_everything(app) {
        let tenant = app.new_tenant().await;
        let sanne = person(&app, &tenant, "Sanne").await;
        let laptop = item(&app, &tenant, &sanne).await;
        let item_path = format!("/v1/people/{sanne}/service-items/{}", id(&laptop));
        let secret = plaintext();
        credential(&app, &tenant, &item_path, &secret).await;
        expect(app.post(&format!("{item_path}/backups"), &tenant.token, &json!({"location": "NAS 1", "encrypted": true})).await, StatusCode::CREATED).await;
        expect(app.post(&format!("/v1/people/{sanne}/service-notes"), &tenant.token, &json!({"kind": "contract", "title": "SLA", "body": "Next business day"})).await, StatusCode::CREATED).await;

        let text = expect_text(app.get(&format!("/v1/people/{sanne}/export"), &tenant.token).await, StatusCode::OK).await;
        assert!(!text.contains(&secret), "the export never holds a secret");
        let export: Value = serde_json::from_str(&text).unwrap();
        let data = &export["data"];
        assert_eq!(data["service_items"][0]["serial"], "PF-3XK9Q", "{export}");
        assert_eq!(data["service_credentials"][0]["login"], "sanne@example.nl");
        assert!(data["service_credentials"][0].get("secret").is_none());
        assert_eq!(data["service_backups"][0]["location"], "NAS 1");
        assert_eq!(data["service_notes"][0]["title"], "SLA");

        let receipt = expect(app.delete(&format!("/v1/people/{sanne}"), &tenant.token).await, StatusCode::OK).await;
        for table in ["service_items", "service_credentials", "service_backups", "service_notes"] {
            assert_eq!(receipt["rows"][table], 1, "{table}: {receipt}");
            assert_eq!(count_rows(&app, &tenant, table), 0, "{table}");
        }
    }

    async fn another_tenants_item_credential_backup_and_note_are_404(app) {
        let victim = app.new_tenant().await;
        let sanne = person(&app, &victim, "Sanne").await;
        let laptop = item(&app, &victim, &sanne).await;
        let item_path = format!("/v1/people/{sanne}/service-items/{}", id(&laptop));
        let secret = plaintext();
        let stored = credential(&app, &victim, &item_path, &secret).await;
        let backup = expect(app.post(&format!("{item_path}/backups"), &victim.token, &json!({"location": "NAS 1", "encrypted": true})).await, StatusCode::CREATED).await;
        let note = expect(app.post(&format!("/v1/people/{sanne}/service-notes"), &victim.token, &json!({"kind": "contract", "title": "SLA", "body": "x"})).await, StatusCode::CREATED).await;

        let intruder = app.new_tenant().await;
        let t = &intruder.token;
        let credential_path = format!("{item_path}/credentials/{}", id(&stored));
        let note_path = format!("/v1/people/{sanne}/service-notes/{}", id(&note));
        for response in [
            app.get(&item_path, t).await,
            app.get(&format!("/v1/people/{sanne}/service-items"), t).await,
            app.patch(&item_path, t, &json!({"status": "returned"})).await,
            app.get(&format!("{item_path}/credentials"), t).await,
            app.post(&format!("{item_path}/credentials"), t, &json!({"kind": "wifi", "label": "x", "login": "y", "secret": "z"})).await,
            app.post(&format!("{credential_path}/reveal"), t, &json!({"reason": "curious"})).await,
            app.delete(&credential_path, t).await,
            app.get(&format!("{item_path}/backups"), t).await,
            app.post(&format!("{item_path}/backups/{}/restored", id(&backup)), t, &json!({})).await,
            app.get(&note_path, t).await,
            app.patch(&note_path, t, &json!({"title": "mine"})).await,
            app.delete(&note_path, t).await,
            app.delete(&item_path, t).await,
        ] {
            let text = expect_text(response, StatusCode::NOT_FOUND).await;
            assert!(!text.contains(&secret));
        }
        // Nothing changed for the victim.
        let read = expect(app.get(&item_path, &victim.token).await, StatusCode::OK).await;
        assert_eq!((read["status"].clone(), read["version"].clone()), (json!("received"), json!(1)));
        let revealed = expect(app.post(&format!("{credential_path}/reveal"), &victim.token, &json!({"reason": "still there"})).await, StatusCode::OK).await;
        assert_eq!(revealed["secret"], secret.as_str());
        let backups = expect(app.get(&format!("{item_path}/backups"), &victim.token).await, StatusCode::OK).await;
        assert!(backups["items"][0]["restored_at"].is_null());
        assert_eq!(expect(app.get(&note_path, &victim.token).await, StatusCode::OK).await["title"], "SLA");
    }

    async fn a_tenant_set_period_deletes_credentials_before_the_return(app) {
        let tenant = app.new_tenant().await;
        let sanne = person(&app, &tenant, "Sanne").await;
        let laptop = item(&app, &tenant, &sanne).await;
        let item_path = format!("/v1/people/{sanne}/service-items/{}", id(&laptop));
        credential(&app, &tenant, &item_path, &plaintext()).await;
        sweep(&app, &tenant).await;
        assert_eq!(count_rows(&app, &tenant, "service_credentials"), 1, "no policy of the tenant's yet");
        let policy = json!({"category": "user.service.credential", "period": "PT1S", "start": "created", "action": "delete"});
        expect(app.post("/v1/retention/policies", &tenant.token, &policy).await, StatusCode::CREATED).await;
        past_period().await;
        let report = sweep(&app, &tenant).await;
        assert_eq!(report["rows"]["user.service.credential"]["service_credentials"], 1, "{report}");
        let listed = expect(app.get(&format!("{item_path}/credentials"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(listed["items"], json!([]));
        let read = expect(app.get(&item_path, &tenant.token).await, StatusCode::OK).await;
        assert_eq!(read["status"], "received", "the item itself stays");
    }

    async fn a_backup_outliving_its_returned_item_reminds_the_privacy_contact_once(app) {
        let tenant = app.new_tenant().await;
        let contact = format!("dpo-{}@vts.example", uuid::Uuid::now_v7().simple());
        let sanne = person(&app, &tenant, "Sanne").await;
        let laptop = item(&app, &tenant, &sanne).await;
        let laptop_path = format!("/v1/people/{sanne}/service-items/{}", id(&laptop));
        let body = json!({"location": "NAS shelf 3, disk 7", "encrypted": true});
        let kept = expect(app.post(&format!("{laptop_path}/backups"), &tenant.token, &body).await, StatusCode::CREATED).await;
        let restored = expect(app.post(&format!("{laptop_path}/backups"), &tenant.token, &json!({"location": "USB disk B", "encrypted": false})).await, StatusCode::CREATED).await;
        expect(app.post(&format!("{laptop_path}/backups/{}/restored", id(&restored)), &tenant.token, &json!({})).await, StatusCode::OK).await;
        expect(app.patch(&laptop_path, &tenant.token, &json!({"status": "returned"})).await, StatusCode::OK).await;
        // An item still in the shop: its backup outlives nothing.
        let phone = item(&app, &tenant, &sanne).await;
        let phone_path = format!("/v1/people/{sanne}/service-items/{}", id(&phone));
        let waiting = expect(app.post(&format!("{phone_path}/backups"), &tenant.token, &json!({"location": "NAS shelf 4", "encrypted": true})).await, StatusCode::CREATED).await;
        // No sweep runs here (the tenant's policy would delete the laptop's
        // records at the first one): the records outlive the laptop.
        let reminders = |days_later: i64| {
            let at = kluis_core::time::now() + time::Duration::days(days_later);
            kluis_app::service::send_backup_reminders(&app.state.app, at, 30).unwrap()
        };
        assert_eq!(reminders(31), 0, "no privacy contact, no reminder");
        expect(app.patch("/v1/tenant", &tenant.token, &json!({"privacy_contact_email": contact})).await, StatusCode::OK).await;
        assert_eq!(reminders(29), 0, "not yet 30 days after the return");
        assert_eq!(reminders(31), 2, "both records of the returned laptop");
        assert_eq!(reminders(60), 0, "once each");

        let mails = mails_to(&app, &contact, 2).await;
        for backup in [&kept, &restored] {
            let mail = mails.iter().find(|m| m.contains(backup["id"].as_str().unwrap())).unwrap_or_else(|| panic!("{mails:?}"));
            assert!(mail.contains("more than 30 days") && mail.contains(laptop["id"].as_str().unwrap()), "{mail}");
            assert!(mail.contains(backup["location"].as_str().unwrap()), "{mail}");
            assert!(!mail.contains(&sanne) && !mail.contains("Sanne"), "the customer is not named: {mail}");
        }
        assert!(mails.iter().all(|m| !m.contains(waiting["id"].as_str().unwrap())));
        assert!(mails.iter().any(|m| m.contains("never marked restored")));
        let path = format!("/v1/audit/events?action=service_backup.remind&person_id={sanne}");
        let audit = expect(app.get(&path, &tenant.token).await, StatusCode::OK).await;
        let entries = audit["items"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{audit}");
        assert!(entries.iter().all(|e| e["actor_kind"] == "system" && e["target_kind"] == "service_backup"), "{audit}");
    }
}
