//! Tenants, for the operator: create, list, read, change, suspend, delete.

use kluis_tests::{StatusCode, assert_problem, both_backends};
use serde_json::{Value, json};

both_backends! {
    async fn tenant_crud_with_etags_conflicts_and_paging(app) {
        let operator = app.operator_token().await;
        let mut ids = Vec::new();
        for i in 0..3 {
            let response = app.post("/v1/tenants", &operator, &json!({"name": format!("Tenant {i}"), "slug": format!("tenant-{i}")})).await;
            assert_eq!(response.status(), StatusCode::CREATED);
            let location = response.headers().get("location").unwrap().to_str().unwrap().to_owned();
            assert_eq!(response.headers().get("etag").unwrap(), "\"1\"");
            let body: Value = response.json().await.unwrap();
            assert_eq!(location, format!("/v1/tenants/{}", body["id"].as_str().unwrap()));
            assert_eq!(body["status"], "active");
            assert_eq!(body["version"], 1);
            assert!(body["admin_client"]["client_secret"].as_str().unwrap().starts_with("ksec_"));
            ids.push(body["id"].as_str().unwrap().to_owned());
        }

        let response = app.post("/v1/tenants", &operator, &json!({"name": "Again", "slug": "tenant-1"})).await;
        assert_problem(response, StatusCode::CONFLICT, "slug_taken").await;
        let response = app.post("/v1/tenants", &operator, &json!({"name": "Bad", "slug": "Not A Slug"})).await;
        let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "slug");
        let response = app.post("/v1/tenants", &operator, &json!({"name": "", "slug": "-x"})).await;
        let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["name", "slug"]);

        // Paging: two per page, three tenants, stable order.
        let page: Value = app.get("/v1/tenants?limit=2", &operator).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        let cursor = page["next_cursor"].as_str().unwrap();
        let next: Value = app.get(&format!("/v1/tenants?limit=2&cursor={cursor}"), &operator).await.json().await.unwrap();
        assert_eq!(next["items"].as_array().unwrap().len(), 1);
        assert!(next["next_cursor"].is_null());
        let listed: Vec<&str> = page["items"].as_array().unwrap().iter().chain(next["items"].as_array().unwrap())
            .map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(listed, ids);
        assert_problem(app.get("/v1/tenants?limit=0", &operator).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_problem(app.get("/v1/tenants?limit=201", &operator).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_problem(app.get("/v1/tenants?cursor=%21%21", &operator).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_problem(app.get("/v1/tenants?limt=5", &operator).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

        let path = format!("/v1/tenants/{}", ids[0]);
        let response = app.get(&path, &operator).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers().get("etag").unwrap(), "\"1\"");
        let response = app.client.patch(app.url(&path)).bearer_auth(&operator).header("if-match", "\"1\"")
            .json(&json!({"name": "Renamed"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers().get("etag").unwrap(), "\"2\"");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["name"], "Renamed");
        assert_eq!(body["slug"], "tenant-0");
        let response = app.client.patch(app.url(&path)).bearer_auth(&operator).header("if-match", "\"1\"")
            .json(&json!({"name": "Lost update"})).send().await.unwrap();
        assert_problem(response, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
        let response = app.client.delete(app.url(&path)).bearer_auth(&operator).header("if-match", "\"1\"").send().await.unwrap();
        assert_problem(response, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
        let body: Value = app.get(&path, &operator).await.json().await.unwrap();
        assert_eq!(body["name"], "Renamed", "the refused change lost nothing and changed nothing");

        let response = app.patch(&path, &operator, &json!({"slug": "tenant-2"})).await;
        assert_problem(response, StatusCode::CONFLICT, "slug_taken").await;
        let response = app.patch(&path, &operator, &json!({"status": "gone"})).await;
        let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "status");

        let response = app.client.delete(app.url(&path)).bearer_auth(&operator).header("if-match", "\"2\"").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_problem(app.get(&path, &operator).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.delete(&path, &operator).await, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn deleting_a_tenant_deletes_its_clients(app) {
        let operator = app.operator_token().await;
        let tenant = app.new_tenant().await;
        let creds = app.new_client(&tenant, &["people:read"]).await;
        assert_eq!(app.delete(&format!("/v1/tenants/{}", tenant.id), &operator).await.status(), StatusCode::NO_CONTENT);
        use diesel::prelude::*;
        use kluis_store::schema::api_clients;
        let mut conn = app.conn();
        let left: i64 = api_clients::table.filter(api_clients::tenant_id.eq(&tenant.id)).count().get_result(&mut *conn).unwrap();
        assert_eq!(left, 0, "the cascade removed the tenant's clients");
        assert_eq!(app.request_token(&creds, None).await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn tenant_tokens_cannot_manage_tenants_and_operator_cannot_use_tenant_endpoints(app) {
        let tenant = app.new_tenant().await;
        for response in [
            app.get("/v1/tenants", &tenant.token).await,
            app.post("/v1/tenants", &tenant.token, &json!({"name": "x", "slug": "xyz"})).await,
            app.get(&format!("/v1/tenants/{}", tenant.id), &tenant.token).await,
        ] {
            assert_problem(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
        }
        let operator = app.operator_token().await;
        for response in [
            app.get("/v1/clients", &operator).await,
            app.post("/v1/clients", &operator, &json!({"name": "x", "scopes": ["people:read"]})).await,
            app.get(&format!("/v1/clients/{}", tenant.admin.client_id), &operator).await,
        ] {
            assert_problem(response, StatusCode::FORBIDDEN, "operator_not_allowed").await;
        }
    }
}
