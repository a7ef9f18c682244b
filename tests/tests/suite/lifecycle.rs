//! The lifecycle of a person's data: legal holds, the export (Art. 15/20),
//! erasure with receipts (Art. 17), the erasure ledger, and self-service
//! erasure with a grace period.

use std::collections::BTreeMap;
use std::io::Read;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use kluis_store::Db;
use kluis_tests::{Backend, StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

use crate::schema::tables_with_person_id;

const PASSWORD: &str = "correct horse battery staple";
const BROWSER: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// Rows about `person` in every table that holds a `person_id` (and their
/// own row in `people`), by table.
pub(crate) fn rows_about(app: &TestApp, tenant: &Tenant, person: &str) -> BTreeMap<String, i64> {
    let mut conn = app.conn();
    let conn: &mut Db = &mut conn;
    let mut counts = BTreeMap::new();
    let mut tables = tables_with_person_id(app);
    tables.push("people".to_owned());
    for table in tables {
        let column = if table == "people" { "id" } else { "person_id" };
        let sql = match app.backend {
            Backend::Postgres => {
                format!("SELECT COUNT(*) AS n FROM \"{table}\" WHERE tenant_id = $1 AND {column} = $2")
            }
            Backend::Sqlite => format!("SELECT COUNT(*) AS n FROM \"{table}\" WHERE tenant_id = ? AND {column} = ?"),
        };
        let n = diesel::sql_query(sql)
            .bind::<Text, _>(&tenant.id)
            .bind::<Text, _>(person)
            .get_result::<Count>(conn)
            .unwrap()
            .n;
        counts.insert(table, n);
    }
    counts
}

/// Every text column of every table (`table.column`) holding `value`.
/// What still names an erased person, on purpose: the people feed's
/// `person.erased` row, which tells processors the id (as a `person.erased`
/// webhook delivery does in its body) for at most three days, the webhooks'
/// retry window (`processors::an_erasure_row_goes_after_three_days`).
pub(crate) const ERASURE_NOTICE: [&str; 1] = ["people_changes.erased_id"];

pub(crate) fn text_columns_holding(app: &TestApp, value: &str) -> Vec<String> {
    let mut conn = app.conn();
    let conn: &mut Db = &mut conn;
    let columns: Vec<Column> = match app.backend {
        Backend::Postgres => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns
              WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')",
        )
        .load(conn)
        .unwrap(),
        Backend::Sqlite => diesel::sql_query(
            "SELECT m.name AS table_name, c.name AS column_name
               FROM sqlite_master m JOIN pragma_table_info(m.name) c
              WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND upper(c.type) = 'TEXT'",
        )
        .load(conn)
        .unwrap(),
    };
    assert!(columns.len() > 50, "the walk found the schema's text columns: {}", columns.len());
    let mut found = Vec::new();
    for Column { table_name, column_name } in columns {
        let sql = format!("SELECT COUNT(*) AS n FROM \"{table_name}\" WHERE \"{column_name}\" LIKE '%{value}%'");
        if diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n > 0 {
            found.push(format!("{table_name}.{column_name}"));
        }
    }
    found
}

