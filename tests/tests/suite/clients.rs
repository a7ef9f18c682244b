//! A tenant's API clients: CRUD, secret rotation, scope escalation, and
//! tenant isolation (another tenant's client is a 404 like a random id).

use kluis_tests::{StatusCode, assert_problem, both_backends};
use serde_json::{Value, json};

both_backends! {
    async fn client_crud_rotation_and_etags(app) {
        let tenant = app.new_tenant().await;
        let response = app.post("/v1/clients", &tenant.token,
            &json!({"name": "Mailing processor", "scopes": ["consent:read", "people:read"], "purposes": ["marketing_email"]})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        let id = created["client_id"].as_str().unwrap().to_owned();
        let secret = created["client_secret"].as_str().unwrap().to_owned();
        assert_eq!(created["scopes"], json!(["people:read", "consent:read"]));
        assert_eq!(created["purposes"], json!(["marketing_email"]));
        let creds = kluis_tests::Credentials { client_id: id.clone(), client_secret: secret.clone() };
        let token = app.token(&creds).await;
        assert_eq!(kluis_tests::claims_of(&token)["purposes"], json!(["marketing_email"]));

        let path = format!("/v1/clients/{id}");
        let response = app.get(&path, &tenant.token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert!(body.get("client_secret").is_none(), "a secret is shown once");
        assert!(body.get("secret_hash").is_none());

        let listed: Value = app.get("/v1/clients", &tenant.token).await.json().await.unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 2, "admin + the new one");

        let response = app.client.patch(app.url(&path)).bearer_auth(&tenant.token).header("if-match", "\"1\"")
            .json(&json!({"name": "Mailer", "scopes": ["consent:read"]})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["name"], "Mailer");
        assert_eq!(body["scopes"], json!(["consent:read"]));
        assert_eq!(body["version"], 2);
        let response = app.client.patch(app.url(&path)).bearer_auth(&tenant.token).header("if-match", "\"1\"")
            .json(&json!({"name": "stale"})).send().await.unwrap();
        assert_problem(response, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
        let response = app.client.patch(app.url(&path)).bearer_auth(&tenant.token).header("if-match", "garbage")
            .json(&json!({"name": "stale"})).send().await.unwrap();
        assert_problem(response, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;

        // Rotation: new secret works; the old secret and the tokens issued with it stop.
        let response = app.client.post(app.url(&format!("{path}/secret"))).bearer_auth(&tenant.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let rotated: Value = response.json().await.unwrap();
        let new_secret = rotated["client_secret"].as_str().unwrap();
        assert_ne!(new_secret, secret);
        assert_eq!(app.request_token(&creds, None).await.status(), StatusCode::UNAUTHORIZED);
        let fresh = kluis_tests::Credentials { client_id: id.clone(), client_secret: new_secret.to_owned() };
        let fresh_token = app.token(&fresh).await;
        assert_eq!(kluis_tests::claims_of(&fresh_token)["scope"], "consent:read");
        // The old token is refused (401); the fresh one is valid but lacks
        // clients:admin (403), which tells the two apart.
        let old = app.get("/v1/clients", &token).await;
        assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
        let new = app.get("/v1/clients", &fresh_token).await;
        assert_eq!(new.status(), StatusCode::FORBIDDEN);

        assert_eq!(app.delete(&path, &tenant.token).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.get(&path, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        let listed: Value = app.get("/v1/clients", &tenant.token).await.json().await.unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    }

    async fn bad_client_input_is_422_and_escalation_is_403(app) {
        let tenant = app.new_tenant().await;
        for (body, field) in [
            (json!({"name": "x", "scopes": ["root"]}), "scopes[0]"),
            (json!({"name": "x", "scopes": ["tenants:admin"]}), "scopes"),
            (json!({"name": "x", "scopes": []}), "scopes"),
            (json!({"name": "", "scopes": ["people:read"]}), "name"),
            (json!({"name": "x", "scopes": ["people:read"], "purposes": ["Not Valid"]}), "purposes[0]"),
            (json!({"name": "x", "scopes": ["people:read"], "secret_hash": "00"}), "secret_hash"),
            (json!({"scopes": ["people:read"]}), "name"),
        ] {
            let response = app.post("/v1/clients", &tenant.token, &body).await;
            let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
        let listed: Value = app.get("/v1/clients", &tenant.token).await.json().await.unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 1, "nothing was stored");

        // A client that may manage clients but read nobody cannot mint a reader.
        let manager = app.new_client(&tenant, &["clients:admin"]).await;
        let manager_token = app.token(&manager).await;
        let response = app.post("/v1/clients", &manager_token, &json!({"name": "x", "scopes": ["people:read"]})).await;
        assert_problem(response, StatusCode::FORBIDDEN, "scope_not_held").await;
        let response = app.patch(&format!("/v1/clients/{}", manager.client_id), &manager_token, &json!({"scopes": ["audit:read"]})).await;
        assert_problem(response, StatusCode::FORBIDDEN, "scope_not_held").await;
    }

    async fn another_tenants_client_is_404_exactly_like_a_random_id(app) {
        let a = app.new_tenant().await;
        let b = app.new_tenant().await;
        let b_client = app.new_client(&b, &["people:read"]).await;
        let random = kluis_core::new_id();

        let foreign = app.get(&format!("/v1/clients/{}", b_client.client_id), &a.token).await;
        let absent = app.get(&format!("/v1/clients/{random}"), &a.token).await;
        let malformed = app.get("/v1/clients/not-an-id", &a.token).await;
        assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
        assert_eq!(absent.status(), StatusCode::NOT_FOUND);
        assert_eq!(malformed.status(), StatusCode::NOT_FOUND);
        let foreign_body = foreign.bytes().await.unwrap();
        assert_eq!(foreign_body, absent.bytes().await.unwrap(), "byte-identical 404s");
        assert_eq!(foreign_body, malformed.bytes().await.unwrap());

        let b_path = format!("/v1/clients/{}", b_client.client_id);
        assert_eq!(app.patch(&b_path, &a.token, &json!({"name": "hijack"})).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(app.delete(&b_path, &a.token).await.status(), StatusCode::NOT_FOUND);
        let response = app.client.post(app.url(&format!("{b_path}/secret"))).bearer_auth(&a.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        // B's client is untouched and still works.
        let body: Value = app.get(&b_path, &b.token).await.json().await.unwrap();
        assert_eq!(body["name"], "test client");
        assert_eq!(app.request_token(&b_client, None).await.status(), StatusCode::OK);
        // A's list never shows B's clients.
        let listed: Value = app.get("/v1/clients", &a.token).await.json().await.unwrap();
        assert!(listed["items"].as_array().unwrap().iter().all(|c| c["client_id"] != b_client.client_id.as_str()));
    }
}
