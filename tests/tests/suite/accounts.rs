//! Accounts and sign-in: flows, equal failures, throttling, TOTP, resets,
//! admin actions, token scope, and that no secret leaks.

use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends, claims_of};
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

const PASSWORD: &str = "correct horse battery staple";

/// A person with a primary e-mail and an account with `PASSWORD`.
async fn person_with_account(app: &TestApp, tenant: &Tenant, email: &str, extra: Value) -> String {
    let person: Value = app
        .post(
            "/v1/people",
            &tenant.token,
            &json!({"first_name": "Sam", "language": "nl", "emails": [{"address": email, "label": "private"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = person["id"].as_str().unwrap().to_owned();
    let mut body = json!({"password": PASSWORD});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let response = app.post(&format!("/v1/people/{id}/account"), &tenant.token, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    id
}

async fn login(app: &TestApp, tenant: &Tenant, identifier: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"tenant": tenant.slug, "identifier": identifier, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/oauth/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap()
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

both_backends! {
    async fn verify_sign_in_refresh_reuse_and_logout(app) {
        let tenant = app.new_tenant().await;
        let person = person_with_account(&app, &tenant, "sam@example.nl", json!({"username": "sam"})).await;
        let token = app.mailed_code("sam@example.nl", 1).await;
        let mail = &app.mails_to("sam@example.nl")[0];
        assert!(mail.contains("Subject: Bevestig je e-mailadres"), "Dutch for a Dutch-speaking person:\n{mail}");
        let response = app.client.post(app.url("/v1/auth/verify-email")).json(&json!({"token": token})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let again = app.client.post(app.url("/v1/auth/verify-email")).json(&json!({"token": token})).send().await.unwrap();
        assert_problem(again, StatusCode::BAD_REQUEST, "token_invalid").await;
        let read: Value = app.get(&format!("/v1/people/{person}"), &tenant.token).await.json().await.unwrap();
        assert!(read["emails"][0]["verified_at"].is_string());

        let response = login(&app, &tenant, "SAM@example.nl", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let session: Value = response.json().await.unwrap();
        let access = session["access_token"].as_str().unwrap().to_owned();
        let claims = claims_of(&access);
        assert_eq!(claims["scope"], "self");
        assert_eq!(claims["sub"], person.as_str());
        assert!(claims["sid"].is_string());
        let me: Value = app.get("/v1/me", &access).await.json().await.unwrap();
        assert_eq!(me["first_name"], "Sam");
        assert_eq!(me["account"]["username"], "sam");
        assert!(login(&app, &tenant, "sam", PASSWORD).await.status().is_success(), "the username signs in too");

        let old_refresh = session["refresh_token"].as_str().unwrap().to_owned();
        let response = refresh(&app, &old_refresh).await;
        assert_eq!(response.status(), StatusCode::OK);
        let rotated: Value = response.json().await.unwrap();
        let new_refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(new_refresh, old_refresh);
        let new_access = rotated["access_token"].as_str().unwrap().to_owned();
        assert_eq!(app.get("/v1/me", &new_access).await.status(), StatusCode::OK);

        // The old refresh token again: refused, and the whole session ends.
        let reused = refresh(&app, &old_refresh).await;
        assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(reused.json::<Value>().await.unwrap()["error"], "invalid_grant");
        assert_eq!(refresh(&app, &new_refresh).await.status(), StatusCode::BAD_REQUEST, "the session is dead");
        assert_eq!(app.get("/v1/me", &new_access).await.status(), StatusCode::UNAUTHORIZED);

        let fresh: Value = login(&app, &tenant, "sam", PASSWORD).await.json().await.unwrap();
        let access = fresh["access_token"].as_str().unwrap();
        let sessions: Value = app.get("/v1/me/sessions", access).await.json().await.unwrap();
        assert!(sessions["items"].as_array().unwrap().iter().any(|s| s["current"] == true));
        let response = app.client.post(app.url("/v1/auth/logout")).bearer_auth(access).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get("/v1/me", access).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refresh(&app, fresh["refresh_token"].as_str().unwrap()).await.status(), StatusCode::BAD_REQUEST);
    }

    async fn unknown_user_and_wrong_password_answer_identically(app) {
        let tenant = app.new_tenant().await;
        person_with_account(&app, &tenant, "known@example.nl", json!({})).await;
        let wrong = login(&app, &tenant, "known@example.nl", "wrong password!").await;
        let unknown = login(&app, &tenant, "nobody@example.nl", "wrong password!").await;
        let empty = login(&app, &tenant, "known@example.nl", "").await;
        let no_tenant = app.client.post(app.url("/v1/auth/login"))
            .json(&json!({"tenant": "no-such-tenant", "identifier": "known@example.nl", "password": "x"})).send().await.unwrap();
        let statuses = [wrong.status(), unknown.status(), empty.status(), no_tenant.status()];
        assert_eq!(statuses, [StatusCode::UNAUTHORIZED; 4]);
        let bodies = [wrong.text().await.unwrap(), unknown.text().await.unwrap(), empty.text().await.unwrap(), no_tenant.text().await.unwrap()];
        assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
        assert!(bodies[0].contains("invalid_credentials"));
    }

    async fn the_eleventh_failure_in_15_minutes_is_throttled_and_parallel_attempts_do_not_overshoot(app) {
        let tenant = app.new_tenant().await;
        person_with_account(&app, &tenant, "target@example.nl", json!({})).await;
        for _ in 0..10 {
            assert_eq!(login(&app, &tenant, "target@example.nl", "not the password").await.status(), StatusCode::UNAUTHORIZED);
        }
        let eleventh = login(&app, &tenant, "target@example.nl", "not the password").await;
        assert!(eleventh.headers().get("retry-after").unwrap().to_str().unwrap().parse::<u64>().unwrap() > 0);
        assert_problem(eleventh, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        assert_eq!(login(&app, &tenant, "target@example.nl", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS, "from every IP, any password");
        let reset = app.client.post(app.url("/v1/auth/password-reset")).json(&json!({"tenant": tenant.slug, "email": "target@example.nl"})).send().await.unwrap();
        assert_eq!(reset.status(), StatusCode::ACCEPTED, "reset still works");
        // Unknown identifiers are throttled the same way, so a 429 tells nothing.
        for _ in 0..10 {
            login(&app, &tenant, "ghost@example.nl", "x").await;
        }
        assert_eq!(login(&app, &tenant, "ghost@example.nl", "x").await.status(), StatusCode::TOO_MANY_REQUESTS);

        person_with_account(&app, &tenant, "parallel@example.nl", json!({})).await;
        let attempts = (0..20).map(|_| login(&app, &tenant, "parallel@example.nl", "not the password"));
        let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts).await.iter().map(|r| r.status()).collect();
        let failed = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!(failed + throttled, 20, "{statuses:?}");
        assert!((10..=11).contains(&failed), "{failed} attempts got through");
    }

    async fn totp_enrolment_sign_in_replay_and_recovery_codes(app) {
        let tenant = app.new_tenant().await;
        person_with_account(&app, &tenant, "two@example.nl", json!({})).await;
        let session: Value = login(&app, &tenant, "two@example.nl", PASSWORD).await.json().await.unwrap();
        let access = session["access_token"].as_str().unwrap().to_owned();
        let enrol: Value = app.client.post(app.url("/v1/me/totp")).bearer_auth(&access).send().await.unwrap().json().await.unwrap();
        let secret = enrol["secret"].as_str().unwrap().to_owned();
        assert!(enrol["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
        let wrong = app.post("/v1/me/totp/confirm", &access, &json!({"code": "000000"})).await;
        assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let confirm = app.post("/v1/me/totp/confirm", &access, &json!({"code": totp_code(&secret, now())})).await;
        assert_eq!(confirm.status(), StatusCode::OK);
        let codes: Vec<String> = confirm.json::<Value>().await.unwrap()["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        assert_eq!(codes.len(), 10);
        let account: Value = app.get("/v1/me", &access).await.json().await.unwrap();
        assert_eq!(account["account"]["totp_enabled"], true);
        assert!(account.to_string().find(&secret).is_none(), "the seed is never shown again");

        let step = login(&app, &tenant, "two@example.nl", PASSWORD).await;
        assert_eq!(step.status(), StatusCode::ACCEPTED);
        let challenge: Value = step.json().await.unwrap();
        assert_eq!(challenge["kind"], "totp");
        let path = format!("/v1/auth/challenges/{}", challenge["challenge_id"].as_str().unwrap());
        // The next window's code (the current one was spent confirming).
        let code = totp_code(&secret, now() + 30);
        let answered = app.client.post(app.url(&path)).json(&json!({"code": code})).send().await.unwrap();
        assert_eq!(answered.status(), StatusCode::OK);
        // The same code again, in a new sign-in: a replay, refused.
        let challenge: Value = login(&app, &tenant, "two@example.nl", PASSWORD).await.json().await.unwrap();
        let path = format!("/v1/auth/challenges/{}", challenge["challenge_id"].as_str().unwrap());
        let replay = app.client.post(app.url(&path)).json(&json!({"code": code})).send().await.unwrap();
        assert_problem(replay, StatusCode::UNAUTHORIZED, "invalid_code").await;
        // A recovery code works, once.
        let ok = app.client.post(app.url(&path)).json(&json!({"code": codes[0]})).send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        let challenge: Value = login(&app, &tenant, "two@example.nl", PASSWORD).await.json().await.unwrap();
        let path = format!("/v1/auth/challenges/{}", challenge["challenge_id"].as_str().unwrap());
        let again = app.client.post(app.url(&path)).json(&json!({"code": codes[0]})).send().await.unwrap();
        assert_problem(again, StatusCode::UNAUTHORIZED, "invalid_code").await;
        // Five tries, then the challenge is dead even for a right code.
        for _ in 0..4 {
            app.client.post(app.url(&path)).json(&json!({"code": "123456"})).send().await.unwrap();
        }
        let dead = app.client.post(app.url(&path)).json(&json!({"code": codes[1]})).send().await.unwrap();
        assert_problem(dead, StatusCode::UNAUTHORIZED, "challenge_invalid").await;
    }

    async fn reset_tokens_work_once_supersede_older_ones_and_end_sessions(app) {
        let tenant = app.new_tenant().await;
        person_with_account(&app, &tenant, "reset@example.nl", json!({})).await;
        let before: Value = login(&app, &tenant, "reset@example.nl", PASSWORD).await.json().await.unwrap();
        let request = || app.client.post(app.url("/v1/auth/password-reset")).json(&json!({"tenant": tenant.slug, "email": "RESET@example.nl"})).send();
        assert_eq!(request().await.unwrap().status(), StatusCode::ACCEPTED);
        let first = app.mailed_code("reset@example.nl", 2).await;
        assert_eq!(request().await.unwrap().status(), StatusCode::ACCEPTED);
        let second = app.mailed_code("reset@example.nl", 3).await;
        let confirm = |token: String, password: &'static str| {
            app.client.post(app.url("/v1/auth/password-reset/confirm")).json(&json!({"token": token, "new_password": password})).send()
        };
        assert_problem(confirm(first, "a brand new password").await.unwrap(), StatusCode::BAD_REQUEST, "token_invalid").await;
        assert_problem(confirm(second.clone(), "password").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let racing = (0..50).map(|_| confirm(second.clone(), "a brand new password"));
        let statuses: Vec<StatusCode> = futures_util::future::join_all(racing).await.into_iter().map(|r| r.unwrap().status()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::NO_CONTENT).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count(), 49);
        assert_eq!(app.get("/v1/me", before["access_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED, "sessions ended");
        assert_eq!(login(&app, &tenant, "reset@example.nl", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(login(&app, &tenant, "reset@example.nl", "a brand new password").await.status(), StatusCode::OK);
        // An address without an account gets the same answer and no mail.
        let none = app.client.post(app.url("/v1/auth/password-reset")).json(&json!({"tenant": tenant.slug, "email": "none@example.nl"})).send().await.unwrap();
        assert_eq!(none.status(), StatusCode::ACCEPTED);
        assert!(app.mails_to("none@example.nl").is_empty());
    }

    async fn admin_set_password_forces_a_change_and_blocking_ends_sessions(app) {
        let tenant = app.new_tenant().await;
        let person = person_with_account(&app, &tenant, "staff@example.nl", json!({"staff_scopes": ["people:read"]})).await;
        let session: Value = login(&app, &tenant, "staff@example.nl", PASSWORD).await.json().await.unwrap();
        assert_eq!(claims_of(session["access_token"].as_str().unwrap())["scope"], "self", "staff scopes wait for TOTP");
        let path = format!("/v1/people/{person}/account");
        let response = app.post(&format!("{path}/password"), &tenant.token, &json!({"password": "temporary password 1"})).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get("/v1/me", session["access_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED);
        let account: Value = app.get(&path, &tenant.token).await.json().await.unwrap();
        assert_eq!(account["must_change_password"], true);
        for hidden in ["password", "password_hash", "totp_seed", "secret"] {
            assert!(account.get(hidden).is_none(), "{hidden} in {account}");
        }
        let step = login(&app, &tenant, "staff@example.nl", "temporary password 1").await;
        assert_eq!(step.status(), StatusCode::ACCEPTED);
        let challenge: Value = step.json().await.unwrap();
        assert_eq!(challenge["kind"], "password_change");
        let answer = app.client.post(app.url(&format!("/v1/auth/challenges/{}", challenge["challenge_id"].as_str().unwrap())))
            .json(&json!({"new_password": "my own new password"})).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let session: Value = answer.json().await.unwrap();
        let access = session["access_token"].as_str().unwrap().to_owned();
        assert_eq!(app.get("/v1/me", &access).await.status(), StatusCode::OK);

        let blocked = app.patch(&path, &tenant.token, &json!({"status": "blocked"})).await;
        assert_eq!(blocked.status(), StatusCode::OK);
        assert_eq!(app.get("/v1/me", &access).await.status(), StatusCode::UNAUTHORIZED, "existing sessions stop");
        let refused = login(&app, &tenant, "staff@example.nl", "my own new password").await;
        let unknown = login(&app, &tenant, "nobody-at-all@example.nl", "my own new password").await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refused.text().await.unwrap(), unknown.text().await.unwrap(), "blocked looks like wrong");
        assert_eq!(refresh(&app, session["refresh_token"].as_str().unwrap()).await.status(), StatusCode::BAD_REQUEST);
    }

    async fn subject_tokens_reach_only_their_own_data_and_their_own_tenant(app) {
        let a = app.new_tenant().await;
        let b = app.new_tenant().await;
        person_with_account(&app, &a, "alice@example.nl", json!({})).await;
        person_with_account(&app, &b, "bob@example.nl", json!({})).await;
        let session: Value = login(&app, &a, "alice@example.nl", PASSWORD).await.json().await.unwrap();
        let access = session["access_token"].as_str().unwrap();
        for response in [
            app.get("/v1/people", access).await,
            app.post("/v1/people", access, &json!({"first_name": "x"})).await,
            app.get("/v1/clients", access).await,
            app.get("/v1/audit/events", access).await,
        ] {
            assert_problem(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
        }
        assert_eq!(login(&app, &a, "bob@example.nl", PASSWORD).await.status(), StatusCode::UNAUTHORIZED, "B's person cannot sign in to A");
        // A client token is not a person's.
        assert_problem(app.get("/v1/me", &a.token).await, StatusCode::FORBIDDEN, "not_a_person").await;
        // Another tenant's admin cannot reach A's accounts.
        let person = person_with_account(&app, &a, "carol@example.nl", json!({})).await;
        assert_problem(app.get(&format!("/v1/people/{person}/account"), &b.token).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.post(&format!("/v1/people/{person}/account/password"), &b.token, &json!({"password": "whatever pass 1"})).await, StatusCode::NOT_FOUND, "not_found").await;
        let reader = app.new_client(&a, &["people:read"]).await;
        let reader_token = app.token(&reader).await;
        assert_problem(app.get(&format!("/v1/people/{person}/account"), &reader_token).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
    }

    async fn a_person_keeps_their_own_profile_and_contacts(app) {
        let tenant = app.new_tenant().await;
        let person = person_with_account(&app, &tenant, "self@example.nl", json!({})).await;
        let other = person_with_account(&app, &tenant, "other@example.nl", json!({})).await;
        let session: Value = login(&app, &tenant, "self@example.nl", PASSWORD).await.json().await.unwrap();
        let access = session["access_token"].as_str().unwrap().to_owned();
        let changed = app.patch("/v1/me", &access, &json!({"nickname": "Sammy", "date_of_birth": "1990-02-03"})).await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(changed.json::<Value>().await.unwrap()["nickname"], "Sammy");
        let bad = app.patch("/v1/me", &access, &json!({"nickname": "4111 1111 1111 1111"})).await;
        assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let phone = app.post("/v1/me/phones", &access, &json!({"number": "+31687654321", "label": "home"})).await;
        assert_eq!(phone.status(), StatusCode::CREATED);
        let phone: Value = phone.json().await.unwrap();
        let wrong_label = app.post("/v1/me/emails", &access, &json!({"address": "x@example.nl", "label": "home"})).await;
        assert_problem(wrong_label, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let taken = app.post("/v1/me/emails", &access, &json!({"address": "OTHER@example.nl", "label": "work"})).await;
        assert_problem(taken, StatusCode::CONFLICT, "email_taken").await;
        let admin_view: Value = app.get(&format!("/v1/people/{person}"), &tenant.token).await.json().await.unwrap();
        assert_eq!(admin_view["phones"][0]["number"], "+31687654321");
        assert_eq!(admin_view["nickname"], "Sammy");
        // Another person's contact is out of reach: 404, like an absent one.
        let others: Value = app.get(&format!("/v1/people/{other}"), &tenant.token).await.json().await.unwrap();
        let their_email = others["emails"][0]["id"].as_str().unwrap();
        assert_problem(app.delete(&format!("/v1/me/emails/{their_email}"), &access).await, StatusCode::NOT_FOUND, "not_found").await;
        let phone_path = format!("/v1/me/phones/{}", phone["id"].as_str().unwrap());
        assert_eq!(app.patch(&phone_path, &access, &json!({"label": "work"})).await.status(), StatusCode::OK);
        assert_eq!(app.delete(&phone_path, &access).await.status(), StatusCode::NO_CONTENT);
        let phones: Value = app.get("/v1/me/phones", &access).await.json().await.unwrap();
        assert!(phones["items"].as_array().unwrap().is_empty());
        // Changing one's own password needs the current one; then every session ends.
        let wrong = app.post("/v1/me/password", &access, &json!({"current_password": "nope nope nope", "new_password": "my next password 1"})).await;
        let problem = assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "current_password");
        let ok = app.post("/v1/me/password", &access, &json!({"current_password": PASSWORD, "new_password": "my next password 1"})).await;
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get("/v1/me", &access).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(login(&app, &tenant, "self@example.nl", "my next password 1").await.status(), StatusCode::OK);
    }

    async fn staff_scopes_wait_for_totp_unless_the_tenant_says_otherwise(app) {
        let tenant = app.new_tenant().await;
        person_with_account(&app, &tenant, "clerk@example.nl", json!({"staff_scopes": ["people:read"]})).await;
        let session: Value = login(&app, &tenant, "clerk@example.nl", PASSWORD).await.json().await.unwrap();
        assert_eq!(claims_of(session["access_token"].as_str().unwrap())["scope"], "self");
        assert_problem(app.get("/v1/people", session["access_token"].as_str().unwrap()).await, StatusCode::FORBIDDEN, "insufficient_scope").await;

        // With TOTP, the staff scope comes with the next sign-in.
        let access = session["access_token"].as_str().unwrap().to_owned();
        let enrol: Value = app.client.post(app.url("/v1/me/totp")).bearer_auth(&access).send().await.unwrap().json().await.unwrap();
        let secret = enrol["secret"].as_str().unwrap().to_owned();
        assert_eq!(app.post("/v1/me/totp/confirm", &access, &json!({"code": totp_code(&secret, now())})).await.status(), StatusCode::OK);
        let challenge: Value = login(&app, &tenant, "clerk@example.nl", PASSWORD).await.json().await.unwrap();
        let answered: Value = app.client.post(app.url(&format!("/v1/auth/challenges/{}", challenge["challenge_id"].as_str().unwrap())))
            .json(&json!({"code": totp_code(&secret, now() + 30)})).send().await.unwrap().json().await.unwrap();
        let staff = answered["access_token"].as_str().unwrap();
        assert_eq!(claims_of(staff)["scope"], "people:read self");
        assert_eq!(app.get("/v1/people", staff).await.status(), StatusCode::OK);

        // A tenant that does not require TOTP grants staff scopes at once.
        let operator = app.operator_token().await;
        let patched = app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"require_staff_totp": false})).await;
        assert_eq!(patched.json::<Value>().await.unwrap()["require_staff_totp"], false);
        person_with_account(&app, &tenant, "temp@example.nl", json!({"staff_scopes": ["people:read"]})).await;
        let session: Value = login(&app, &tenant, "temp@example.nl", PASSWORD).await.json().await.unwrap();
        assert_eq!(claims_of(session["access_token"].as_str().unwrap())["scope"], "people:read self");
    }

    async fn a_hash_with_old_parameters_is_replaced_at_sign_in(app) {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        use diesel::prelude::*;
        use kluis_store::schema::accounts;
        let tenant = app.new_tenant().await;
        let person = person_with_account(&app, &tenant, "legacy@example.nl", json!({})).await;
        let weak = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon2::Params::new(8192, 1, 1, None).unwrap())
            .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng)).unwrap().to_string();
        let stored = |app: &TestApp| -> String {
            let mut conn = app.conn();
            accounts::table.filter(accounts::person_id.eq(&person)).select(accounts::password_hash).first::<Option<String>>(&mut *conn).unwrap().unwrap()
        };
        {
            let mut conn = app.conn();
            diesel::update(accounts::table.filter(accounts::person_id.eq(&person))).set(accounts::password_hash.eq(Some(&weak))).execute(&mut *conn).unwrap();
        }
        assert!(stored(&app).contains("m=8192,t=1,p=1"));
        assert_eq!(login(&app, &tenant, "legacy@example.nl", PASSWORD).await.status(), StatusCode::OK, "the old hash still verifies");
        assert!(stored(&app).starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "and is replaced with today's parameters");
        assert_eq!(login(&app, &tenant, "legacy@example.nl", PASSWORD).await.status(), StatusCode::OK);
    }

    async fn bad_account_input_is_422_and_duplicates_409(app) {
        let tenant = app.new_tenant().await;
        let person = person_with_account(&app, &tenant, "dup@example.nl", json!({"username": "dup"})).await;
        let again = app.post(&format!("/v1/people/{person}/account"), &tenant.token, &json!({"password": PASSWORD})).await;
        assert_problem(again, StatusCode::CONFLICT, "account_exists").await;
        let other: Value = app.post("/v1/people", &tenant.token, &json!({"first_name": "O"})).await.json().await.unwrap();
        let path = format!("/v1/people/{}/account", other["id"].as_str().unwrap());
        for (body, field) in [
            (json!({"password": "password"}), "password"),
            (json!({"password": "short"}), "password"),
            (json!({"username": "a b"}), "username"),
            (json!({"staff_scopes": ["tenants:admin"]}), "staff_scopes"),
            (json!({"password_hash": "$argon2id$..."}), "password_hash"),
        ] {
            let problem = assert_problem(app.post(&path, &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
        let taken = app.post(&path, &tenant.token, &json!({"username": "DUP"})).await;
        assert_problem(taken, StatusCode::CONFLICT, "username_taken").await;
        assert_problem(app.get(&path, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn no_secret_reaches_a_response_or_the_audit_log(app) {
        let tenant = app.new_tenant().await;
        let person = person_with_account(&app, &tenant, "secret@example.nl", json!({"username": "secretive"})).await;
        let verification = app.mailed_code("secret@example.nl", 1).await;
        let session: Value = login(&app, &tenant, "secretive", PASSWORD).await.json().await.unwrap();
        let access = session["access_token"].as_str().unwrap().to_owned();
        let refresh_token = session["refresh_token"].as_str().unwrap().to_owned();
        let enrol: Value = app.client.post(app.url("/v1/me/totp")).bearer_auth(&access).send().await.unwrap().json().await.unwrap();
        let secret = enrol["secret"].as_str().unwrap().to_owned();
        let codes: Value = app.post("/v1/me/totp/confirm", &access, &json!({"code": totp_code(&secret, now())})).await.json().await.unwrap();
        let recovery = codes["recovery_codes"][0].as_str().unwrap().to_owned();
        login(&app, &tenant, "secretive", "wrong password 123").await;
        app.client.post(app.url("/v1/auth/password-reset")).json(&json!({"tenant": tenant.slug, "email": "secret@example.nl"})).send().await.unwrap();
        let reset = app.mailed_code("secret@example.nl", 2).await;

        let account = app.get(&format!("/v1/people/{person}/account"), &tenant.token).await.text().await.unwrap();
        let me = app.get("/v1/me", &access).await.text().await.unwrap();
        app.state.audit_reads.flush();
        let mut audit = String::new();
        {
            let mut conn = app.conn();
            kluis_audit::for_each(&mut conn, &kluis_core::TenantId(tenant.id.clone()), |e| audit.push_str(&format!("{e:?}\n"))).unwrap();
        }
        assert!(audit.contains("login.succeeded") && audit.contains("login.failed") && audit.contains("totp.enabled"));
        for (place, text) in [("account", &account), ("me", &me), ("audit", &audit)] {
            for secret_value in [PASSWORD, "wrong password 123", "$argon2", verification.as_str(), reset.as_str(), &refresh_token, &access, &secret, &recovery, &person] {
                assert!(!text.contains(secret_value) || (place != "audit" && secret_value == person), "{place} holds `{secret_value}`");
            }
        }
        // Stored: hashes, not values.
        use diesel::prelude::*;
        use kluis_store::schema::accounts;
        let mut conn = app.conn();
        let (hash, seed): (Option<String>, Option<Vec<u8>>) = accounts::table.filter(accounts::person_id.eq(&person))
            .select((accounts::password_hash, accounts::totp_seed)).first(&mut *conn).unwrap();
        assert!(hash.unwrap().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!String::from_utf8_lossy(&seed.unwrap()).contains(&secret), "the seed is sealed");
    }
}

/// A person (no account yet) made with `token`.
async fn new_person(app: &TestApp, token: &str, email: &str) -> String {
    let body = json!({"first_name": "Pat", "emails": [{"address": email, "label": "work"}]});
    let response = app.post("/v1/people", token, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// The account as the tenant's admin sees it.
async fn account_of(app: &TestApp, tenant: &Tenant, person: &str) -> Value {
    let response = app.get(&format!("/v1/people/{person}/account"), &tenant.token).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

// Staff scopes follow the rule clients follow: nobody grants or takes away a
// scope they do not hold, and nobody changes their own.
both_backends! {
    async fn accounts_admin_alone_cannot_create_an_account_with_scopes_it_does_not_hold(app) {
        let tenant = app.new_tenant().await;
        let limited = app.new_client(&tenant, &["accounts:admin", "people:write"]).await;
        let token = app.token(&limited).await;
        let person = new_person(&app, &token, "climber@example.nl").await;
        let path = format!("/v1/people/{person}/account");
        for scopes in [json!(["clients:admin", "audit:read"]), json!(["accounts:admin", "audit:read"])] {
            let body = json!({"username": "climber", "password": "chosen by the caller 1", "staff_scopes": scopes});
            let problem = assert_problem(app.post(&path, &token, &body).await, StatusCode::FORBIDDEN, "scope_not_held").await;
            assert!(problem["detail"].as_str().unwrap().contains('`'), "names the scope: {problem}");
        }
        assert_problem(app.get(&path, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(login(&app, &tenant, "climber", "chosen by the caller 1").await.status(), StatusCode::UNAUTHORIZED, "nothing stored");

        // Invalid input is still a 422, not a 403.
        let invalid = app.post(&path, &token, &json!({"staff_scopes": ["tenants:admin"]})).await;
        let problem = assert_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "staff_scopes");
        // A scope the caller holds may be granted.
        let created = app.post(&path, &token, &json!({"staff_scopes": ["accounts:admin"]})).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        assert_eq!(created.json::<Value>().await.unwrap()["staff_scopes"], json!(["accounts:admin"]));
    }

    async fn accounts_admin_alone_cannot_patch_scopes_it_does_not_hold_onto_an_account(app) {
        let tenant = app.new_tenant().await;
        let limited = app.new_client(&tenant, &["accounts:admin", "people:write"]).await;
        let token = app.token(&limited).await;
        let plain = person_with_account(&app, &tenant, "plain@example.nl", json!({})).await;
        let auditor = person_with_account(&app, &tenant, "auditor@example.nl", json!({"staff_scopes": ["audit:read"]})).await;
        let (plain_path, auditor_path) = (format!("/v1/people/{plain}/account"), format!("/v1/people/{auditor}/account"));
        let before = account_of(&app, &tenant, &plain).await;

        for scopes in [json!(["clients:admin", "audit:read"]), json!(["accounts:admin", "clients:admin"])] {
            let refused = app.patch(&plain_path, &token, &json!({"staff_scopes": scopes})).await;
            assert_problem(refused, StatusCode::FORBIDDEN, "scope_not_held").await;
        }
        // Nor taken away, nor kept by a caller that does not hold it.
        let removal = app.patch(&auditor_path, &token, &json!({"staff_scopes": []})).await;
        assert_problem(removal, StatusCode::FORBIDDEN, "scope_not_held").await;
        let swap = app.patch(&auditor_path, &token, &json!({"staff_scopes": ["accounts:admin"]})).await;
        assert_problem(swap, StatusCode::FORBIDDEN, "scope_not_held").await;
        assert_eq!(account_of(&app, &tenant, &plain).await, before, "unchanged");
        assert_eq!(account_of(&app, &tenant, &auditor).await["staff_scopes"], json!(["audit:read"]));

        // Invalid input is still a 422, not a 403.
        let invalid = app.patch(&plain_path, &token, &json!({"staff_scopes": ["self"]})).await;
        assert_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        // Another tenant's person is 404, whoever asks.
        let other = app.new_tenant().await;
        let foreign = app.patch(&plain_path, &other.token, &json!({"staff_scopes": ["people:read"]})).await;
        assert_problem(foreign, StatusCode::NOT_FOUND, "not_found").await;
        let foreign = app.post(&plain_path, &other.token, &json!({"staff_scopes": ["people:read"]})).await;
        assert_problem(foreign, StatusCode::NOT_FOUND, "not_found").await;
        // Granting a scope the caller holds still works, and so does the rest of a change.
        let granted = app.patch(&plain_path, &token, &json!({"staff_scopes": ["accounts:admin"]})).await;
        assert_eq!(granted.status(), StatusCode::OK);
        assert_eq!(granted.json::<Value>().await.unwrap()["staff_scopes"], json!(["accounts:admin"]));
        let renamed = app.patch(&auditor_path, &token, &json!({"username": "auditor"})).await;
        assert_eq!(renamed.status(), StatusCode::OK);
        assert_eq!(account_of(&app, &tenant, &auditor).await["staff_scopes"], json!(["audit:read"]));
        // The admin client, holding every tenant scope, may change them all.
        let admin = app.patch(&auditor_path, &tenant.token, &json!({"staff_scopes": ["clients:admin"]})).await;
        assert_eq!(admin.status(), StatusCode::OK);
    }

    async fn a_staff_member_cannot_change_their_own_scopes_nor_grant_ones_they_lack(app) {
        let tenant = app.new_tenant().await;
        let operator = app.operator_token().await;
        let patched = app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"require_staff_totp": false})).await;
        assert_eq!(patched.status(), StatusCode::OK);
        let staff = person_with_account(&app, &tenant, "admin@example.nl", json!({"staff_scopes": ["accounts:admin", "people:read"]})).await;
        let colleague = person_with_account(&app, &tenant, "colleague@example.nl", json!({})).await;
        let session: Value = login(&app, &tenant, "admin@example.nl", PASSWORD).await.json().await.unwrap();
        let token = session["access_token"].as_str().unwrap().to_owned();
        let mut scopes: Vec<String> = claims_of(&token)["scope"].as_str().unwrap().split(' ').map(str::to_owned).collect();
        scopes.sort();
        assert_eq!(scopes, ["accounts:admin", "people:read", "self"]);
        let own = format!("/v1/people/{staff}/account");

        for scopes in [json!(["accounts:admin", "people:read", "clients:admin", "audit:read"]), json!(["people:read"]), json!(["accounts:admin", "people:read"])] {
            let refused = app.patch(&own, &token, &json!({"staff_scopes": scopes})).await;
            assert_problem(refused, StatusCode::FORBIDDEN, "own_scopes").await;
        }
        assert_eq!(account_of(&app, &tenant, &staff).await["staff_scopes"], json!(["people:read", "accounts:admin"]));
        assert_eq!(app.get("/v1/me", &token).await.status(), StatusCode::OK, "the session lives on");
        // The rest of their own account is theirs to change.
        assert_eq!(app.patch(&own, &token, &json!({"username": "the-admin"})).await.status(), StatusCode::OK);

        // A colleague: only scopes the staff member holds.
        let other = format!("/v1/people/{colleague}/account");
        let refused = app.patch(&other, &token, &json!({"staff_scopes": ["audit:read"]})).await;
        assert_problem(refused, StatusCode::FORBIDDEN, "scope_not_held").await;
        let granted = app.patch(&other, &token, &json!({"staff_scopes": ["people:read"]})).await;
        assert_eq!(granted.status(), StatusCode::OK);
        assert_eq!(account_of(&app, &tenant, &colleague).await["staff_scopes"], json!(["people:read"]));
    }
}

both_backends! {
    async fn mails_link_to_the_tenants_pages_with_the_code_as_a_fallback(app) {
        let tenant = app.new_tenant().await;
        let other = app.new_tenant().await;
        // Bad link bases: 422 problem+json naming the field, and nothing changes.
        for (field, bad) in [
            ("verify_email_url", "https://app.example.nl/verify"),
            ("verify_email_url", "http://app.example.nl/verify?token={token}"),
            ("reset_password_url", "https://app.example.nl/{token}/{token}"),
            ("reset_password_url", "https://user:pw@app.example.nl/r?t={token}"),
        ] {
            let problem = assert_problem(app.patch("/v1/tenant", &tenant.token, &json!({field: bad})).await,
                StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == field), "{bad}: {problem}");
        }
        let unchanged: Value = app.get("/v1/tenant", &tenant.token).await.json().await.unwrap();
        assert_eq!(unchanged["verify_email_url"], Value::Null);
        assert_eq!(unchanged["version"], 1);

        let set = app.patch("/v1/tenant", &tenant.token, &json!({
            "verify_email_url": "https://app.example.nl/verify?token={token}",
            "reset_password_url": "https://app.example.nl/reset#{token}",
        })).await;
        assert_eq!(set.status(), StatusCode::OK);
        let set: Value = set.json().await.unwrap();
        assert_eq!(set["verify_email_url"], "https://app.example.nl/verify?token={token}");
        assert_eq!(set["reset_password_url"], "https://app.example.nl/reset#{token}");

        // The verification mail carries the link with its token, and the code.
        person_with_account(&app, &tenant, "linked@example.nl", json!({})).await;
        let code = app.mailed_code("linked@example.nl", 1).await;
        let mail = &app.mails_to("linked@example.nl")[0];
        let link = format!("https://app.example.nl/verify?token={code}");
        assert!(mail.contains(&link), "the link in the mail:\n{mail}");
        assert!(mail.contains("Open dan deze link") || mail.contains("door deze link te openen"), "in Dutch:\n{mail}");
        // The token from the link works.
        let token = link.rsplit_once("token=").unwrap().1;
        let verified = app.client.post(app.url("/v1/auth/verify-email")).json(&json!({"token": token})).send().await.unwrap();
        assert_eq!(verified.status(), StatusCode::NO_CONTENT);

        // The reset mail links to the reset page.
        let reset = app.client.post(app.url("/v1/auth/password-reset")).json(&json!({"tenant": tenant.slug, "email": "linked@example.nl"})).send().await.unwrap();
        assert_eq!(reset.status(), StatusCode::ACCEPTED);
        let code = app.mailed_code("linked@example.nl", 2).await;
        assert!(app.mails_to("linked@example.nl")[1].contains(&format!("https://app.example.nl/reset#{code}")));

        // Another tenant's mails keep only the code; removing the link does too.
        person_with_account(&app, &other, "plain@example.nl", json!({})).await;
        app.mailed_code("plain@example.nl", 1).await;
        assert!(!app.mails_to("plain@example.nl")[0].contains("https://app.example.nl"));
        let removed = app.patch("/v1/tenant", &tenant.token, &json!({"verify_email_url": null})).await;
        assert_eq!(removed.status(), StatusCode::OK);
        let removed: Value = removed.json().await.unwrap();
        assert_eq!(removed["verify_email_url"], Value::Null);
        assert_eq!(removed["reset_password_url"], "https://app.example.nl/reset#{token}");
        // The operator sets them too, on any tenant.
        let operator = app.operator_token().await;
        let id = other.id.clone();
        let by_operator = app.patch(&format!("/v1/tenants/{id}"), &operator, &json!({"reset_password_url": "http://localhost:5173/reset?token={token}"})).await;
        assert_eq!(by_operator.status(), StatusCode::OK);
        let by_operator: Value = by_operator.json().await.unwrap();
        assert_eq!(by_operator["reset_password_url"], "http://localhost:5173/reset?token={token}");
    }
}