async fn created(what: &str, response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{what}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn login(app: &TestApp, tenant: &Tenant, email: &str, user_agent: &str) -> reqwest::Response {
    let body =
        json!({"tenant": tenant.slug, "identifier": email, "password": PASSWORD, "device": {"user_agent": user_agent}});
    app.client.post(app.url("/v1/auth/login")).json(&body).send().await.unwrap()
}

/// A person with an account, signed in: their id and access token.
pub(crate) async fn signed_in(app: &TestApp, tenant: &Tenant, email: &str, language: &str) -> (String, String) {
    let body = json!({"first_name": "Mira", "language": language, "emails": [{"address": email, "label": "private"}]});
    let person = created("person", app.post("/v1/people", &tenant.token, &body).await).await;
    let id = person["id"].as_str().unwrap().to_owned();
    created(
        "account",
        app.post(&format!("/v1/people/{id}/account"), &tenant.token, &json!({"password": PASSWORD})).await,
    )
    .await;
    let response = login(app, tenant, email, BROWSER).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session: Value = response.json().await.unwrap();
    (id, session["access_token"].as_str().unwrap().to_owned())
}

/// A person with every kind of data kluis keeps: profile and contacts, a
/// reference, an account with sessions and devices, a pending sign-in
/// challenge, a mailed token, consents with their history, an acceptance,
/// a used unsubscribe link and an ended legal hold. Their id.
pub(crate) async fn everything(app: &TestApp, tenant: &Tenant) -> String {
    let t = &tenant.token;
    let email = "hanna@lifecycle.example";
    let body = json!({
        "salutation": "Mevr.", "first_name": "Hanna", "last_name": "de Wit", "nickname": "Han",
        "date_of_birth": "1990-04-01", "language": "nl", "company_name": "De Wit B.V.", "coc_number": "12345678",
        "emails": [{"address": email, "label": "private"}, {"address": "hanna@werk.example", "label": "work"}],
        "phones": [{"number": "+31612345678", "label": "private"}],
        "addresses": [{"street": "Dorpsstraat", "house_number": "1", "postal_code": "1234ab", "city": "Utrecht", "country": "NL", "label": "private"}],
        "websites": [{"url": "https://hanna.example", "label": "private"}],
    });
    let person = created("person", app.post("/v1/people", t, &body).await).await;
    let id = person["id"].as_str().unwrap().to_owned();
    let p = format!("/v1/people/{id}");
    created(
        "reference",
        app.post(&format!("{p}/references"), t, &json!({"app": "webshop", "external_ref": "klant-1"})).await,
    )
    .await;
    created("account", app.post(&format!("{p}/account"), t, &json!({"username": "hanna", "password": PASSWORD})).await)
        .await;
    let token = app.mailed_code(email, 1).await;
    let verified =
        app.client.post(app.url("/v1/auth/verify-email")).json(&json!({"token": token})).send().await.unwrap();
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    assert_eq!(login(app, tenant, email, BROWSER).await.status(), StatusCode::OK);
    assert_eq!(login(app, tenant, email, BROWSER).await.status(), StatusCode::OK);
    // An unfamiliar device: a challenge waits, and its code is mailed.
    assert_eq!(login(app, tenant, email, FIREFOX).await.status(), StatusCode::ACCEPTED);
    app.mailed_code(email, 2).await;
    // A password reset: a token, and a mail.
    let reset = json!({"tenant": tenant.slug, "email": email});
    app.client.post(app.url("/v1/auth/password-reset")).json(&reset).send().await.unwrap();
    app.mailed_code(email, 3).await;
    for action in ["grant", "withdraw"] {
        let consent = json!({"purpose": "marketing_email", "action": action, "source": "web"});
        created("consent", app.post(&format!("{p}/consents"), t, &consent).await).await;
    }
    created("policy", app.post("/v1/policies/terms/versions", t, &json!({"title": "Terms", "body": "Text."})).await)
        .await;
    let acceptance = json!({"kind": "terms", "version": 1, "source": "web"});
    created("acceptance", app.post(&format!("{p}/acceptances"), t, &acceptance).await).await;
    let link: Value = app.get(&format!("{p}/unsubscribe-link?purpose=newsletter"), t).await.json().await.unwrap();
    if let Some(url) = link["url"].as_str() {
        let (_, token) = url.split_once("/v1/unsubscribe/").unwrap();
        let done = app.client.post(app.url(&format!("/v1/unsubscribe/{token}"))).send().await.unwrap();
        assert!(done.status().is_success(), "one-click unsubscribe: {}", done.status());
    }
    let until = (time::OffsetDateTime::now_utc() + time::Duration::milliseconds(1500))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    created("hold", app.post(&format!("{p}/holds"), t, &json!({"reason": "Claim 2026-17", "until": until})).await)
        .await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1600)).await;
    // An outside-EEA recipient, for the export's transfers.
    let recipient =
        json!({"name": "Cloud Mail Inc.", "role": "processor", "country": "US", "transfer_mechanism": "SCC"});
    created("recipient", app.post("/v1/recipients", t, &recipient).await).await;
    id
}

fn zip_entry(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut text = String::new();
    archive.by_name(name).unwrap().read_to_string(&mut text).unwrap();
    text
}

