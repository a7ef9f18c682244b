//! HTTP conventions: bad bodies are answered 400/413/415/422 and never 500,
//! nothing is stored from a refused request, request ids, health, metrics,
//! CORS, docs.

use kluis_tests::{StatusCode, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

async fn tenant_count(app: &TestApp, operator: &str) -> usize {
    let page: Value = app.get("/v1/tenants?limit=200", operator).await.json().await.unwrap();
    page["items"].as_array().unwrap().len()
}

both_backends! {
    async fn bad_bodies_get_clear_4xx_and_store_nothing(app) {
        let operator = app.operator_token().await;
        let before = tenant_count(&app, &operator).await;
        let send = |body: &'static str, content_type: &'static str| {
            app.client.post(app.url("/v1/tenants")).bearer_auth(&operator).header("content-type", content_type).body(body).send()
        };
        let body = assert_problem(send("{\"name\": \"x\",", "application/json").await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json").await;
        assert!(body["detail"].as_str().unwrap().contains("line 1"));
        assert_problem(send("{} {}", "application/json").await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json").await;
        assert_problem(send("name=x&slug=abc", "application/x-www-form-urlencoded").await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
        let response = app.client.post(app.url("/v1/tenants")).bearer_auth(&operator).body("{}").send().await.unwrap();
        assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
        let body = assert_problem(send("{\"name\": \"x\", \"slug\": \"abc\", \"id\": \"mine\"}", "application/json").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "id", "the unknown field is named");
        let body = assert_problem(send("{\"name\": 5, \"slug\": \"abc\"}", "application/json").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "name");
        let body = assert_problem(send("[]", "application/json").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "body");

        let huge = json!({"name": "x".repeat(app.settings.body_limit + 1), "slug": "huge"});
        let response = app.post("/v1/tenants", &operator, &huge).await;
        assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        let response = app.client.post(app.url("/v1/oauth/token")).form(&[("grant_type", "x".repeat(app.settings.body_limit + 1))]).send().await.unwrap();
        assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

        assert_eq!(tenant_count(&app, &operator).await, before, "no refused request stored anything");
    }

    async fn a_nul_in_a_body_a_path_a_query_or_a_form_is_a_4xx_and_stores_nothing(app) {
        // PostgreSQL text cannot hold NUL; Schemathesis once reached a 500
        // with one in an attribute's purposes. Every way in is refused alike.
        let tenant = app.new_tenant().await;
        let attribute = json!({"key": "sector", "type": "string", "category": "user.business", "purposes": ["account", "a\u{0}b"]});
        let body = assert_problem(app.post("/v1/attributes", &tenant.token, &attribute).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "purposes[1]");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("NUL"));
        let nested = json!({"first_name": "Sanne", "attributes": {"sector": "x\u{0}"}});
        let body = assert_problem(app.post("/v1/people", &tenant.token, &nested).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "attributes.sector");
        // An escaped backslash before `u0000` is text, not a NUL: that body is parsed as usual.
        let response = app.client.post(app.url("/v1/attributes")).bearer_auth(&tenant.token).header("content-type", "application/json")
            .body(r#"{"key": "note", "type": "string", "category": "user.business", "purposes": ["account"], "description": "a \\u0000 b"}"#).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let page: Value = app.get("/v1/attributes", &tenant.token).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "only the attribute without a NUL was stored");
        assert_eq!(page["items"][0]["description"], "a \\u0000 b");
        let people: Value = app.get("/v1/people", &tenant.token).await.json().await.unwrap();
        assert_eq!(people["items"].as_array().unwrap().len(), 0);

        for path in ["/v1/attributes/%00", "/v1/attributes/note%00", "/v1/people/%00/export"] {
            assert_problem(app.get(path, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        }
        let response = app.client.delete(app.url("/v1/attributes/note%00")).bearer_auth(&tenant.token).send().await.unwrap();
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        let body = assert_problem(app.get("/v1/audit/events?limit=5&action=token.issue%00", &tenant.token).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "action");
        let body = assert_problem(app.get("/v1/attributes?cursor=%00", &tenant.token).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "cursor");
        let page: Value = app.get("/v1/attributes", &tenant.token).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "the refused delete deleted nothing");

        let form = [("grant_type", "client_credentials"), ("client_id", "kluis\u{0}client"), ("client_secret", "x")];
        let response = app.client.post(app.url("/v1/oauth/token")).form(&form).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_client");
        let admin = format!("{}\u{0}", tenant.admin.client_id);
        let response = app.client.post(app.url("/v1/oauth/token")).basic_auth(&admin, Some(&tenant.admin.client_secret))
            .form(&[("grant_type", "client_credentials")]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "a NUL after a real id names no client");
    }

    async fn request_ids_are_echoed_or_made(app) {
        let response = app.client.get(app.url("/health/live")).header("x-request-id", "abc-123").send().await.unwrap();
        assert_eq!(response.headers().get("x-request-id").unwrap(), "abc-123");
        let response = app.client.get(app.url("/health/live")).send().await.unwrap();
        let made = response.headers().get("x-request-id").unwrap().to_str().unwrap();
        assert!(kluis_core::ids::is_uuid(made));
        let response = app.client.get(app.url("/health/live")).header("x-request-id", "<script>").send().await.unwrap();
        assert_ne!(response.headers().get("x-request-id").unwrap(), "<script>", "unsafe ids are replaced");
        let response = app.client.get(app.url("/v1/clients")).header("x-request-id", "err-1").send().await.unwrap();
        assert_eq!(response.headers().get("x-request-id").unwrap(), "err-1", "errors carry it too");
    }

    async fn health_metrics_docs_and_unknown_routes(app) {
        let response = app.client.get(app.url("/health/live")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let response = app.client.get(app.url("/health/ready")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap()["status"], "ok");
        app.client.get(app.url("/v1/tenants")).send().await.unwrap();
        let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("kluis_http_requests_total{"), "{metrics}");
        assert!(metrics.contains("route=\"/v1/tenants\""));
        assert!(metrics.contains("kluis_db_pool_connections"));
        let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
        assert_eq!(docs.status(), StatusCode::OK);
        assert!(docs.text().await.unwrap().to_lowercase().contains("swagger"));
        assert_problem(app.client.get(app.url("/v1/nothing-here")).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn migrations_pending_make_ready_503(app) {
        {
            use diesel::RunQueryDsl;
            let mut conn = app.conn();
            diesel::sql_query("DELETE FROM __diesel_schema_migrations").execute(&mut *conn).unwrap();
        }
        let response = app.client.get(app.url("/health/ready")).send().await.unwrap();
        assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    }
}

#[actix_web::test]
async fn cors_allows_only_configured_origins() {
    let app =
        TestApp::spawn_with(kluis_tests::Backend::Sqlite, |s| s.cors_origins = vec!["https://app.example.nl".into()])
            .await
            .unwrap();
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/v1/clients"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("https://app.example.nl").await.unwrap();
    assert_eq!(allowed.headers().get("access-control-allow-origin").unwrap(), "https://app.example.nl");
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
}
