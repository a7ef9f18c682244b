//! Backups: `POST /v1/backups` and the schedule, rotation under the
//! tenant's policy deleting files, download and deletion, restore that
//! erases again whoever was erased after the backup (audited with the
//! count), a tampered backup refused with nothing changed, the schedule's
//! lease across instances, and the S3 round trip against a real local
//! S3-compatible server (moto).

use std::path::PathBuf;
use std::time::Duration;

use kluis_backup::Secret;
use kluis_store::MasterKey;
use kluis_tests::{Backend, StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

/// Start a backup and wait until it is done; returns it.
async fn backup(app: &TestApp, tenant: &Tenant) -> Value {
    let response = app.post("/v1/backups", &tenant.token, &json!({})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{:?}", response.text().await);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let started: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/v1/backups/{}", started["id"].as_str().unwrap()));
    assert_eq!(started["origin"], "manual");
    done(app, tenant, &location).await
}

async fn done(app: &TestApp, tenant: &Tenant, location: &str) -> Value {
    for _ in 0..600 {
        let backup: Value = app.get(location, &tenant.token).await.json().await.unwrap();
        match backup["state"].as_str().unwrap() {
            "running" => actix_web::rt::time::sleep(Duration::from_millis(50)).await,
            "done" => return backup,
            other => panic!("backup {other}: {backup}"),
        }
    }
    panic!("the backup did not finish");
}