both_backends! {
    async fn receipt_counts_every_row_that_existed_and_nothing_of_the_person_is_left(app) {
        let tenant = app.new_tenant().await;
        let id = everything(&app, &tenant).await;
        let before = rows_about(&app, &tenant, &id);
        for table in ["people", "person_emails", "person_references", "accounts", "sessions", "devices", "challenges",
            "auth_tokens", "consent_events", "consent_states", "consent_acceptances", "person_holds", "subject_keys"] {
            assert!(before[table] > 0, "the person has rows in {table}: {before:?}");
        }

        let response = app.delete(&format!("/v1/people/{id}"), &tenant.token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let receipt: Value = response.json().await.unwrap();
        for (table, n) in &before {
            assert_eq!(receipt["rows"][table].as_i64(), Some(*n), "receipt rows of {table}: {receipt}");
        }
        let after = rows_about(&app, &tenant, &id);
        assert!(after.values().all(|n| *n == 0), "rows left: {after:?}");
        assert_eq!(text_columns_holding(&app, &id), ERASURE_NOTICE, "the person id outlives them");

        assert_eq!(receipt["reason"], "request");
        assert_eq!(receipt["erased_by"]["kind"], "client");
        assert_eq!(receipt["erased_by"]["id"], tenant.admin.client_id.as_str());
        assert_eq!(receipt["notify"]["references"], json!([{"client_id": tenant.admin.client_id, "app": "webshop"}]));
        assert!(receipt["notify"]["recipients"].as_array().unwrap().iter().any(|r| r["name"] == "Cloud Mail Inc."));
        // The stored receipt is the same, and names the person by hash only.
        let stored: Value = app.get(&format!("/v1/erasures/{}", receipt["id"].as_str().unwrap()), &tenant.token).await.json().await.unwrap();
        assert_eq!(stored["rows"], receipt["rows"]);
        assert_eq!(stored["subject_ref"].as_str().unwrap().len(), 64);
        assert!(stored.get("person_id").is_none());
        assert_problem(app.get(&format!("/v1/people/{id}/export"), &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        // The ledger holds the same hash, and when; nothing else.
        let mut conn = app.conn();
        let ledger = kluis_retention::ledger::entries(&mut conn, &kluis_core::TenantId(tenant.id.clone())).unwrap();
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger[0].0, stored["subject_ref"].as_str().unwrap());
        assert!(kluis_retention::ledger::was_erased(&mut conn, &kluis_core::TenantId(tenant.id.clone()), &kluis_core::PersonId(id.clone())).unwrap());
    }

    async fn the_export_holds_every_table_and_the_art_15_information(app) {
        let tenant = app.new_tenant().await;
        let id = everything(&app, &tenant).await;
        let before = rows_about(&app, &tenant, &id);
        let response = app.get(&format!("/v1/people/{id}/export"), &tenant.token).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let export: Value = response.json().await.unwrap();
        for (table, n) in &before {
            let rows = export["data"][table].as_array().unwrap_or_else(|| panic!("the export has no `{table}`"));
            assert_eq!(rows.len() as i64, *n, "export rows of {table}");
        }
        let data = &export["data"];
        assert_eq!(data["people"][0]["last_name"], "de Wit");
        assert_eq!(data["person_phones"][0]["number"], "+31612345678");
        assert_eq!(data["person_references"][0]["app"], "webshop");
        assert_eq!(data["accounts"][0]["username"], "hanna");
        assert!(data["accounts"][0].get("password_hash").is_none() && !data.to_string().contains("argon2"));
        assert_eq!(data["consent_events"].as_array().unwrap().len(), 2);
        assert_eq!(data["consent_states"][0]["status"], "withdrawn");
        assert_eq!(data["person_holds"][0]["reason"], "Claim 2026-17");
        assert!(data["audit_events"].as_array().unwrap().iter().any(|e| e["action"] == "person.create"));
        assert!(data["devices"][0]["user_agent"].as_str().unwrap().contains("Chrome"));

        let info = &export["information"];
        assert_eq!(export["language"], "nl");
        let marketing = info["purposes"].as_array().unwrap().iter().find(|p| p["key"] == "marketing_email").unwrap();
        assert_eq!(marketing["legal_basis"], "consent");
        let cloud = info["recipients"].as_array().unwrap().iter().find(|r| r["name"] == "Cloud Mail Inc.").unwrap();
        assert_eq!(cloud["transfer_outside_eea"], true);
        assert_eq!(cloud["safeguard"], "SCC");
        let email = info["retention"].as_array().unwrap().iter().find(|r| r["category"] == "user.contact.email").unwrap();
        assert!(email["periods"].as_array().unwrap().iter().any(|p| p["purpose"] == "marketing_email" && p["period"].is_string()));
        assert!(info["sources"].as_array().unwrap().iter().any(|s| s["actor"] == "admin" && s["actor_kind"] == "client"));
        let rights = info["rights"].as_array().unwrap();
        assert_eq!(rights.len(), 8);
        assert!(rights.iter().any(|r| r["right"] == "erasure" && r["text"].as_str().unwrap().contains("wissen")), "Dutch for a Dutch person");

        // The ZIP, by query and by Accept: the same document and a CSV per table.
        let zipped = app.get(&format!("/v1/people/{id}/export?format=zip"), &tenant.token).await;
        assert_eq!(zipped.headers()["content-type"], "application/zip");
        assert_eq!(zipped.headers()["cache-control"], "no-store");
        let bytes = zipped.bytes().await.unwrap();
        let document: Value = serde_json::from_str(&zip_entry(&bytes, "export.json")).unwrap();
        assert_eq!(document["data"]["people"], export["data"]["people"]);
        let people = zip_entry(&bytes, "people.csv");
        assert!(people.lines().next().unwrap().contains("last_name") && people.contains("de Wit"), "{people}");
        assert!(zip_entry(&bytes, "person_phones.csv").contains("+31612345678"));
        let accepted = app.client.get(app.url(&format!("/v1/people/{id}/export"))).bearer_auth(&tenant.token)
            .header("Accept", "application/zip").send().await.unwrap();
        assert_eq!(accepted.headers()["content-type"], "application/zip");
        let bad = app.get(&format!("/v1/people/{id}/export?format=pdf"), &tenant.token).await;
        let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "format");

        // Audited as an export (reads are written in groups: wait for the group).
        let started = std::time::Instant::now();
        loop {
            let path = format!("/v1/audit/events?person_id={id}&action=person.export");
            let events: Value = app.get(&path, &tenant.token).await.json().await.unwrap();
            if !events["items"].as_array().unwrap().is_empty() {
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "person.export is audited");
            actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    async fn a_person_exports_their_own_data_in_their_language(app) {
        let tenant = app.new_tenant().await;
        let (id, token) = signed_in(&app, &tenant, "self@lifecycle.example", "en").await;
        let response = app.get("/v1/me/export", &token).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let export: Value = response.json().await.unwrap();
        assert_eq!(export["person_id"], id.as_str());
        assert_eq!(export["language"], "en");
        assert_eq!(export["data"]["person_emails"][0]["address"], "self@lifecycle.example");
        assert!(export["information"]["rights"][0]["text"].as_str().unwrap().starts_with("You may"));
        assert!(export["information"]["sources"].as_array().unwrap().iter().any(|s| s["actor"] == "you"), "their own sign-in");
        let zipped = app.client.get(app.url("/v1/me/export")).bearer_auth(&token).header("Accept", "application/zip").send().await.unwrap();
        let bytes = zipped.bytes().await.unwrap();
        assert!(zip_entry(&bytes, "person_emails.csv").contains("self@lifecycle.example"));
    }

    async fn a_held_person_is_not_erased_until_the_hold_is_lifted(app) {
        let tenant = app.new_tenant().await;
        let (id, token) = signed_in(&app, &tenant, "held@lifecycle.example", "nl").await;
        let holds = format!("/v1/people/{id}/holds");
        let hold = created("hold", app.post(&holds, &tenant.token, &json!({"reason": "Rechtszaak 2026/42"})).await).await;
        assert_eq!(hold["active"], true);
        assert!(hold["until"].is_null());
        let list: Value = app.get(&holds, &tenant.token).await.json().await.unwrap();
        assert_eq!(list["items"][0]["id"], hold["id"]);

        let refused = assert_problem(app.delete(&format!("/v1/people/{id}"), &tenant.token).await, StatusCode::CONFLICT, "legal_hold").await;
        assert!(refused["detail"].as_str().unwrap().contains("Rechtszaak 2026/42"), "{refused}");
        let refused = assert_problem(app.post("/v1/me/erasure", &token, &json!({})).await, StatusCode::CONFLICT, "legal_hold").await;
        assert!(refused["detail"].as_str().unwrap().contains("Rechtszaak 2026/42"));
        assert_eq!(app.get(&format!("/v1/people/{id}"), &tenant.token).await.status(), StatusCode::OK, "nothing erased");

        let hold_path = format!("{holds}/{}", hold["id"].as_str().unwrap());
        assert_eq!(app.delete(&hold_path, &tenant.token).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.delete(&hold_path, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        let events: Value = app.get("/v1/audit/events?action=hold.lift", &tenant.token).await.json().await.unwrap();
        assert_eq!(events["items"].as_array().unwrap().len(), 1, "lifting is audited");
        assert_eq!(app.delete(&format!("/v1/people/{id}"), &tenant.token).await.status(), StatusCode::OK);
    }

    async fn holds_refuse_bad_input_naming_the_field(app) {
        let tenant = app.new_tenant().await;
        let person = created("person", app.post("/v1/people", &tenant.token, &json!({"first_name": "Bo"})).await).await;
        let holds = format!("/v1/people/{}/holds", person["id"].as_str().unwrap());
        let past = "2020-01-01T00:00:00Z";
        for (body, field) in [
            (json!({"reason": ""}), "reason"),
            (json!({"reason": "   "}), "reason"),
            (json!({"reason": "x".repeat(501)}), "reason"),
            (json!({"reason": "pay 4111 1111 1111 1111"}), "reason"),
            (json!({"reason": "ok", "until": past}), "until"),
            (json!({"reason": "ok", "until": "tomorrow"}), "until"),
            (json!({"reason": "ok", "colour": "red"}), "colour"),
            (json!({}), "reason"),
        ] {
            let problem = assert_problem(app.post(&holds, &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{body} -> {problem}");
        }
        let nobody = format!("/v1/people/{}/holds", kluis_core::new_id());
        assert_problem(app.post(&nobody, &tenant.token, &json!({"reason": "ok"})).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.get(&nobody, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn another_tenants_hold_and_receipt_are_404_like_random_ids(app) {
        let victim = app.new_tenant().await;
        let attacker = app.new_tenant().await;
        let person = created("person", app.post("/v1/people", &victim.token, &json!({"first_name": "Vic"})).await).await;
        let person = person["id"].as_str().unwrap().to_owned();
        let hold = created("hold", app.post(&format!("/v1/people/{person}/holds"), &victim.token, &json!({"reason": "Case"})).await).await;
        let gone = created("person", app.post("/v1/people", &victim.token, &json!({"first_name": "Gone"})).await).await;
        let receipt: Value = app.delete(&format!("/v1/people/{}", gone["id"].as_str().unwrap()), &victim.token).await.json().await.unwrap();
        let random = kluis_core::new_id();
        let pairs = [
            (format!("/v1/people/{person}/holds/{}", hold["id"].as_str().unwrap()), format!("/v1/people/{person}/holds/{random}")),
            (format!("/v1/erasures/{}", receipt["id"].as_str().unwrap()), format!("/v1/erasures/{random}")),
            (format!("/v1/people/{person}/export"), format!("/v1/people/{random}/export")),
        ];
        for (theirs, nothing) in pairs {
            for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
                let send = |path: String| app.client.request(method.clone(), app.url(&path)).bearer_auth(&attacker.token).send();
                let (a, b) = (send(theirs.clone()).await.unwrap(), send(nothing.clone()).await.unwrap());
                assert_eq!(a.status(), b.status(), "{method} {theirs}");
                let (a, b) = (a.text().await.unwrap(), b.text().await.unwrap());
                assert_eq!(a, b, "{method} {theirs}");
            }
        }
        let list: Value = app.get("/v1/erasures", &attacker.token).await.json().await.unwrap();
        assert!(list["items"].as_array().unwrap().is_empty());
        let victims: Value = app.get(&format!("/v1/people/{person}/holds"), &victim.token).await.json().await.unwrap();
        assert_eq!(victims["items"].as_array().unwrap().len(), 1, "the hold stays");
    }

    async fn receipts_are_listed_page_by_page(app) {
        let tenant = app.new_tenant().await;
        for name in ["A", "B", "C"] {
            let person = created("person", app.post("/v1/people", &tenant.token, &json!({"first_name": name})).await).await;
            assert_eq!(app.delete(&format!("/v1/people/{}", person["id"].as_str().unwrap()), &tenant.token).await.status(), StatusCode::OK);
        }
        let first: Value = app.get("/v1/erasures?limit=2", &tenant.token).await.json().await.unwrap();
        assert_eq!(first["items"].as_array().unwrap().len(), 2);
        let cursor = first["next_cursor"].as_str().unwrap();
        let second: Value = app.get(&format!("/v1/erasures?limit=2&cursor={cursor}"), &tenant.token).await.json().await.unwrap();
        assert_eq!(second["items"].as_array().unwrap().len(), 1);
        assert!(second["next_cursor"].is_null());
        assert!(second["items"][0]["id"].as_str() > first["items"][1]["id"].as_str());
        assert_problem(app.get("/v1/erasures?limit=0", &tenant.token).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }

    async fn self_erasure_without_a_grace_period_erases_at_once_and_mails(app) {
        let tenant = app.new_tenant().await;
        let (id, token) = signed_in(&app, &tenant, "gone@lifecycle.example", "nl").await;
        let response = app.post("/v1/me/erasure", &token, &json!({})).await;
        assert_eq!(response.status(), StatusCode::OK);
        let receipt: Value = response.json().await.unwrap();
        assert_eq!(receipt["reason"], "self_service");
        assert_eq!(receipt["erased_by"], json!({"kind": "subject", "id": null}));
        assert_eq!(receipt["rows"]["people"], 1);
        assert_problem(app.get(&format!("/v1/people/{id}"), &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(text_columns_holding(&app, &id), ERASURE_NOTICE);
        wait_for_mail(&app, "gone@lifecycle.example", "Je gegevens zijn gewist").await;
    }

    async fn self_erasure_cancelled_within_the_grace_period_erases_nothing(app) {
        let tenant = app.new_tenant().await;
        grace(&app, &tenant, 1).await;
        let (id, token) = signed_in(&app, &tenant, "stays@lifecycle.example", "en").await;
        let response = app.post("/v1/me/erasure", &token, &json!({})).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let pending: Value = response.json().await.unwrap();
        assert!(pending["due_at"].as_str().unwrap() > pending["requested_at"].as_str().unwrap());
        let again: Value = app.post("/v1/me/erasure", &token, &json!({})).await.json().await.unwrap();
        assert_eq!(again["due_at"], pending["due_at"], "asking again does not postpone it");
        assert_eq!(app.delete("/v1/me/erasure", &token).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.delete("/v1/me/erasure", &token).await, StatusCode::NOT_FOUND, "not_found").await;
        // Past the grace period and a worker round: nothing was erased.
        actix_web::rt::time::sleep(std::time::Duration::from_millis(2500)).await;
        assert_eq!(app.get(&format!("/v1/people/{id}"), &tenant.token).await.status(), StatusCode::OK);
        let receipts: Value = app.get("/v1/erasures", &tenant.token).await.json().await.unwrap();
        assert!(receipts["items"].as_array().unwrap().is_empty());
        let events: Value = app.get("/v1/audit/events?action=erasure.cancel", &tenant.token).await.json().await.unwrap();
        assert_eq!(events["items"].as_array().unwrap().len(), 1);
    }

    async fn self_erasure_not_cancelled_is_carried_out_after_the_grace_period(app) {
        let tenant = app.new_tenant().await;
        grace(&app, &tenant, 1).await;
        let (id, token) = signed_in(&app, &tenant, "later@lifecycle.example", "en").await;
        assert_eq!(app.post("/v1/me/erasure", &token, &json!({})).await.status(), StatusCode::ACCEPTED);
        let again = app.post("/v1/me/erasure", &token, &json!({})).await;
        assert_eq!(again.status(), StatusCode::ACCEPTED, "asking twice keeps the first request");
        let started = std::time::Instant::now();
        while app.get(&format!("/v1/people/{id}"), &tenant.token).await.status() == StatusCode::OK {
            assert!(started.elapsed() < std::time::Duration::from_secs(15), "the worker carried out the erasure");
            actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let receipts: Value = app.get("/v1/erasures", &tenant.token).await.json().await.unwrap();
        let receipt = &receipts["items"][0];
        assert_eq!(receipt["reason"], "self_service");
        assert_eq!(receipt["rows"]["self_erasures"], 1);
        assert_eq!(receipt["rows"]["people"], 1);
        assert_eq!(text_columns_holding(&app, &id), ERASURE_NOTICE);
        wait_for_mail(&app, "later@lifecycle.example", "Your data has been erased").await;
    }

    async fn the_grace_period_is_bounded(app) {
        let tenant = app.new_tenant().await;
        let operator = app.operator_token().await;
        let path = format!("/v1/tenants/{}", tenant.id);
        for bad in [-1, 2_592_001] {
            let problem = assert_problem(app.patch(&path, &operator, &json!({"self_erasure_grace_seconds": bad})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], "self_erasure_grace_seconds");
        }
        let t: Value = app.get(&path, &operator).await.json().await.unwrap();
        assert_eq!(t["self_erasure_grace_seconds"], 0, "the default");
    }
}

/// Set the tenant's self-erasure grace period (the operator does).
async fn grace(app: &TestApp, tenant: &Tenant, seconds: i64) {
    let operator = app.operator_token().await;
    let body = json!({"self_erasure_grace_seconds": seconds});
    let response = app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &body).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn wait_for_mail(app: &TestApp, to: &str, subject: &str) {
    let started = std::time::Instant::now();
    while !app.mails_to(to).iter().any(|m| m.contains(subject)) {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "no `{subject}` mail to {to}");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
