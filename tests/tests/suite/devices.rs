//! Devices: estimate, recognition, step-up by mailed code, activity
//! throttling, purge, visit statistics without full IPs, isolation.

use diesel::prelude::*;
use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const CHROME_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

/// A person with a verified primary e-mail and an account.
async fn verified_person(app: &TestApp, tenant: &Tenant, email: &str) -> String {
    let person: Value = app
        .post(
            "/v1/people",
            &tenant.token,
            &json!({"first_name": "Dev", "emails": [{"address": email, "label": "work"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = person["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post(&format!("/v1/people/{id}/account"), &tenant.token, &json!({"password": PASSWORD})).await.status(),
        StatusCode::CREATED
    );
    let token = app.mailed_code(email, 1).await;
    let verified =
        app.client.post(app.url("/v1/auth/verify-email")).json(&json!({"token": token})).send().await.unwrap();
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    id
}

async fn login(app: &TestApp, tenant: &Tenant, email: &str, device: Value) -> reqwest::Response {
    app.client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"tenant": tenant.slug, "identifier": email, "password": PASSWORD, "device": device}))
        .send()
        .await
        .unwrap()
}

both_backends! {
    async fn first_device_is_trusted_an_unfamiliar_one_steps_up_and_a_known_key_goes_straight_in(app) {
        let tenant = app.new_tenant().await;
        let person = verified_person(&app, &tenant, "dev@example.nl").await;
        let first = login(&app, &tenant, "dev@example.nl", json!({"user_agent": CHROME_WINDOWS, "screen": {"width": 1920, "height": 1080}, "language": "nl-NL"})).await;
        assert_eq!(first.status(), StatusCode::OK);
        let first: Value = first.json().await.unwrap();
        let desktop_key = first["device_key"].as_str().unwrap().to_owned();
        let devices: Value = app.get(&format!("/v1/people/{person}/devices"), &tenant.token).await.json().await.unwrap();
        let desktop = &devices["items"][0];
        assert_eq!(desktop["estimate"]["browser"], "Chrome");
        assert_eq!(desktop["estimate"]["os"], "Windows");
        assert_eq!(desktop["estimate"]["device_type"], "desktop");
        assert_eq!(desktop["screen"]["width"], 1920);
        assert_eq!(desktop["ip"], "127.0.0.1");

        // An iPhone without a key: a code goes to the verified address.
        let step = login(&app, &tenant, "dev@example.nl", json!({"user_agent": SAFARI_IPHONE})).await;
        assert_eq!(step.status(), StatusCode::ACCEPTED);
        let challenge: Value = step.json().await.unwrap();
        assert_eq!(challenge["kind"], "email_code");
        let code = app.mailed_code("dev@example.nl", 2).await;
        assert_eq!(code.len(), 6);
        let path = format!("/v1/auth/challenges/{}", challenge["challenge_id"].as_str().unwrap());
        let wrong = app.client.post(app.url(&path)).json(&json!({"code": "999999x"})).send().await.unwrap();
        assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_code").await;
        let passed = app.client.post(app.url(&path)).json(&json!({"code": code})).send().await.unwrap();
        assert_eq!(passed.status(), StatusCode::OK);
        let passed: Value = passed.json().await.unwrap();
        assert!(passed["device_key"].is_string());
        let devices: Value = app.get(&format!("/v1/people/{person}/devices"), &tenant.token).await.json().await.unwrap();
        assert_eq!(devices["items"].as_array().unwrap().len(), 2);
        assert!(devices["items"].as_array().unwrap().iter().any(|d| d["estimate"]["os"] == "iOS" && d["estimate"]["device_type"] == "mobile"));

        // Five wrong codes kill a step-up challenge.
        let step: Value = login(&app, &tenant, "dev@example.nl", json!({"user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"})).await.json().await.unwrap();
        assert_eq!(step["kind"], "email_code");
        let code = app.mailed_code("dev@example.nl", 3).await;
        let path = format!("/v1/auth/challenges/{}", step["challenge_id"].as_str().unwrap());
        for _ in 0..5 {
            app.client.post(app.url(&path)).json(&json!({"code": "000000"})).send().await.unwrap();
        }
        let dead = app.client.post(app.url(&path)).json(&json!({"code": code})).send().await.unwrap();
        assert_problem(dead, StatusCode::UNAUTHORIZED, "challenge_invalid").await;

        // The desktop's key: straight in, and its last sign-in moves.
        let before = devices["items"].as_array().unwrap().iter().find(|d| d["estimate"]["os"] == "Windows").unwrap()["last_login_at"].clone();
        let again = login(&app, &tenant, "dev@example.nl", json!({"key": desktop_key, "user_agent": CHROME_WINDOWS})).await;
        assert_eq!(again.status(), StatusCode::OK);
        let again: Value = again.json().await.unwrap();
        assert!(again["device_key"].is_null(), "a known device keeps its key");
        let devices: Value = app.get(&format!("/v1/people/{person}/devices"), &tenant.token).await.json().await.unwrap();
        let after = devices["items"].as_array().unwrap().iter().find(|d| d["estimate"]["os"] == "Windows").unwrap()["last_login_at"].clone();
        assert_ne!(before, after);

        // A familiar device (same kind, no key) is trusted without a step-up.
        let familiar = login(&app, &tenant, "dev@example.nl", json!({"user_agent": CHROME_WINDOWS})).await;
        assert_eq!(familiar.status(), StatusCode::OK);

        // Removing a device ends its sessions.
        let access = again["access_token"].as_str().unwrap();
        assert_eq!(app.get("/v1/me/devices", access).await.status(), StatusCode::OK);
        let device_id = again["device_id"].as_str().unwrap();
        assert_eq!(app.delete(&format!("/v1/people/{person}/devices/{device_id}"), &tenant.token).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get("/v1/me", access).await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn a_tenant_can_turn_the_step_up_off(app) {
        let tenant = app.new_tenant().await;
        let operator = app.operator_token().await;
        let view: Value = app.get(&format!("/v1/tenants/{}", tenant.id), &operator).await.json().await.unwrap();
        assert_eq!(view["device_step_up"], true, "on by default");
        verified_person(&app, &tenant, "lax@example.nl").await;
        assert_eq!(login(&app, &tenant, "lax@example.nl", json!({"user_agent": CHROME_WINDOWS})).await.status(), StatusCode::OK);
        assert_eq!(login(&app, &tenant, "lax@example.nl", json!({"user_agent": SAFARI_IPHONE})).await.status(), StatusCode::ACCEPTED);
        let patched = app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"device_step_up": false})).await;
        assert_eq!(patched.status(), StatusCode::OK);
        let response = login(&app, &tenant, "lax@example.nl", json!({"user_agent": SAFARI_IPHONE})).await;
        assert_eq!(response.status(), StatusCode::OK, "no step-up when the tenant turned it off");
        assert!(response.json::<Value>().await.unwrap()["device_key"].is_string(), "the device is trusted and stored");
        let bad = app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"device_step_up": "no"})).await;
        assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }

    async fn a_hundred_requests_in_a_minute_write_activity_at_most_once(app) {
        let tenant = app.new_tenant().await;
        verified_person(&app, &tenant, "busy@example.nl").await;
        let session: Value = login(&app, &tenant, "busy@example.nl", json!({"user_agent": CHROME_WINDOWS})).await.json().await.unwrap();
        let access = session["access_token"].as_str().unwrap();
        let writes = |metrics: &str| -> u64 {
            metrics.lines().find_map(|l| l.strip_prefix("kluis_device_activity_writes_total ")).map_or(0, |v| v.trim().parse().unwrap())
        };
        let before = writes(&app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap());
        for _ in 0..100 {
            assert_eq!(app.get("/v1/me", access).await.status(), StatusCode::OK);
        }
        let after = writes(&app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap());
        assert!(after - before <= 1, "{} activity writes for 100 requests", after - before);
    }

    async fn purge_removes_exactly_the_devices_idle_for_over_three_years(app) {
        let tenant = app.new_tenant().await;
        let person = verified_person(&app, &tenant, "old@example.nl").await;
        let mut mails = 1;
        for ua in [CHROME_WINDOWS, "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", SAFARI_IPHONE] {
            let response = login(&app, &tenant, "old@example.nl", json!({"user_agent": ua})).await;
            if response.status() == StatusCode::ACCEPTED {
                let challenge: Value = response.json().await.unwrap();
                mails += 1;
                let code = app.mailed_code("old@example.nl", mails).await;
                let path = format!("/v1/auth/challenges/{}", challenge["challenge_id"].as_str().unwrap());
                assert_eq!(app.client.post(app.url(&path)).json(&json!({"code": code})).send().await.unwrap().status(), StatusCode::OK);
            }
        }
        let devices: Value = app.get(&format!("/v1/people/{person}/devices"), &tenant.token).await.json().await.unwrap();
        let ids: Vec<String> = devices["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids.len(), 3);
        let now = kluis_core::time::now();
        let three_years = time::Duration::days(3 * 365);
        {
            use kluis_store::schema::devices;
            let mut conn = app.conn();
            let set = |conn: &mut kluis_store::Db, id: &str, at: time::PrimitiveDateTime| {
                diesel::update(devices::table.filter(devices::id.eq(id))).set(devices::last_activity_at.eq(at)).execute(conn).unwrap();
            };
            set(&mut conn, &ids[0], now - three_years - time::Duration::days(1));
            set(&mut conn, &ids[1], now - three_years + time::Duration::days(1));
        }
        let purged = {
            let mut conn = app.conn();
            let holder = app.state.holders.iter().find(|h| h.tables().contains(&"devices")).unwrap();
            let purge = kluis_store::personal::Purge {
                category: kluis_core::category::Category::Device,
                due: kluis_store::personal::Due { idle: Some(kluis_store::personal::Idle::Before(now - three_years)), ..Default::default() },
                action: kluis_store::personal::PurgeAction::Delete,
                skip: &[],
                limit: 100,
                dry_run: false,
            };
            holder.purge(&mut conn, &kluis_core::TenantId(tenant.id.clone()), &purge).unwrap()
        };
        assert_eq!(purged["devices"], 1);
        let left: Value = app.get(&format!("/v1/people/{person}/devices"), &tenant.token).await.json().await.unwrap();
        let left: Vec<&str> = left["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert!(!left.contains(&ids[0].as_str()) && left.contains(&ids[1].as_str()) && left.contains(&ids[2].as_str()));
    }

    async fn visits_keep_no_full_address_and_add_up(app) {
        let tenant = app.new_tenant().await;
        let writer = app.new_client(&tenant, &["devices:write"]).await;
        let token = app.token(&writer).await;
        let mut full = Vec::new();
        for batch in 0..20 {
            let posts = (0..50).map(|i| {
                let n = batch * 50 + i;
                let ip = if n % 2 == 0 { format!("10.{}.{}.{}", n % 7, (n * 13) % 251 + 1, n % 250 + 1) } else { format!("2001:db8:{:x}:{:x}::{:x}", n % 5, n + 1, n + 7) };
                let path = ["/", "/pricing?email=jan@example.nl", "/blog/1"][n % 3];
                let ua = [CHROME_WINDOWS, SAFARI_IPHONE][n % 2];
                (ip.clone(), app.client.post(app.url("/v1/visits")).bearer_auth(&token).json(&json!({"path": path, "user_agent": ua, "ip": ip, "referrer": "https://search.example/"})).send())
            }).collect::<Vec<_>>();
            for (ip, post) in posts {
                assert_eq!(post.await.unwrap().status(), StatusCode::ACCEPTED);
                full.push(ip);
            }
        }
        let today = time::OffsetDateTime::now_utc().date().to_string();
        let stats: Value = app.get(&format!("/v1/stats/visits?from={today}&to={today}"), &tenant.token).await.json().await.unwrap();
        assert_eq!(stats["total"], 1000);
        let per_path: i64 = stats["items"].as_array().unwrap().iter().map(|c| c["visits"].as_i64().unwrap()).sum();
        assert_eq!(per_path, 1000);
        assert!(stats["items"].as_array().unwrap().iter().all(|c| c["path"] != "/pricing?email=jan@example.nl"), "no query strings");
        let month: Value = app.get(&format!("/v1/stats/visits?from={today}&to={today}&granularity=month"), &tenant.token).await.json().await.unwrap();
        assert_eq!(month["total"], 1000);

        use kluis_store::schema::visits;
        let mut conn = app.conn();
        let rows: Vec<(String, String, String, String, String, i64)> = visits::table
            .filter(visits::tenant_id.eq(&tenant.id))
            .select((visits::tenant_id, visits::day, visits::path, visits::ip_prefix, visits::ua_family, visits::count))
            .load(&mut *conn).unwrap();
        let stored = format!("{rows:?}");
        for ip in &full {
            assert!(!stored.contains(&format!("\"{ip}\"")), "{ip} stored whole");
        }
        assert!(!stored.contains("jan@example.nl"));
        assert!(rows.iter().all(|r| r.3.ends_with(".0.0") || r.3.ends_with("::")), "only prefixes");
        drop(conn);

        for (body, field) in [(json!({"path": "no-slash"}), "path"), (json!({"path": "/", "ip": "999.1.1.1"}), "ip"), (json!({"path": "/", "referrer": "javascript:x"}), "referrer"), (json!({"path": "/", "cookie": "x"}), "cookie")] {
            let problem = assert_problem(app.post("/v1/visits", &token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field);
        }
        assert_problem(app.get("/v1/stats/visits?from=x&to=y", &tenant.token).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }

    async fn devices_are_per_tenant_and_reading_is_not_deleting(app) {
        let a = app.new_tenant().await;
        let b = app.new_tenant().await;
        let person = verified_person(&app, &a, "iso@example.nl").await;
        let session: Value = login(&app, &a, "iso@example.nl", json!({"user_agent": CHROME_WINDOWS})).await.json().await.unwrap();
        let device = session["device_id"].as_str().unwrap();
        assert_problem(app.get(&format!("/v1/people/{person}/devices"), &b.token).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.delete(&format!("/v1/people/{person}/devices/{device}"), &b.token).await, StatusCode::NOT_FOUND, "not_found").await;
        let reader = app.new_client(&a, &["devices:read"]).await;
        let token = app.token(&reader).await;
        assert_eq!(app.get(&format!("/v1/people/{person}/devices"), &token).await.status(), StatusCode::OK);
        assert_problem(app.delete(&format!("/v1/people/{person}/devices/{device}"), &token).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.post("/v1/visits", &token, &json!({"path": "/"})).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let devices: Value = app.get(&format!("/v1/people/{person}/devices"), &a.token).await.json().await.unwrap();
        assert_eq!(devices["items"].as_array().unwrap().len(), 1, "untouched");
    }
}

#[actix_web::test]
async fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    for (trusted, expected) in [(true, "203.0.113.7"), (false, "127.0.0.1")] {
        let app = kluis_tests::TestApp::spawn_with(kluis_tests::Backend::Sqlite, |s| {
            if trusted {
                s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            }
        })
        .await
        .unwrap();
        let tenant = app.new_tenant().await;
        let person = verified_person(&app, &tenant, "proxied@example.nl").await;
        let response = app.client.post(app.url("/v1/auth/login"))
            .header("x-forwarded-for", "198.51.100.1, 203.0.113.7")
            .json(&json!({"tenant": tenant.slug, "identifier": "proxied@example.nl", "password": PASSWORD, "device": {"user_agent": CHROME_WINDOWS}}))
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let devices: Value =
            app.get(&format!("/v1/people/{person}/devices"), &tenant.token).await.json().await.unwrap();
        assert_eq!(devices["items"][0]["ip"], expected, "trusted proxy: {trusted}");
    }
}