async fn person(app: &TestApp, tenant: &Tenant, first_name: &str) -> String {
    let body = json!({"first_name": first_name, "last_name": "Jansen",
        "emails": [{"address": format!("{}@jansen.example", first_name.to_lowercase()), "label": "work"}]});
    let response = app.post("/v1/people", &tenant.token, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    let person: Value = response.json().await.unwrap();
    person["id"].as_str().unwrap().to_owned()
}

async fn restore(app: &TestApp, tenant: &Tenant, id: &str) -> Value {
    let response = app.post(&format!("/v1/backups/{id}/restore"), &tenant.token, &json!({})).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    response.json().await.unwrap()
}

/// The newest audit entries of the tenant, newest first.
async fn audit(app: &TestApp, token: &str) -> Vec<Value> {
    let events: Value = app.get("/v1/audit/events?limit=50", token).await.json().await.unwrap();
    events["items"].as_array().unwrap().clone()
}

async fn audit_verifies(app: &TestApp, token: &str) {
    let body: Value = app.get("/v1/audit/verify", token).await.json().await.unwrap();
    assert_eq!(body["ok"], true, "{body}");
}

fn backup_file(app: &TestApp, tenant: &Tenant, id: &str) -> PathBuf {
    app.settings.data_dir.join("backups").join(&tenant.id).join(format!("{id}.kluis"))
}

fn master_of(app: &TestApp) -> MasterKey {
    MasterKey::from_base64(&std::fs::read_to_string(app.settings.data_dir.join("master.key")).unwrap()).unwrap()
}

/// Erase after a backup, restore it: the person is back in the backup's
/// rows and erased again before the restore answers; the restore's audit
/// entry says one re-erasure; what was made after the backup is gone and
/// what was changed is as it was.
async fn restore_reapplies_the_erasure_ledger(app: &TestApp) {
    let tenant = app.new_tenant().await;
    let anna = person(app, &tenant, "Anna").await;
    let bram = person(app, &tenant, "Bram").await;
    let made = backup(app, &tenant).await;
    let id = made["id"].as_str().unwrap();
    assert!(made["manifest"]["tables"].as_array().unwrap().iter().any(|t| t["name"] == "people" && t["rows"] == 2));

    // After the backup: Anna erased, Bram renamed, Carla added.
    assert_eq!(app.delete(&format!("/v1/people/{anna}"), &tenant.token).await.status(), StatusCode::OK);
    let response = app.patch(&format!("/v1/people/{bram}"), &tenant.token, &json!({"first_name": "Bramm"})).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    let carla = person(app, &tenant, "Carla").await;

    let restored = restore(app, &tenant, id).await;
    assert_eq!(restored["re_erasures"], 1, "{restored}");
    assert_eq!(restored["backup"]["id"], id);
    assert!(restored["rows_restored"].as_u64().unwrap() > 0);

    assert_problem(app.get(&format!("/v1/people/{anna}"), &tenant.token).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    assert_problem(app.get(&format!("/v1/people/{carla}"), &tenant.token).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    let bram_now: Value = app.get(&format!("/v1/people/{bram}"), &tenant.token).await.json().await.unwrap();
    assert_eq!(bram_now["first_name"], "Bram");
    let people: Value = app.get("/v1/people", &tenant.token).await.json().await.unwrap();
    assert_eq!(people["items"].as_array().unwrap().len(), 1, "{people}");
    // Two receipts for Anna: her erasure and the restore's.
    let receipts: Value = app.get("/v1/erasures", &tenant.token).await.json().await.unwrap();
    let receipts = receipts["items"].as_array().unwrap();
    assert_eq!(receipts.len(), 2, "{receipts:?}");
    assert_eq!(receipts[0]["subject_ref"], receipts[1]["subject_ref"]);

    let events = audit(app, &tenant.token).await;
    let entry = events.iter().find(|e| e["action"] == "tenant.restore").expect("a tenant.restore entry");
    assert_eq!(entry["target_id"], id, "{entry}");
    assert_eq!(entry["fields"], json!(["backup", "re_erasures=1"]), "{entry}");
    assert_eq!(entry["actor_id"], tenant.admin.client_id.as_str());
    let deletes = events.iter().filter(|e| e["action"] == "person.delete").count();
    assert_eq!(deletes, 2, "the erasure and the re-erasure");
    audit_verifies(app, &tenant.token).await;

    // Restoring again finds Anna in the backup again, and erases her again.
    assert_eq!(restore(app, &tenant, id).await["re_erasures"], 1);
    // A backup made after the erasure has nobody to erase again.
    let later = backup(app, &tenant).await;
    assert_eq!(restore(app, &tenant, later["id"].as_str().unwrap()).await["re_erasures"], 0);
    audit_verifies(app, &tenant.token).await;
}

both_backends! {
    async fn a_restore_erases_again_whoever_was_erased_after_the_backup(app) {
        restore_reapplies_the_erasure_ledger(&app).await;
    }

    async fn rotation_deletes_the_backups_the_policy_no_longer_keeps(app) {
        let tenant = app.new_tenant().await;
        let policy = app.get("/v1/backup-policy", &tenant.token).await;
        assert_eq!(policy.status(), StatusCode::OK);
        let etag = policy.headers()["etag"].to_str().unwrap().to_owned();
        let policy: Value = policy.json().await.unwrap();
        assert_eq!((policy["keep_daily"].as_u64(), policy["keep_weekly"].as_u64(), policy["keep_monthly"].as_u64()), (Some(7), Some(4), Some(3)));
        // Two backups on one day: the default policy keeps the newest of the day.
        let first = backup(&app, &tenant).await;
        let first_id = first["id"].as_str().unwrap().to_owned();
        assert!(backup_file(&app, &tenant, &first_id).is_file());
        let response = app.client.patch(app.url("/v1/backup-policy")).bearer_auth(&tenant.token)
            .header("if-match", etag).json(&json!({"keep_weekly": 0, "keep_monthly": 0})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let policy: Value = response.json().await.unwrap();
        assert_eq!((policy["keep_daily"].as_u64(), policy["keep_weekly"].as_u64(), policy["keep_monthly"].as_u64()), (Some(7), Some(0), Some(0)));
        let second = backup(&app, &tenant).await;
        let second_id = second["id"].as_str().unwrap().to_owned();
        // Rotation runs once the second is done: the first goes, file and all.
        let mut gone = false;
        for _ in 0..200 {
            if app.get(&format!("/v1/backups/{first_id}"), &tenant.token).await.status() == StatusCode::NOT_FOUND {
                gone = true;
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(gone, "rotation did not delete the older backup of the day");
        assert!(!backup_file(&app, &tenant, &first_id).exists());
        assert!(backup_file(&app, &tenant, &second_id).is_file());
        let list: Value = app.get("/v1/backups", &tenant.token).await.json().await.unwrap();
        let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [second_id.as_str()]);
        let events = audit(&app, &tenant.token).await;
        let rotated = events.iter().find(|e| e["action"] == "backup.delete").expect("a backup.delete entry");
        assert_eq!(rotated["target_id"], first_id.as_str());
        assert_eq!(rotated["fields"], json!(["rotation"]));
        assert_eq!(rotated["actor_id"], "backup-schedule");
    }

    async fn backups_download_delete_and_belong_to_their_tenant(app) {
        let tenant = app.new_tenant().await;
        let other = app.new_tenant().await;
        person(&app, &tenant, "Anna").await;
        let made = backup(&app, &tenant).await;
        let id = made["id"].as_str().unwrap().to_owned();
        assert_eq!(made["storage"], "local");
        assert_eq!(made["manifest"]["tenant"]["id"], tenant.id.as_str());
        // The download is the archive, sealed under the master key.
        let response = app.get(made["download_url"].as_str().unwrap(), &tenant.token).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(bytes.len() as u64, made["bytes"].as_u64().unwrap());
        let master = master_of(&app);
        let header = kluis_backup::archive::read_header(&bytes[..], &Secret::Master(&master)).unwrap();
        assert_eq!(header.tenant.id, tenant.id);

        // Another tenant's backup: 404, like one that does not exist.
        let random = kluis_core::ids::new_id();
        for path in [format!("/v1/backups/{id}"), format!("/v1/backups/{id}/download"), format!("/v1/backups/{random}"), "/v1/backups/not-an-id".to_owned()] {
            assert_problem(app.get(&path, &other.token).await, StatusCode::NOT_FOUND, "not_found").await;
        }
        assert_problem(app.post(&format!("/v1/backups/{id}/restore"), &other.token, &json!({})).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.delete(&format!("/v1/backups/{id}"), &other.token).await, StatusCode::NOT_FOUND, "not_found").await;
        let theirs: Value = app.get("/v1/backups", &other.token).await.json().await.unwrap();
        assert_eq!(theirs["items"], json!([]));
        assert!(backup_file(&app, &tenant, &id).is_file());

        // Without retention:admin: 403; the operator: 403; no token: 401.
        let reader = app.new_client(&tenant, &["people:read", "people:write"]).await;
        let reader = app.token(&reader).await;
        let operator = app.operator_token().await;
        for token in [&reader, &operator] {
            for response in [
                app.post("/v1/backups", token, &json!({})).await,
                app.get("/v1/backups", token).await,
                app.get(&format!("/v1/backups/{id}"), token).await,
                app.get(&format!("/v1/backups/{id}/download"), token).await,
                app.post(&format!("/v1/backups/{id}/restore"), token, &json!({})).await,
                app.delete(&format!("/v1/backups/{id}"), token).await,
                app.get("/v1/backup-policy", token).await,
                app.patch("/v1/backup-policy", token, &json!({"keep_daily": 2})).await,
            ] {
                let code = if *token == operator { "operator_not_allowed" } else { "insufficient_scope" };
                assert_problem(response, StatusCode::FORBIDDEN, code).await;
            }
        }
        let response = app.client.post(app.url(&format!("/v1/backups/{id}/restore"))).send().await.unwrap();
        assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;

        // Bad input: 422 naming the field, and the policy unchanged.
        for (body, field) in [
            (json!({"keep_daily": 0}), "keep_daily"),
            (json!({"keep_daily": 367}), "keep_daily"),
            (json!({"keep_weekly": -1}), "keep_weekly"),
            (json!({"keep_monthly": "three"}), "keep_monthly"),
            (json!({"keep_yearly": 1}), "keep_yearly"),
        ] {
            let problem = assert_problem(app.patch("/v1/backup-policy", &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
        let response = app.get("/v1/backups?limit=0", &tenant.token).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let response = app.client.patch(app.url("/v1/backup-policy")).bearer_auth(&tenant.token)
            .header("if-match", "\"999\"").json(&json!({"keep_daily": 2})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
        let policy: Value = app.get("/v1/backup-policy", &tenant.token).await.json().await.unwrap();
        assert_eq!(policy["keep_daily"], 7);

        // Deleted: row and file gone; downloaded and deleted are audited.
        assert_eq!(app.delete(&format!("/v1/backups/{id}"), &tenant.token).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.get(&format!("/v1/backups/{id}"), &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        assert!(!backup_file(&app, &tenant, &id).exists());
        let actions: Vec<String> = audit(&app, &tenant.token).await.iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
        for action in ["backup.create", "backup.download", "backup.delete"] {
            assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
        }
    }

    async fn a_tampered_backup_is_refused_and_nothing_changes(app) {
        let tenant = app.new_tenant().await;
        person(&app, &tenant, "Anna").await;
        let made = backup(&app, &tenant).await;
        let id = made["id"].as_str().unwrap().to_owned();
        let later = person(&app, &tenant, "Dirk").await;
        let file = backup_file(&app, &tenant, &id);
        let original = std::fs::read(&file).unwrap();
        for at in [40, original.len() / 2, original.len() - 1] {
            let mut bytes = original.clone();
            bytes[at] ^= 0x01;
            std::fs::write(&file, &bytes).unwrap();
            let response = app.post(&format!("/v1/backups/{id}/restore"), &tenant.token, &json!({})).await;
            let problem = assert_problem(response, StatusCode::CONFLICT, "backup_refused").await;
            assert!(problem["detail"].as_str().unwrap().contains("altered") || problem["detail"].as_str().unwrap().contains("does not open"), "{problem}");
            // Nothing changed: the person made after the backup is still there.
            assert_eq!(app.get(&format!("/v1/people/{later}"), &tenant.token).await.status(), StatusCode::OK);
        }
        std::fs::write(&file, &original[..original.len() / 2]).unwrap();
        let response = app.post(&format!("/v1/backups/{id}/restore"), &tenant.token, &json!({})).await;
        assert_problem(response, StatusCode::CONFLICT, "backup_refused").await;
        assert_eq!(app.get(&format!("/v1/people/{later}"), &tenant.token).await.status(), StatusCode::OK);
        assert!(audit(&app, &tenant.token).await.iter().all(|e| e["action"] != "tenant.restore"));
        // The untouched archive restores.
        std::fs::write(&file, &original).unwrap();
        assert_eq!(restore(&app, &tenant, &id).await["re_erasures"], 0);
        assert_problem(app.get(&format!("/v1/people/{later}"), &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        audit_verifies(&app, &tenant.token).await;
    }

    async fn kluis_tenant_restore_restores_in_place_or_brings_a_deleted_tenant_back(app) {
        let tenant = app.new_tenant().await;
        let anna = person(&app, &tenant, "Anna").await;
        let bram = person(&app, &tenant, "Bram").await;
        let made = backup(&app, &tenant).await;
        let id = made["id"].as_str().unwrap().to_owned();
        assert_eq!(app.delete(&format!("/v1/people/{anna}"), &tenant.token).await.status(), StatusCode::OK);
        let core = &app.state.app;
        let store = core.backups.clone().unwrap();
        let cli = |backup: &str, as_slug: Option<&str>| {
            let mut conn = app.conn();
            kluis_app::backups::restore_cli(&mut conn, &core.holders, &core.master, &store, backup, as_slug.map(str::to_owned))
        };
        // Unknown ids, and --as for a tenant that exists here: refused.
        assert!(matches!(cli("not-an-id", None), Err(kluis_core::DomainError::NotFound)));
        assert!(matches!(cli(&kluis_core::ids::new_id(), None), Err(kluis_core::DomainError::NotFound)));
        let refused = cli(&id, Some("a-copy"));
        assert!(matches!(refused, Err(kluis_core::DomainError::Conflict { code: "tenant_exists", .. })), "{refused:?}");
        // In place: Anna erased again, by the system, audited.
        let restored = cli(&id, None).unwrap();
        assert!(restored.in_place);
        assert_eq!((restored.re_erasures, restored.slug.as_str()), (1, tenant.slug.as_str()));
        assert_eq!(app.get(&format!("/v1/people/{anna}"), &tenant.token).await.status(), StatusCode::NOT_FOUND);
        let events = audit(&app, &tenant.token).await;
        let entry = events.iter().find(|e| e["action"] == "tenant.restore").unwrap();
        assert_eq!((entry["actor_kind"].as_str(), entry["actor_id"].as_str()), (Some("system"), Some("kluis")));
        assert_eq!(entry["fields"], json!(["backup", "re_erasures=1"]));
        // The tenant deleted: the backup brings it back whole, under a new slug.
        let operator = app.operator_token().await;
        assert_eq!(app.delete(&format!("/v1/tenants/{}", tenant.id), &operator).await.status(), StatusCode::NO_CONTENT);
        let back = cli(&id, Some("brought-back")).unwrap();
        assert!(!back.in_place);
        assert_eq!((back.slug.as_str(), back.tenant.as_str()), ("brought-back", tenant.id.as_str()));
        let shown: Value = app.get(&format!("/v1/tenants/{}", tenant.id), &operator).await.json().await.unwrap();
        assert_eq!(shown["slug"], "brought-back");
        let token = app.token(&tenant.admin).await;
        assert_eq!(app.get(&format!("/v1/people/{bram}"), &token).await.status(), StatusCode::OK);
        audit_verifies(&app, &token).await;
    }

    async fn the_schedule_backs_a_tenant_up_once_per_interval_whichever_instance_runs(app) {
        let tenant = app.new_tenant().await;
        person(&app, &tenant, "Anna").await;
        let store = app.state.app.backups.clone().unwrap();
        let day = time::Duration::DAY;
        let now = kluis_core::time::now();
        // Two instances racing for the same round: one backup.
        let rounds: Vec<_> = ["instance-a", "instance-b"].into_iter().map(|owner| {
            let (pool, master, store) = (app.state.app.pool.clone(), app.state.app.master.clone(), store.clone());
            std::thread::spawn(move || kluis_app::backups::run_schedule(&pool, &master, &store, owner, day, now).unwrap())
        }).collect();
        let made: Vec<_> = rounds.into_iter().flat_map(|r| r.join().unwrap()).collect();
        assert_eq!(made.iter().filter(|b| b.tenant.as_str() == tenant.id).count(), 1);
        let list: Value = app.get("/v1/backups", &tenant.token).await.json().await.unwrap();
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!((items[0]["origin"].as_str(), items[0]["state"].as_str(), items[0]["actor_id"].as_str()), (Some("schedule"), Some("done"), Some("backup-schedule")));
        // Not due again within the interval, whoever asks; due after it.
        let pool = app.state.app.pool.clone();
        let again = kluis_app::backups::run_schedule(&pool, &app.state.app.master, &store, "instance-b", day, now + time::Duration::hours(23)).unwrap();
        assert!(again.is_empty());
        let policy: Value = app.get("/v1/backup-policy", &tenant.token).await.json().await.unwrap();
        assert!(policy["last_scheduled_at"].is_string(), "{policy}");
        // A lease another instance holds keeps the tenant from this one.
        let mut conn = app.conn();
        let tenant_id = kluis_core::TenantId(tenant.id.clone());
        let next_day = now + time::Duration::hours(25);
        assert!(kluis_backup::backups::claim(&mut conn, &tenant_id, "instance-c", next_day, next_day + time::Duration::hours(1), next_day - day).unwrap());
        let blocked = kluis_app::backups::run_schedule(&pool, &app.state.app.master, &store, "instance-b", day, next_day).unwrap();
        assert!(blocked.is_empty());
        kluis_backup::backups::release(&mut conn, &tenant_id, "instance-c", now).unwrap();
        let due = kluis_app::backups::run_schedule(&pool, &app.state.app.master, &store, "instance-b", day, next_day).unwrap();
        assert_eq!(due.len(), 1);
    }
}

/// The interpreter of `.venv-ci` with moto's server. Under CI it must exist
/// (.ci/run makes it); elsewhere it is made on first use.
fn moto_server() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let server = root.join(".venv-ci/bin/moto_server");
    let python = root.join(".venv-ci/bin/python");
    let installed = || {
        std::process::Command::new(&python)
            .args(["-c", "import moto.server, flask"])
            .status()
            .is_ok_and(|s| s.success())
            && server.is_file()
    };
    if !installed() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but .venv-ci lacks moto[server]: .ci/run makes it with tests/schemathesis/venv.sh"
        );
        let status = std::process::Command::new("bash")
            .args(["-c", ". tests/schemathesis/venv.sh"])
            .current_dir(&root)
            .status()
            .unwrap();
        assert!(status.success() && installed(), "could not make .venv-ci with moto[server]");
    }
    server
}

/// A moto S3 server on a free port, stopped on drop.
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = std::process::Command::new(moto_server())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client.get(&moto.endpoint).send().await.is_ok() {
            return moto;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start on port {port}");
}

/// The object keys in a bucket (moto needs no signature).
async fn keys(moto: &Moto, bucket: &str) -> Vec<String> {
    let body = reqwest::get(format!("{}/{bucket}?list-type=2", moto.endpoint)).await.unwrap().text().await.unwrap();
    body.split("<Key>").skip(1).filter_map(|s| s.split("</Key>").next()).map(str::to_owned).collect()
}

/// A backup kept in an S3 bucket: made, listed in the bucket under the
/// prefix, downloaded, restored (with the erasure re-applied) and deleted.
async fn s3_round_trip(backend: Backend) {
    let moto = start_moto().await;
    let bucket = "kluis-backups";
    let created = reqwest::Client::new().put(format!("{}/{bucket}", moto.endpoint)).send().await.unwrap();
    assert!(created.status().is_success(), "bucket: {}", created.status());
    let endpoint = moto.endpoint.clone();
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.backup_url = Some(format!("s3://{bucket}/kluis/test"));
        s.backup_s3_endpoint = Some(endpoint);
        s.backup_s3_region = Some("eu-west-1".to_owned());
        s.backup_s3_access_key_id = Some("test-key".to_owned());
        s.backup_s3_secret_access_key = Some("test-secret".to_owned().into());
    })
    .await
    else {
        return;
    };
    let tenant = app.new_tenant().await;
    let anna = person(&app, &tenant, "Anna").await;
    let made = backup(&app, &tenant).await;
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["storage"], "s3");
    let key = format!("kluis/test/{}/{id}.kluis", tenant.id);
    assert_eq!(keys(&moto, bucket).await, std::slice::from_ref(&key));
    assert!(!app.settings.data_dir.join("backups").join(&tenant.id).join(format!("{id}.kluis")).exists());
    // Downloaded from the bucket: the archive, whole.
    let response = app.get(&format!("/v1/backups/{id}/download"), &tenant.token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, made["bytes"].as_u64().unwrap());
    let stored = reqwest::get(format!("{}/{bucket}/{key}", moto.endpoint)).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes, stored);
    let master = master_of(&app);
    assert_eq!(kluis_backup::archive::read_header(&bytes[..], &Secret::Master(&master)).unwrap().tenant.id, tenant.id);
    // Restored from the bucket, the erasure since re-applied.
    assert_eq!(app.delete(&format!("/v1/people/{anna}"), &tenant.token).await.status(), StatusCode::OK);
    let restored = restore(&app, &tenant, &id).await;
    assert_eq!(restored["re_erasures"], 1);
    assert_problem(app.get(&format!("/v1/people/{anna}"), &tenant.token).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    // Deleted: the object is gone from the bucket.
    assert_eq!(app.delete(&format!("/v1/backups/{id}"), &tenant.token).await.status(), StatusCode::NO_CONTENT);
    assert!(keys(&moto, bucket).await.is_empty());
    audit_verifies(&app, &tenant.token).await;
}

mod s3_backups_round_trip_through_a_real_s3_server {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        s3_round_trip(Backend::Sqlite).await;
    }

    #[actix_web::test]
    async fn postgres() {
        s3_round_trip(Backend::Postgres).await;
    }
}
