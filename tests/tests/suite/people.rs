//! People: profiles with labelled contacts, refused input, uniqueness,
//! concurrency and retries, tenant isolation, paging, audit and erasure.

use diesel::prelude::*;
use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

fn full_person() -> Value {
    json!({
        "salutation": "Mevr.",
        "first_name": "Anna",
        "last_name": "de Vries",
        "nickname": "Ans",
        "date_of_birth": "1985-04-12",
        "language": "nl-NL",
        "company_name": "De Vries Fietsen",
        "coc_number": "12345678",
        "vat_number": "NL123456789B01",
        "emails": [
            {"address": "Anna@DeVries.example", "label": "private"},
            {"address": "anna@fietsen.example", "label": "work", "primary": true}
        ],
        "phones": [
            {"number": "+31612345678", "label": "private"},
            {"number": "+31201234567", "label": "home"}
        ],
        "addresses": [
            {"street": "Dorpsstraat", "house_number": "12", "addition": "A", "postal_code": "1234ab", "city": "Utrecht", "country": "NL", "label": "private"}
        ],
        "websites": [{"url": "https://fietsen.example", "label": "work"}]
    })
}

async fn create(app: &TestApp, tenant: &Tenant, body: &Value) -> Value {
    let response = app.post("/v1/people", &tenant.token, body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    response.json().await.unwrap()
}

/// Rows of every people table for the tenant: what "stores nothing" is measured by.
fn row_counts(app: &TestApp, tenant: &Tenant) -> Vec<i64> {
    use kluis_store::schema::{people, person_addresses, person_emails, person_phones, person_websites};
    let mut conn = app.conn();
    let t = tenant.id.as_str();
    vec![
        people::table.filter(people::tenant_id.eq(t)).count().get_result(&mut *conn).unwrap(),
        person_emails::table.filter(person_emails::tenant_id.eq(t)).count().get_result(&mut *conn).unwrap(),
        person_phones::table.filter(person_phones::tenant_id.eq(t)).count().get_result(&mut *conn).unwrap(),
        person_addresses::table.filter(person_addresses::tenant_id.eq(t)).count().get_result(&mut *conn).unwrap(),
        person_websites::table.filter(person_websites::tenant_id.eq(t)).count().get_result(&mut *conn).unwrap(),
    ]
}

both_backends! {
    async fn a_person_with_all_contacts_is_created_in_one_request_and_found(app) {
        let tenant = app.new_tenant().await;
        let created = create(&app, &tenant, &full_person()).await;
        let id = created["id"].as_str().unwrap();
        assert_eq!(created["emails"].as_array().unwrap().len(), 2);
        assert_eq!(created["emails"][0]["address"], "Anna@DeVries.example", "stored as given");
        assert_eq!(created["emails"][0]["primary"], false);
        assert_eq!(created["emails"][1]["primary"], true, "asked to be primary");
        assert_eq!(created["phones"][0]["primary"], true, "the first of its kind is primary");
        assert_eq!(created["phones"][1]["label"], "home");
        assert_eq!(created["addresses"][0]["postal_code"], "1234 AB", "Dutch postal codes in canonical form");
        assert_eq!(created["websites"][0]["url"], "https://fietsen.example");
        assert!(created["emails"][0]["verified_at"].is_null());

        let response = app.get(&format!("/v1/people/{id}"), &tenant.token).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers().get("etag").unwrap(), "\"1\"");
        let read: Value = response.json().await.unwrap();
        assert_eq!(read, created, "read back identical");

        for query in ["q=ann", "q=DE%20VRIES", "q=anna%20de", "q=de%20vries%20f", "email=ANNA%40devries.EXAMPLE"] {
            let page: Value = app.get(&format!("/v1/people?{query}"), &tenant.token).await.json().await.unwrap();
            let ids: Vec<&str> = page["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
            assert_eq!(ids, vec![id], "{query}");
        }
        for query in ["q=nna", "q=x", "email=anna%40devries.example.nl", "q=%25", "q=_"] {
            let page: Value = app.get(&format!("/v1/people?{query}"), &tenant.token).await.json().await.unwrap();
            assert!(page["items"].as_array().unwrap().is_empty(), "{query}");
        }
    }

    async fn a_page_of_people_carries_each_persons_own_contacts_of_every_kind_oldest_first(app) {
        // A page reads the contacts of all its people, of all four kinds, in
        // one query; each person must get exactly their own, in order.
        let tenant = app.new_tenant().await;
        let other = app.new_tenant().await;
        let anna = create(&app, &tenant, &full_person()).await;
        let bare = create(&app, &tenant, &json!({"first_name": "Bram"})).await;
        let carla = create(&app, &tenant, &json!({
            "first_name": "Carla",
            "addresses": [
                {"street": "Kade", "house_number": "1", "postal_code": "3511AA", "city": "Utrecht", "country": "NL", "label": "private"},
                {"country": "BE", "label": "work"}
            ],
            "websites": [{"url": "https://carla.example", "label": "private"}]
        })).await;
        // The same address in another tenant is another tenant's person.
        create(&app, &other, &json!({"first_name": "Anna", "emails": [{"address": "anna@fietsen.example", "label": "work"}]})).await;
        let anna_path = format!("/v1/people/{}", anna["id"].as_str().unwrap());
        for address in ["later@devries.example", "latest@devries.example"] {
            let response = app.post(&format!("{anna_path}/emails"), &tenant.token, &json!({"address": address, "label": "private"})).await;
            assert_eq!(response.status(), StatusCode::CREATED);
        }
        let response = app.post(&format!("{anna_path}/phones"), &tenant.token, &json!({"number": "+31301234567", "label": "work"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);

        let page: Value = app.get("/v1/people?limit=10", &tenant.token).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 3, "{page}");
        for item in items {
            let one: Value = app.get(&format!("/v1/people/{}", item["id"].as_str().unwrap()), &tenant.token).await.json().await.unwrap();
            assert_eq!(item, &one, "a page shows each person as a read of them does");
        }
        let anna_read = &items[0];
        let emails: Vec<&str> = anna_read["emails"].as_array().unwrap().iter().map(|e| e["address"].as_str().unwrap()).collect();
        assert_eq!(emails, ["Anna@DeVries.example", "anna@fietsen.example", "later@devries.example", "latest@devries.example"]);
        let phones: Vec<&str> = anna_read["phones"].as_array().unwrap().iter().map(|e| e["number"].as_str().unwrap()).collect();
        assert_eq!(phones, ["+31612345678", "+31201234567", "+31301234567"]);
        assert_eq!(anna_read["addresses"], anna["addresses"]);
        assert_eq!(anna_read["websites"], anna["websites"]);
        assert_eq!(items[1]["id"], bare["id"]);
        for kind in ["emails", "phones", "addresses", "websites"] {
            assert_eq!(items[1][kind], json!([]), "Bram has no {kind}");
        }
        assert_eq!(items[2]["id"], carla["id"]);
        assert_eq!(items[2]["addresses"], carla["addresses"]);
        assert_eq!(items[2]["addresses"][1]["country"], "BE");
        assert!(items[2]["addresses"][1]["street"].is_null(), "an address without a street has none");
        assert_eq!(items[2]["websites"][0]["url"], "https://carla.example");
        assert_eq!(items[2]["emails"], json!([]));

        // The other tenant sees only its own Anna and none of these.
        let theirs: Value = app.get("/v1/people", &other.token).await.json().await.unwrap();
        assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
        assert_eq!(theirs["items"][0]["emails"].as_array().unwrap().len(), 1);
        let response = app.get(&anna_path, &other.token).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        let response = app.get("/v1/people?limit=0", &tenant.token).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }

    async fn refused_input_is_422_naming_the_field_and_stores_nothing(app) {
        let tenant = app.new_tenant().await;
        let before = row_counts(&app, &tenant);
        let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1)).date().to_string();
        let long_ago = (time::OffsetDateTime::now_utc() - time::Duration::days(151 * 366)).date().to_string();
        let cases = vec![
            (json!({"first_name": "A", "coc_number": "1234567"}), "coc_number"),
            (json!({"first_name": "A", "vat_number": "NL123456789B1"}), "vat_number"),
            (json!({"first_name": "A", "emails": [{"address": "a@example.nl", "label": "home"}]}), "emails[0].label"),
            (json!({"first_name": "A", "nickname": "4111 1111 1111 1111"}), "nickname"),
            (json!({"first_name": "Pay 4111-1111-1111-1111 now"}), "first_name"),
            (json!({"first_name": "A", "date_of_birth": tomorrow}), "date_of_birth"),
            (json!({"first_name": "A", "date_of_birth": long_ago}), "date_of_birth"),
            (json!({"first_name": "A", "date_of_birth": "12-04-1985"}), "date_of_birth"),
            (json!({"first_name": "A", "language": "nl_NL"}), "language"),
            (json!({"first_name": "A", "emails": [{"address": "not-an-email", "label": "work"}]}), "emails[0].address"),
            (json!({"first_name": "A", "phones": [{"number": "0612345678", "label": "work"}]}), "phones[0].number"),
            (json!({"first_name": "A", "addresses": [{"country": "XX", "label": "work"}]}), "addresses[0].country"),
            (json!({"first_name": "A", "addresses": [{"country": "NL", "postal_code": "12345", "label": "work"}]}), "addresses[0].postal_code"),
            (json!({"first_name": "A", "addresses": [{"country": "NL", "street": "5500 0000 0000 0004", "label": "work"}]}), "addresses[0].street"),
            (json!({"first_name": "A", "websites": [{"url": "javascript:alert(1)", "label": "work"}]}), "websites[0].url"),
            (json!({"first_name": "A", "emails": [{"address": "a@example.nl", "label": "work"}, {"address": "b@", "label": "work"}]}), "emails[1].address"),
            (json!({"first_name": "A", "religion": "none"}), "religion"),
            (json!({"first_name": "A", "emails": [{"address": "a@example.nl", "label": "work", "verified_at": "2020-01-01T00:00:00Z"}]}), "emails[0].verified_at"),
            (json!({"first_name": "A", "phones": [{"number": "+31612345678", "label": "mobile"}]}), "phones[0].label"),
            (json!({"first_name": "x".repeat(201)}), "first_name"),
        ];
        for (body, field) in cases {
            let response = app.post("/v1/people", &tenant.token, &body).await;
            let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
            assert!(fields.contains(&field), "{body} should name {field}, named {fields:?}");
        }
        assert_eq!(row_counts(&app, &tenant), before, "nothing was stored");

        // The same rules hold for changes and for contacts added later.
        let person = create(&app, &tenant, &json!({"first_name": "B"})).await;
        let path = format!("/v1/people/{}", person["id"].as_str().unwrap());
        let response = app.patch(&path, &tenant.token, &json!({"nickname": "4111111111111111"})).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let response = app.post(&format!("{path}/emails"), &tenant.token, &json!({"address": "b@example.nl", "label": "home"})).await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "label");
        let read: Value = app.get(&path, &tenant.token).await.json().await.unwrap();
        assert!(read["nickname"].is_null() && read["emails"].as_array().unwrap().is_empty());
    }

    async fn an_email_is_unique_in_a_tenant_in_any_case_but_not_across_tenants(app) {
        let a = app.new_tenant().await;
        let b = app.new_tenant().await;
        create(&app, &a, &json!({"first_name": "A", "emails": [{"address": "same@example.nl", "label": "work"}]})).await;
        let response = app.post("/v1/people", &a.token, &json!({"first_name": "B", "emails": [{"address": "SAME@example.nl", "label": "work"}]})).await;
        assert_problem(response, StatusCode::CONFLICT, "email_taken").await;
        let other = create(&app, &a, &json!({"first_name": "C"})).await;
        let response = app.post(&format!("/v1/people/{}/emails", other["id"].as_str().unwrap()), &a.token,
            &json!({"address": "Same@Example.nl", "label": "private"})).await;
        assert_problem(response, StatusCode::CONFLICT, "email_taken").await;
        create(&app, &b, &json!({"first_name": "A", "emails": [{"address": "same@example.nl", "label": "work"}]})).await;
        let page: Value = app.get("/v1/people", &a.token).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 2, "the refused person was not stored");
    }

    async fn stale_if_match_is_412_and_idempotency_keys_replay(app) {
        let tenant = app.new_tenant().await;
        let person = create(&app, &tenant, &full_person()).await;
        let path = format!("/v1/people/{}", person["id"].as_str().unwrap());
        let response = app.client.patch(app.url(&path)).bearer_auth(&tenant.token).header("if-match", "\"1\"")
            .json(&json!({"nickname": null, "first_name": "Annie"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let changed: Value = response.json().await.unwrap();
        assert_eq!(changed["version"], 2);
        assert!(changed["nickname"].is_null(), "null clears");
        assert_eq!(changed["last_name"], "de Vries", "absent stays");
        let response = app.client.patch(app.url(&path)).bearer_auth(&tenant.token).header("if-match", "\"1\"")
            .json(&json!({"first_name": "Lost"})).send().await.unwrap();
        assert_problem(response, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
        let response = app.client.delete(app.url(&path)).bearer_auth(&tenant.token).header("if-match", "\"1\"").send().await.unwrap();
        assert_problem(response, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
        let read: Value = app.get(&path, &tenant.token).await.json().await.unwrap();
        assert_eq!(read["first_name"], "Annie", "the refused changes changed nothing");

        // Contacts have their own versions.
        let email = &read["emails"][0];
        let email_path = format!("{path}/emails/{}", email["id"].as_str().unwrap());
        let response = app.client.patch(app.url(&email_path)).bearer_auth(&tenant.token).header("if-match", "\"7\"")
            .json(&json!({"label": "other"})).send().await.unwrap();
        assert_problem(response, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;

        let before = row_counts(&app, &tenant);
        let body = json!({"first_name": "Once", "emails": [{"address": "once@example.nl", "label": "work"}]});
        let send = |body: Value| app.client.post(app.url("/v1/people")).bearer_auth(&tenant.token)
            .header("idempotency-key", "create-once-1").json(&body).send();
        let first = send(body.clone()).await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first_location = first.headers().get("location").unwrap().clone();
        let first_body = first.text().await.unwrap();
        let again = send(body.clone()).await.unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
        assert_eq!(again.headers().get("location").unwrap(), &first_location);
        assert_eq!(again.text().await.unwrap(), first_body, "the same response");
        let mut after = before.clone();
        after[0] += 1;
        after[1] += 1;
        assert_eq!(row_counts(&app, &tenant), after, "one person");
        let other = send(json!({"first_name": "Twice"})).await.unwrap();
        let problem = assert_problem(other, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
        assert_eq!(row_counts(&app, &tenant), after);
        // Keys belong to their caller: another client's same key is a new request.
        let writer = app.new_client(&tenant, &["people:write"]).await;
        let writer_token = app.token(&writer).await;
        let response = app.client.post(app.url("/v1/people")).bearer_auth(&writer_token)
            .header("idempotency-key", "create-once-1").json(&json!({"first_name": "Someone else"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert!(response.headers().get("idempotent-replayed").is_none());
        // A refused request (422) is kept too: its retry gets the same answer.
        let bad = || app.client.post(app.url("/v1/people")).bearer_auth(&tenant.token)
            .header("idempotency-key", "bad-1").json(&json!({"coc_number": "1"})).send();
        assert_eq!(bad().await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
        let replayed = bad().await.unwrap();
        assert_eq!(replayed.headers().get("idempotent-replayed").unwrap(), "true");
        assert_problem(replayed, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let response = app.client.post(app.url("/v1/people")).bearer_auth(&tenant.token)
            .header("idempotency-key", "").json(&json!({})).send().await.unwrap();
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }

    async fn tenants_cannot_reach_each_others_people_and_readers_cannot_write(app) {
        let a = app.new_tenant().await;
        let b = app.new_tenant().await;
        let person = create(&app, &a, &full_person()).await;
        let id = person["id"].as_str().unwrap();
        let email_id = person["emails"][0]["id"].as_str().unwrap();
        let path = format!("/v1/people/{id}");
        let random = format!("/v1/people/{}", kluis_core::new_id());
        let foreign = app.get(&path, &b.token).await;
        assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
        assert_eq!(foreign.bytes().await.unwrap(), app.get(&random, &b.token).await.bytes().await.unwrap());
        for response in [
            app.patch(&path, &b.token, &json!({"first_name": "X"})).await,
            app.delete(&path, &b.token).await,
            app.get(&format!("{path}/emails"), &b.token).await,
            app.post(&format!("{path}/emails"), &b.token, &json!({"address": "x@example.nl", "label": "work"})).await,
            app.patch(&format!("{path}/emails/{email_id}"), &b.token, &json!({"label": "other"})).await,
            app.delete(&format!("{path}/emails/{email_id}"), &b.token).await,
            app.get(&format!("{path}/references"), &b.token).await,
            app.post(&format!("{path}/references"), &b.token, &json!({"app": "shop", "external_ref": "1"})).await,
        ] {
            assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        }
        let listed: Value = app.get("/v1/people", &b.token).await.json().await.unwrap();
        assert!(listed["items"].as_array().unwrap().is_empty());
        let by_email: Value = app.get("/v1/people?email=anna%40devries.example", &b.token).await.json().await.unwrap();
        assert!(by_email["items"].as_array().unwrap().is_empty());
        let read: Value = app.get(&path, &a.token).await.json().await.unwrap();
        assert_eq!(read, person, "untouched");

        let reader = app.new_client(&a, &["people:read"]).await;
        let token = app.token(&reader).await;
        assert_eq!(app.get(&path, &token).await.status(), StatusCode::OK);
        for response in [
            app.post("/v1/people", &token, &json!({"first_name": "X"})).await,
            app.patch(&path, &token, &json!({"first_name": "X"})).await,
            app.delete(&path, &token).await,
            app.post(&format!("{path}/phones"), &token, &json!({"number": "+31612345679", "label": "work"})).await,
            app.delete(&format!("{path}/emails/{email_id}"), &token).await,
        ] {
            assert_problem(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
        }
        let writer_only = app.new_client(&a, &["people:write"]).await;
        let token = app.token(&writer_only).await;
        assert_problem(app.get(&path, &token).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.get(&path, &app.operator_token().await).await, StatusCode::FORBIDDEN, "operator_not_allowed").await;
    }

    async fn paging_through_250_people_returns_each_exactly_once_under_concurrent_inserts(app) {
        let tenant = app.new_tenant().await;
        let mut created = std::collections::BTreeSet::new();
        // 25 bursts of 10 concurrent inserts (each a write transaction with its audit entry).
        for chunk in 0..25 {
            let batch = (0..10).map(|i| {
                let body = json!({"first_name": format!("P{chunk}-{i}")});
                app.client.post(app.url("/v1/people")).bearer_auth(&tenant.token).json(&body).send()
            });
            for response in futures_util::future::join_all(batch).await {
                let response = response.unwrap();
                assert_eq!(response.status(), StatusCode::CREATED);
                created.insert(response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(created.len(), 250);
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let query = match &cursor { Some(c) => format!("/v1/people?limit=100&cursor={c}"), None => "/v1/people?limit=100".into() };
            let page: Value = app.get(&query, &tenant.token).await.json().await.unwrap();
            pages += 1;
            seen.extend(page["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()));
            // Someone adds a person while we page.
            if pages == 1 {
                create(&app, &tenant, &json!({"first_name": "Late"})).await;
            }
            match page["next_cursor"].as_str() { Some(next) => cursor = Some(next.to_owned()), None => break }
        }
        let unique: std::collections::BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "no person twice");
        assert!(created.is_subset(&unique), "every person once");
        assert_eq!(seen.len(), 251, "the late one appears once, at the end");
        assert_eq!(pages, 3);
    }

    async fn contacts_are_resources_with_a_single_primary_and_real_deletes(app) {
        let tenant = app.new_tenant().await;
        let person = create(&app, &tenant, &json!({"first_name": "C"})).await;
        let path = format!("/v1/people/{}", person["id"].as_str().unwrap());
        let first: Value = app.post(&format!("{path}/phones"), &tenant.token, &json!({"number": "+31611111111", "label": "work"})).await.json().await.unwrap();
        assert_eq!(first["primary"], true);
        let response = app.post(&format!("{path}/phones"), &tenant.token, &json!({"number": "+31622222222", "label": "home", "primary": true})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let second: Value = response.json().await.unwrap();
        let phones: Value = app.get(&format!("{path}/phones"), &tenant.token).await.json().await.unwrap();
        let primaries: Vec<bool> = phones["items"].as_array().unwrap().iter().map(|p| p["primary"].as_bool().unwrap()).collect();
        assert_eq!(primaries, [false, true], "one primary per kind");

        let second_path = format!("{path}/phones/{}", second["id"].as_str().unwrap());
        let response = app.client.patch(app.url(&second_path)).bearer_auth(&tenant.token).header("if-match", "\"1\"")
            .json(&json!({"number": "+31633333333"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap()["number"], "+31633333333");
        assert_eq!(app.delete(&second_path, &tenant.token).await.status(), StatusCode::NO_CONTENT);
        let phones: Value = app.get(&format!("{path}/phones"), &tenant.token).await.json().await.unwrap();
        let phones = phones["items"].as_array().unwrap();
        assert_eq!(phones.len(), 1);
        assert_eq!(phones[0]["primary"], true, "the primary moves to the one left");
        use kluis_store::schema::person_phones;
        let mut conn = app.conn();
        let left: i64 = person_phones::table.filter(person_phones::id.eq(second["id"].as_str().unwrap())).count().get_result(&mut *conn).unwrap();
        assert_eq!(left, 0, "deleted for real");
        drop(conn);

        let address: Value = app.post(&format!("{path}/addresses"), &tenant.token,
            &json!({"street": "Kerkweg", "house_number": "1", "postal_code": "3511 AA", "city": "Utrecht", "country": "nl", "label": "work"})).await.json().await.unwrap();
        assert_eq!(address["country"], "NL");
        let address_path = format!("{path}/addresses/{}", address["id"].as_str().unwrap());
        let changed: Value = app.patch(&address_path, &tenant.token, &json!({"addition": "bis", "city": null})).await.json().await.unwrap();
        assert_eq!(changed["addition"], "bis");
        assert!(changed["city"].is_null());
        assert_eq!(changed["street"], "Kerkweg");
        let website: Value = app.post(&format!("{path}/websites"), &tenant.token, &json!({"url": "http://c.example", "label": "private"})).await.json().await.unwrap();
        assert_eq!(website["primary"], true);
        let response = app.patch(&format!("{path}/websites/{}", website["id"].as_str().unwrap()), &tenant.token, &json!({"url": "ftp://c.example"})).await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "url");
        let response = app.delete(&format!("{path}/emails/{}", kluis_core::new_id()), &tenant.token).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        // A single contact is changed or deleted, never read on its own: 405 naming what it allows.
        let response = app.get(&format!("{path}/emails/{}", kluis_core::new_id()), &tenant.token).await;
        assert_eq!(response.headers()["allow"], "DELETE, PATCH");
        assert_problem(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    }

    async fn apps_register_references_to_a_person(app) {
        let tenant = app.new_tenant().await;
        let person = create(&app, &tenant, &json!({"first_name": "R"})).await;
        let path = format!("/v1/people/{}/references", person["id"].as_str().unwrap());
        let response = app.post(&path, &tenant.token, &json!({"app": "webshop", "external_ref": "cust-991"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let reference: Value = response.json().await.unwrap();
        assert_eq!(reference["client_id"], tenant.admin.client_id.as_str(), "the calling client is the holder");
        let response = app.post(&path, &tenant.token, &json!({"app": "webshop", "external_ref": "cust-991"})).await;
        assert_problem(response, StatusCode::CONFLICT, "reference_exists").await;
        let response = app.post(&path, &tenant.token, &json!({"app": "webshop", "external_ref": "4111 1111 1111 1111"})).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let list: Value = app.get(&path, &tenant.token).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let reference_path = format!("{path}/{}", reference["id"].as_str().unwrap());
        assert_eq!(app.delete(&reference_path, &tenant.token).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.delete(&reference_path, &tenant.token).await.status(), StatusCode::NOT_FOUND);
    }

    async fn changes_and_reads_are_audited_by_field_name_and_erasure_leaves_nothing(app) {
        let tenant = app.new_tenant().await;
        let person = create(&app, &tenant, &full_person()).await;
        let id = person["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/people/{id}");
        app.patch(&path, &tenant.token, &json!({"nickname": "Annie"})).await;
        app.get(&path, &tenant.token).await;
        app.post(&format!("{path}/references"), &tenant.token, &json!({"app": "crm", "external_ref": "42"})).await;
        app.state.audit_reads.flush();
        let events: Value = app.get(&format!("/v1/audit/events?person_id={id}&limit=200"), &tenant.token).await.json().await.unwrap();
        let events = events["items"].as_array().unwrap().clone();
        let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
        for action in ["person.create", "person.update", "person.read", "reference.create"] {
            assert!(actions.contains(&action), "{action} in {actions:?}");
        }
        let update = events.iter().find(|e| e["action"] == "person.update").unwrap();
        assert_eq!(update["fields"], json!(["nickname"]));
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains(&id), "audit holds the person id");
        // Random hex (ids, hashes, subject references, request ids, times)
        // can hold a digit run like 1985 by chance; values are looked for in
        // everything else.
        let mut readable = events.clone();
        for event in &mut readable {
            let event = event.as_object_mut().unwrap();
            for key in ["id", "hash", "prev_hash", "subject_ref", "request_id", "actor_id", "target_id", "at"] {
                event.remove(key);
            }
        }
        let readable = serde_json::to_string(&readable).unwrap();
        for value in ["Anna", "Vries", "Annie", "devries", "+3161", "1985", "12345678", "NL123456789B01"] {
            assert!(!readable.contains(value), "audit holds `{value}`");
        }

        let response = app.delete(&path, &tenant.token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let receipt: Value = response.json().await.unwrap();
        assert_eq!(receipt["person_id"], id.as_str());
        assert_eq!(receipt["rows"]["people"], 1);
        assert_eq!(receipt["rows"]["person_emails"], 2);
        assert_eq!(receipt["rows"]["person_phones"], 2);
        assert_eq!(receipt["rows"]["person_references"], 1);
        assert_eq!(receipt["rows"]["subject_keys"], 1);
        assert_eq!(row_counts(&app, &tenant), vec![0, 0, 0, 0, 0]);
        assert_problem(app.get(&path, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        let events: Value = app.get(&format!("/v1/audit/events?person_id={id}"), &tenant.token).await.json().await.unwrap();
        assert!(events["items"].as_array().unwrap().is_empty(), "no longer linkable");
        let verify: Value = app.get("/v1/audit/verify", &tenant.token).await.json().await.unwrap();
        assert_eq!(verify["ok"], true);
        // The address is free again.
        create(&app, &tenant, &json!({"emails": [{"address": "anna@devries.example", "label": "work"}]})).await;
    }
}
