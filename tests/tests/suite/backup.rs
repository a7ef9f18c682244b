//! Tenant archives: `POST /v1/exports` and its job, the download, and the
//! import (`kluis tenant import`, through the same app function) into a
//! fresh instance of the other backend and back, with every table's rows
//! equal (per-table counts and digests, and reading back over HTTP) and the
//! audit chain verifying; altered, truncated and newer-schema archives
//! refused with nothing imported.

use std::io::Write;
use std::path::{Path, PathBuf};

use kluis_backup::archive::{self, ImportOptions, Quiet};
use kluis_backup::{ArchiveError, Secret, TableSummary};
use kluis_core::TenantId;
use kluis_store::MasterKey;
use kluis_tests::{Backend, StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

const PASSPHRASE: &str = "a long archive passphrase";

/// A tenant with data in many tables: people with every kind of contact
/// (booleans, nullable text), an account (binary hashes, timestamps), a
/// consent, a hold, tenant-defined attributes with values, and an erased
/// person (receipt and ledger).
async fn seeded(app: &TestApp) -> Tenant {
    let tenant = app.new_tenant().await;
    let attribute = json!({"key": "sector", "type": "enum", "values": ["logistics", "retail"],
        "category": "user.business", "purposes": ["account"], "self_editable": true});
    assert_eq!(app.post("/v1/attributes", &tenant.token, &attribute).await.status(), StatusCode::CREATED);
    for i in 0..3 {
        let body = json!({
            "first_name": format!("Anna{i}"), "last_name": "de Vries", "language": "nl-NL",
            "company_name": "De Vries Fietsen", "coc_number": "12345678",
            "attributes": {"sector": "logistics"},
            "emails": [{"address": format!("anna{i}@devries.example"), "label": "work"}],
            "phones": [{"number": "+31612345678", "label": "home"}],
            "addresses": [{"street": "Dorpsstraat", "house_number": "12", "postal_code": "1234 AB", "city": "Utrecht", "country": "NL", "label": "private"}],
            "websites": [{"url": "https://devries.example", "label": "work"}],
        });
        let response = app.post("/v1/people", &tenant.token, &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let person: Value = response.json().await.unwrap();
        let id = person["id"].as_str().unwrap();
        let account = json!({"username": format!("anna{i}"), "password": "correct horse battery staple"});
        let response = app.post(&format!("/v1/people/{id}/account"), &tenant.token, &account).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
        let consent = json!({"purpose": "marketing_email", "action": "grant", "source": "web"});
        let response = app.post(&format!("/v1/people/{id}/consents"), &tenant.token, &consent).await;
        assert!(response.status().is_success(), "{:?}", response.text().await);
        if i == 0 {
            let hold = json!({"reason": "dispute about an invoice"});
            let response = app.post(&format!("/v1/people/{id}/holds"), &tenant.token, &hold).await;
            assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
        }
        if i == 2 {
            assert_eq!(app.delete(&format!("/v1/people/{id}"), &tenant.token).await.status(), StatusCode::OK);
        }
    }
    tenant
}

/// Start an export and wait until it is done; returns the finished job.
async fn export(app: &TestApp, tenant: &Tenant, body: &Value) -> Value {
    let response = app.post("/v1/exports", &tenant.token, body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{:?}", response.text().await);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let job: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/v1/exports/{}", job["id"].as_str().unwrap()));
    for _ in 0..600 {
        let job: Value = app.get(&location, &tenant.token).await.json().await.unwrap();
        match job["state"].as_str().unwrap() {
            "running" => actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await,
            "done" => return job,
            other => panic!("export {other}: {job}"),
        }
    }
    panic!("the export did not finish");
}

/// Download a finished export to a file.
async fn download(app: &TestApp, tenant: &Tenant, job: &Value, dir: &Path) -> PathBuf {
    let response = app.get(job["download_url"].as_str().unwrap(), &tenant.token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let bytes = response.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, job["bytes"].as_u64().unwrap());
    let path = dir.join(format!("{}.kluis", job["id"].as_str().unwrap()));
    std::fs::File::create(&path).unwrap().write_all(&bytes).unwrap();
    path
}

fn import(app: &TestApp, file: &Path, secret: &Secret<'_>, slug: Option<&str>) -> Result<TenantId, ArchiveError> {
    let mut conn = app.conn();
    let options = ImportOptions { slug: slug.map(str::to_owned) };
    kluis_app::archives::import_from(&mut conn, file, secret, &options, &mut Quiet).map(|i| i.tenant)
}

fn summaries(app: &TestApp, tenant: &str) -> Vec<TableSummary> {
    archive::summarize(&mut app.conn(), &TenantId(tenant.to_owned())).unwrap()
}

fn manifest_tables(job: &Value) -> Vec<TableSummary> {
    job["manifest"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| TableSummary {
            name: t["name"].as_str().unwrap().to_owned(),
            rows: t["rows"].as_u64().unwrap(),
            sha256: t["sha256"].as_str().unwrap().to_owned(),
        })
        .collect()
}

/// Every table equal but the audit chain, which the import extends by its
/// own entry (`tenant.import`), and, imported under another slug, the
/// tenant's row.
fn assert_same_rows(archived: &[TableSummary], now: &[TableSummary], renamed: bool) {
    assert_eq!(archived.len(), now.len());
    for (a, b) in archived.iter().zip(now) {
        assert_eq!(a.name, b.name);
        match a.name.as_str() {
            "audit_events" => assert_eq!(b.rows, a.rows + 1, "audit_events: the import's entry"),
            "audit_heads" => assert_eq!(b.rows, a.rows),
            "tenants" if renamed => assert_eq!(b.rows, a.rows),
            _ => assert_eq!(a, b, "table {}", a.name),
        }
    }
}

async fn audit_verifies(app: &TestApp, token: &str) {
    let response = app.get("/v1/audit/verify", token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["ok"], true, "{body}");
}

/// What a reader sees of the tenant over HTTP (people, their contacts and
/// accounts, consents, holds, erasures).
async fn seen_over_http(app: &TestApp, token: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    let people: Value = app.get("/v1/people?limit=200", token).await.json().await.unwrap();
    for person in people["items"].as_array().unwrap() {
        let id = person["id"].as_str().unwrap();
        for path in ["", "/emails", "/phones", "/addresses", "/websites", "/account", "/consents", "/holds"] {
            let response = app.get(&format!("/v1/people/{id}{path}"), token).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            seen.push(response.json().await.unwrap());
        }
    }
    seen.push(people);
    seen.push(app.get("/v1/erasures", token).await.json().await.unwrap());
    seen.push(app.get("/v1/purposes", token).await.json().await.unwrap());
    seen.push(app.get("/v1/attributes", token).await.json().await.unwrap());
    seen
}

/// The same admin client works on the instance the tenant moved to (its
/// secret's hash moved with it).
async fn token_on(app: &TestApp, tenant: &Tenant) -> String {
    app.token(&tenant.admin).await
}

/// SQLite -> PostgreSQL -> SQLite: every table's rows equal by count and
/// digest at each step, what the API shows equal, the audit chain verifying.
#[actix_web::test]
async fn an_archive_moves_a_tenant_from_sqlite_to_postgres_and_back() {
    let sqlite = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let Some(postgres) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tenant = seeded(&sqlite).await;
    // More rows than an archive reads at once (1,000), under a composite
    // key: every export below reads this table a page after another.
    let visits = format!(
        "INSERT INTO visits (tenant_id, day, path, ip_prefix, ua_family, count) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2345) \
         SELECT '{}', printf('2026-%02d-%02d', 1 + i % 12, 1 + i % 28), printf('/p/%d', i), '192.0.2.0/24', 'Firefox', i FROM n",
        tenant.id
    );
    {
        use diesel::RunQueryDsl;
        assert_eq!(diesel::sql_query(visits).execute(&mut sqlite.conn()).unwrap(), 2345);
    }
    let before = seen_over_http(&sqlite, &tenant.token).await;
    let job = export(&sqlite, &tenant, &json!({"passphrase": PASSPHRASE})).await;
    assert_eq!(job["key"], "passphrase");
    assert_eq!(job["rows_done"], job["rows_total"]);
    let archived = manifest_tables(&job);
    assert!(archived.iter().any(|t| t.name == "person_emails" && t.rows == 2), "{archived:?}");
    assert!(archived.iter().any(|t| t.name == "visits" && t.rows >= 2345), "{archived:?}");
    let file = download(&sqlite, &tenant, &job, dir.path()).await;

    // Into PostgreSQL: the rows are the archive's, table by table.
    let secret = Secret::Passphrase(PASSPHRASE);
    assert_eq!(import(&postgres, &file, &secret, None).unwrap().0, tenant.id);
    assert_same_rows(&archived, &summaries(&postgres, &tenant.id), false);
    let token = token_on(&postgres, &tenant).await;
    audit_verifies(&postgres, &token).await;
    assert_eq!(seen_over_http(&postgres, &token).await, before);

    // And back into a fresh SQLite: still the same rows.
    let tenant_on_pg = Tenant { token: token.clone(), ..tenant.clone() };
    let job = export(&postgres, &tenant_on_pg, &json!({"passphrase": PASSPHRASE})).await;
    let file = download(&postgres, &tenant_on_pg, &job, dir.path()).await;
    let again = TestApp::spawn(Backend::Sqlite).await.unwrap();
    import(&again, &file, &secret, None).unwrap();
    let back = summaries(&again, &tenant.id);
    for (a, b) in archived.iter().zip(&back) {
        if !a.name.starts_with("audit_") {
            assert_eq!(a, b, "table {} after the round trip", a.name);
        }
    }
    let token = token_on(&again, &tenant).await;
    audit_verifies(&again, &token).await;
    assert_eq!(seen_over_http(&again, &token).await, before);
}

/// A fresh instance of `app`'s backend sharing its master key.
async fn sibling(app: &TestApp) -> TestApp {
    let key = std::fs::read_to_string(app.settings.data_dir.join("master.key")).unwrap();
    TestApp::spawn_with(app.backend, |s| s.master_key = Some(key.trim().to_owned().into())).await.unwrap()
}

fn master_of(app: &TestApp) -> MasterKey {
    MasterKey::from_base64(&std::fs::read_to_string(app.settings.data_dir.join("master.key")).unwrap()).unwrap()
}

/// A tenant that does not exist on `app` (404 to the operator).
async fn assert_no_tenant(app: &TestApp, id: &str) {
    let operator = app.operator_token().await;
    assert_eq!(app.get(&format!("/v1/tenants/{id}"), &operator).await.status(), StatusCode::NOT_FOUND);
}

both_backends! {
    async fn an_archive_under_the_master_key_imports_where_that_key_is(app) {
        let dir = tempfile::tempdir().unwrap();
        let tenant = seeded(&app).await;
        let job = export(&app, &tenant, &json!({})).await;
        assert_eq!(job["key"], "master");
        let file = download(&app, &tenant, &job, dir.path()).await;
        // Not into the instance that holds the tenant.
        let master = master_of(&app);
        let error = import(&app, &file, &Secret::Master(&master), None).unwrap_err();
        assert!(matches!(error, ArchiveError::TenantExists), "{error}");
        // Not with another key.
        let other = MasterKey::generate().unwrap();
        let twin = sibling(&app).await;
        let error = import(&twin, &file, &Secret::Master(&other), None).unwrap_err();
        assert!(matches!(error, ArchiveError::DoesNotOpen), "{error}");
        assert_no_tenant(&twin, &tenant.id).await;
        // With this one, under another slug.
        import(&twin, &file, &Secret::Master(&master), Some("moved-here")).unwrap();
        assert_same_rows(&manifest_tables(&job), &summaries(&twin, &tenant.id), true);
        let operator = twin.operator_token().await;
        let moved: Value = twin.get(&format!("/v1/tenants/{}", tenant.id), &operator).await.json().await.unwrap();
        assert_eq!(moved["slug"], "moved-here");
        let token = token_on(&twin, &tenant).await;
        audit_verifies(&twin, &token).await;
        let events: Value = twin.get("/v1/audit/events?limit=5", &token).await.json().await.unwrap();
        let actions: Vec<&str> = events["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert!(actions.contains(&"tenant.import"), "{actions:?}");
    }

    async fn an_altered_or_truncated_archive_is_refused_and_nothing_imported(app) {
        let dir = tempfile::tempdir().unwrap();
        let tenant = seeded(&app).await;
        let job = export(&app, &tenant, &json!({})).await;
        let file = download(&app, &tenant, &job, dir.path()).await;
        let bytes = std::fs::read(&file).unwrap();
        let master = master_of(&app);
        let secret = Secret::Master(&master);
        let twin = sibling(&app).await;
        let write = |name: &str, data: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, data).unwrap();
            path
        };
        for at in [40, bytes.len() / 2, bytes.len() - 1] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x01;
            let error = import(&twin, &write("flipped", &flipped), &secret, None).unwrap_err();
            assert!(error.is_refusal(), "byte {at}: {error}");
            assert!(error.to_string().contains("nothing was imported"), "{error}");
            assert_no_tenant(&twin, &tenant.id).await;
        }
        for len in [bytes.len() - 1, bytes.len() / 2, 60] {
            let error = import(&twin, &write("cut", &bytes[..len]), &secret, None).unwrap_err();
            assert!(
                matches!(error, ArchiveError::Truncated | ArchiveError::Damaged | ArchiveError::DoesNotOpen),
                "cut to {len}: {error}"
            );
            assert_no_tenant(&twin, &tenant.id).await;
        }
        let error = import(&twin, &write("empty", b""), &secret, None).unwrap_err();
        assert!(matches!(error, ArchiveError::NotAnArchive), "{error}");
        // The untouched archive imports.
        import(&twin, &file, &secret, None).unwrap();
    }

    async fn an_archive_of_a_newer_schema_is_refused(app) {
        let dir = tempfile::tempdir().unwrap();
        let master = master_of(&app);
        let header = json!({"header": {
            "format": 1, "kluis_version": "9.0.0", "schema_version": "99991231000000",
            "tenant": {"id": kluis_core::ids::new_id(), "slug": "from-the-future"}, "created_at": "2099-01-01T00:00:00Z",
        }});
        let path = dir.path().join("future.kluis");
        let sealed = kluis_backup::seal::SealWriter::new(std::fs::File::create(&path).unwrap(), &Secret::Master(&master)).unwrap();
        let mut zstd = zstd::Encoder::new(sealed, 3).unwrap();
        writeln!(zstd, "{header}").unwrap();
        zstd.finish().unwrap().finish().unwrap();
        let error = import(&app, &path, &Secret::Master(&master), None).unwrap_err();
        assert!(matches!(error, ArchiveError::NewerSchema { .. }), "{error}");
        assert!(error.to_string().contains("upgrade kluis"), "{error}");
        let operator = app.operator_token().await;
        let tenants: Value = app.get("/v1/tenants?limit=200", &operator).await.json().await.unwrap();
        assert!(tenants["items"].as_array().unwrap().iter().all(|t| t["slug"] != "from-the-future"));
    }

    async fn an_export_cut_off_by_a_stop_is_failed_at_the_next_start(app) {
        use diesel::RunQueryDsl;
        let tenant = app.new_tenant().await;
        let other = app.new_tenant().await;
        let job = export(&app, &tenant, &json!({})).await;
        let id = job["id"].as_str().unwrap();
        // What a kill in the middle of an export leaves: the job running and
        // its `.part` file; and a part file whose job is gone.
        let dir = app.settings.data_dir.join("exports").join(tenant.id.as_str());
        let part = dir.join(format!("{id}.part"));
        std::fs::rename(dir.join(format!("{id}.kluis")), &part).unwrap();
        let orphan = dir.join(format!("{}.part", kluis_core::ids::new_id()));
        std::fs::write(&orphan, b"cut off").unwrap();
        // And one that a live writer (another replica on a shared volume) holds.
        let alive = dir.join(format!("{}.part", kluis_core::ids::new_id()));
        std::fs::write(&alive, b"being written").unwrap();
        let writer = std::fs::File::open(&alive).unwrap();
        writer.lock().unwrap();
        let reset = format!("UPDATE tenant_exports SET state = 'running', manifest = NULL, finished_at = NULL WHERE id = '{id}'");
        assert_eq!(diesel::sql_query(reset).execute(&mut app.conn()).unwrap(), 1);
        let running: Value = app.get(&format!("/v1/exports/{id}"), &tenant.token).await.json().await.unwrap();
        assert_eq!(running["state"], "running");
        // The instance starts again on its data directory and database.
        let restarted = kluis_server::startup::Application::build(&app.settings).unwrap();
        let base = format!("http://127.0.0.1:{}", restarted.port());
        actix_web::rt::spawn(restarted.run_until_stopped());
        let get = |path: String, token: String| {
            let request = app.client.get(format!("{base}{path}")).bearer_auth(token);
            async move { request.send().await.unwrap() }
        };
        let failed: Value = get(format!("/v1/exports/{id}"), tenant.token.clone()).await.json().await.unwrap();
        assert_eq!(failed["state"], "failed", "{failed}");
        assert!(failed["error"].as_str().unwrap().starts_with("interrupted"), "{failed}");
        assert!(!part.exists() && !orphan.exists(), "the part files hold personal data and are removed");
        assert!(alive.exists(), "a part file a live writer holds is left alone");
        drop(writer);
        let response = get(format!("/v1/exports/{id}/download"), tenant.token.clone()).await;
        assert_problem(response, StatusCode::CONFLICT, "export_not_ready").await;
        // Another tenant still sees none of it; a new export works.
        let response = get(format!("/v1/exports/{id}"), other.token.clone()).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        export(&app, &tenant, &json!({})).await;
    }

    async fn export_jobs_are_the_tenants_own_and_need_retention_admin(app) {
        let tenant = app.new_tenant().await;
        let other = app.new_tenant().await;
        let job = export(&app, &tenant, &json!({})).await;
        let id = job["id"].as_str().unwrap();
        assert_eq!(job["manifest"]["tenant"]["id"], tenant.id.as_str());
        assert!(job["manifest"]["schema_version"].as_str().unwrap().len() == 14);
        // Another tenant: 404, like an absent one.
        for path in [format!("/v1/exports/{id}"), format!("/v1/exports/{id}/download")] {
            assert_problem(app.get(&path, &other.token).await, StatusCode::NOT_FOUND, "not_found").await;
        }
        assert_problem(app.get(&format!("/v1/exports/{}", kluis_core::ids::new_id()), &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.get("/v1/exports/not-an-id", &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        // Without the scope: 403.
        let reader = app.new_client(&tenant, &["people:read"]).await;
        let reader = app.token(&reader).await;
        assert_problem(app.post("/v1/exports", &reader, &json!({})).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.get(&format!("/v1/exports/{id}"), &reader).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.get(&format!("/v1/exports/{id}/download"), &reader).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let operator = app.operator_token().await;
        assert_problem(app.post("/v1/exports", &operator, &json!({})).await, StatusCode::FORBIDDEN, "operator_not_allowed").await;
        // No token: 401.
        let response = app.client.post(app.url("/v1/exports")).json(&json!({})).send().await.unwrap();
        assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
        let response = app.client.get(app.url(&format!("/v1/exports/{id}/download"))).send().await.unwrap();
        assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
        // Bad input: 422 naming the field.
        for body in [json!({"passphrase": "short"}), json!({"passphrase": 12}), json!({"format": "zip"})] {
            let problem = assert_problem(app.post("/v1/exports", &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            let field = problem["errors"][0]["field"].as_str().unwrap();
            assert!(field == "passphrase" || field == "format", "{problem}");
        }
        // Started and downloaded: both in the audit log.
        let _ = app.get(&format!("/v1/exports/{id}/download"), &tenant.token).await.bytes().await.unwrap();
        let events: Value = app.get("/v1/audit/events?limit=5", &tenant.token).await.json().await.unwrap();
        let actions: Vec<&str> = events["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert!(actions.contains(&"tenant.export") && actions.contains(&"tenant.export_download"), "{actions:?}");
    }
}
