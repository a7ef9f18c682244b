//! Tenant-defined attributes (issue 19, section 1): definitions with a type,
//! rules, a data category (never a special one) and purposes; values with
//! the person, checked by type on every write and named
//! `attributes.<key>` when broken; self-editing through `/v1/me`;
//! purpose-bound reads; export, erasure and retention; the register; the
//! tenant's JSON Schema; another tenant's attribute is 404. And the account
//! language a first sign-in takes from the device.

use diesel::prelude::*;
use kluis_tests::{Credentials, StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";

/// The response must answer `status`; its body.
async fn expect(response: reqwest::Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }
}

/// The fields a problem names.
fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

async fn define(app: &TestApp, tenant: &Tenant, body: Value) -> Value {
    expect(app.post("/v1/attributes", &tenant.token, &body).await, StatusCode::CREATED).await
}

/// One attribute of each type, all serving `account`; the string one and
/// the enum one self-editable.
async fn define_all(app: &TestApp, tenant: &Tenant) {
    for body in [
        json!({"key": "sector", "type": "enum", "values": ["logistics", "retail"], "category": "user.business", "purposes": ["account"], "self_editable": true}),
        json!({"key": "employees", "type": "number", "minimum": 1, "maximum": 10000, "category": "user.business", "purposes": ["account"]}),
        json!({"key": "code", "type": "string", "min_length": 2, "max_length": 10, "pattern": "^[A-Z]", "category": "user.business", "purposes": ["account"], "self_editable": true}),
        json!({"key": "interested", "type": "boolean", "category": "user.behavior", "purposes": ["account"]}),
        json!({"key": "founded", "type": "date", "category": "user.business", "purposes": ["account"]}),
        json!({"key": "portal", "type": "url", "category": "user.business", "purposes": ["account"]}),
    ] {
        define(app, tenant, body).await;
    }
}

fn valid() -> Value {
    json!({"sector": "logistics", "employees": 42, "code": "AB12", "interested": true, "founded": "2001-02-03", "portal": "https://portal.example/x"})
}

async fn person_with(app: &TestApp, tenant: &Tenant, attributes: Value) -> String {
    let body = json!({"first_name": "Sanne", "attributes": attributes});
    let person = expect(app.post("/v1/people", &tenant.token, &body).await, StatusCode::CREATED).await;
    person["id"].as_str().unwrap().to_owned()
}

async fn token_of(app: &TestApp, tenant: &Tenant, body: Value) -> String {
    let made = expect(app.post("/v1/clients", &tenant.token, &body).await, StatusCode::CREATED).await;
    let creds = Credentials {
        client_id: made["client_id"].as_str().unwrap().to_owned(),
        client_secret: made["client_secret"].as_str().unwrap().to_owned(),
    };
    app.token(&creds).await
}

/// A person with an account (e-mail `email`, language as given); their id.
async fn with_account(app: &TestApp, tenant: &Tenant, email: &str, language: Option<&str>) -> String {
    let body = json!({"first_name": "Mira", "language": language, "emails": [{"address": email, "label": "private"}]});
    let person = expect(app.post("/v1/people", &tenant.token, &body).await, StatusCode::CREATED).await;
    let id = person["id"].as_str().unwrap().to_owned();
    let account = app.post(&format!("/v1/people/{id}/account"), &tenant.token, &json!({"password": PASSWORD})).await;
    expect(account, StatusCode::CREATED).await;
    id
}

async fn login(app: &TestApp, tenant: &Tenant, email: &str, device: Value, accept_language: Option<&str>) -> Value {
    let body = json!({"tenant": tenant.slug, "identifier": email, "password": PASSWORD, "device": device});
    let mut request = app.client.post(app.url("/v1/auth/login")).json(&body);
    if let Some(language) = accept_language {
        request = request.header("accept-language", language);
    }
    expect(request.send().await.unwrap(), StatusCode::OK).await
}

async fn language_of(app: &TestApp, token: &str, id: &str) -> Value {
    expect(app.get(&format!("/v1/people/{id}"), token).await, StatusCode::OK).await["language"].clone()
}

fn value_rows(app: &TestApp, person: &str) -> i64 {
    use kluis_store::schema::person_attributes as a;
    let mut conn = app.conn();
    a::table.filter(a::person_id.eq(person)).count().get_result(&mut *conn).unwrap()
}

both_backends! {
    async fn each_type_stores_valid_values_and_refuses_invalid_ones_naming_the_attribute(app) {
        let tenant = app.new_tenant().await;
        define_all(&app, &tenant).await;
        let body = json!({"first_name": "Sanne", "attributes": valid()});
        let person = expect(app.post("/v1/people", &tenant.token, &body).await, StatusCode::CREATED).await;
        assert_eq!(person["attributes"], valid());
        let id = person["id"].as_str().unwrap();
        let read = expect(app.get(&format!("/v1/people/{id}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(read["attributes"], valid());

        // Each type, a value that breaks it: named, and nothing changes.
        for (key, bad) in [
            ("sector", json!("farming")),
            ("sector", json!(3)),
            ("employees", json!(0)),
            ("employees", json!(10001)),
            ("employees", json!("many")),
            ("code", json!("ab")),
            ("code", json!("A")),
            ("code", json!("ABCDEFGHIJK")),
            ("code", json!("A 4111 1111 1111 1111")),
            ("interested", json!("yes")),
            ("founded", json!("2001-02-30")),
            ("founded", json!(20010203)),
            ("portal", json!("ftp://portal.example")),
            ("portal", json!(true)),
        ] {
            let patch = json!({"first_name": "Changed", "attributes": {key: bad}});
            let problem = assert_problem(app.patch(&format!("/v1/people/{id}"), &tenant.token, &patch).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(fields(&problem), [format!("attributes.{key}")], "{key} = {bad}");
        }
        let unknown = json!({"attributes": {"shoe_size": 44}});
        let problem = assert_problem(app.patch(&format!("/v1/people/{id}"), &tenant.token, &unknown).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(fields(&problem), ["attributes.shoe_size"]);
        let on_create = json!({"first_name": "Bad", "coc_number": "12", "attributes": {"employees": -1}});
        let problem = assert_problem(app.post("/v1/people", &tenant.token, &on_create).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(fields(&problem), ["coc_number", "attributes.employees"], "one answer names every field");
        let read = expect(app.get(&format!("/v1/people/{id}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!((&read["first_name"], &read["attributes"]), (&json!("Sanne"), &valid()), "bad input loses nothing");

        // A change sets some, `null` removes one, the others stay.
        let patch = json!({"attributes": {"sector": "retail", "employees": 7.5, "interested": null}});
        let changed = expect(app.patch(&format!("/v1/people/{id}"), &tenant.token, &patch).await, StatusCode::OK).await;
        assert_eq!(changed["attributes"], json!({"sector": "retail", "employees": 7.5, "code": "AB12", "founded": "2001-02-03", "portal": "https://portal.example/x"}));
        assert_eq!(changed["version"], 2);
    }

    async fn definitions_are_checked_versioned_scoped_and_a_special_category_is_refused(app) {
        let tenant = app.new_tenant().await;
        let t = &tenant.token;
        for (body, field) in [
            (json!({"key": "health", "type": "string", "category": "user.health", "purposes": ["account"]}), "category"),
            (json!({"key": "faith", "type": "string", "category": "user.demographic.religious_belief", "purposes": ["account"]}), "category"),
            (json!({"key": "size", "type": "string", "category": "user.shoe_size", "purposes": ["account"]}), "category"),
            (json!({"key": "sector", "type": "string", "category": "user.business", "purposes": ["nothing_like_it"]}), "purposes[0]"),
            (json!({"key": "sector", "type": "number", "pattern": "^a", "category": "user.business", "purposes": ["account"]}), "pattern"),
            (json!({"key": "sector", "type": "number", "minimum": 5, "maximum": 1, "category": "user.business", "purposes": ["account"]}), "minimum"),
            (json!({"key": "sector", "type": "string", "pattern": "(", "category": "user.business", "purposes": ["account"]}), "pattern"),
            (json!({"key": "sector", "type": "enum", "category": "user.business", "purposes": ["account"]}), "values"),
            (json!({"key": "schema", "type": "string", "category": "user.business", "purposes": ["account"]}), "key"),
            (json!({"key": "Sector!", "type": "string", "category": "user.business", "purposes": ["account"]}), "key"),
        ] {
            let problem = assert_problem(app.post("/v1/attributes", t, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(fields(&problem), [field], "{body}");
        }
        let missing_category = json!({"key": "sector", "type": "string", "purposes": ["account"]});
        assert_problem(app.post("/v1/attributes", t, &missing_category).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let page = expect(app.get("/v1/attributes", t).await, StatusCode::OK).await;
        assert_eq!(page["items"], json!([]), "nothing refused was stored");

        let body = json!({"key": "sector", "type": "enum", "values": ["logistics"], "category": "user.business", "purposes": ["account"], "description": "Business sector"});
        let made = app.post("/v1/attributes", t, &body).await;
        assert_eq!(made.headers()["location"], "/v1/attributes/sector");
        let made = expect(made, StatusCode::CREATED).await;
        assert_eq!((&made["type"], &made["version"], &made["self_editable"]), (&json!("enum"), &json!(1), &json!(false)));
        assert_problem(app.post("/v1/attributes", t, &body).await, StatusCode::CONFLICT, "attribute_exists").await;
        let read = app.get("/v1/attributes/sector", t).await;
        assert_eq!(read.headers()["etag"], "\"1\"");
        let stale = app.client.patch(app.url("/v1/attributes/sector")).bearer_auth(t).header("if-match", "\"9\"").json(&json!({"self_editable": true})).send().await.unwrap();
        assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
        let special = assert_problem(app.patch("/v1/attributes/sector", t, &json!({"category": "user.health_and_medical"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(fields(&special), ["category"]);
        let changed = app.client.patch(app.url("/v1/attributes/sector")).bearer_auth(t).header("if-match", "\"1\"").json(&json!({"self_editable": true, "values": ["logistics", "retail"]})).send().await.unwrap();
        let changed = expect(changed, StatusCode::OK).await;
        assert_eq!((&changed["version"], &changed["self_editable"], &changed["values"]), (&json!(2), &json!(true), &json!(["logistics", "retail"])));

        // `people:admin`: the tenant's admin client holds it, a people client does not.
        let writer = token_of(&app, &tenant, json!({"name": "crm", "scopes": ["people:read", "people:write"]})).await;
        assert_problem(app.post("/v1/attributes", &writer, &body).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.get("/v1/attributes/sector", &writer).await, StatusCode::FORBIDDEN, "insufficient_scope").await;

        // Another tenant's attribute is not found, and not a key its people can use.
        let other = app.new_tenant().await;
        for response in [
            app.get("/v1/attributes/sector", &other.token).await,
            app.patch("/v1/attributes/sector", &other.token, &json!({"self_editable": false})).await,
            app.delete("/v1/attributes/sector", &other.token).await,
        ] {
            assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        }
        let foreign = json!({"first_name": "X", "attributes": {"sector": "logistics"}});
        let problem = assert_problem(app.post("/v1/people", &other.token, &foreign).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(fields(&problem), ["attributes.sector"]);

        // Deleting: refused while values exist, unless they go with it.
        let id = person_with(&app, &tenant, json!({"sector": "retail"})).await;
        assert_problem(app.delete("/v1/attributes/sector", t).await, StatusCode::CONFLICT, "attribute_in_use").await;
        expect(app.delete("/v1/attributes/sector?delete_values=true", t).await, StatusCode::NO_CONTENT).await;
        let person = expect(app.get(&format!("/v1/people/{id}"), t).await, StatusCode::OK).await;
        assert_eq!(person["attributes"], json!({}));
        assert_eq!(value_rows(&app, &id), 0);
        assert_problem(app.get("/v1/attributes/sector", t).await, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn a_person_edits_only_self_editable_attributes_through_me(app) {
        let tenant = app.new_tenant().await;
        define_all(&app, &tenant).await;
        let email = "self@attributes.example";
        let id = with_account(&app, &tenant, email, Some("nl")).await;
        let patch = json!({"attributes": {"employees": 5, "sector": "logistics"}});
        expect(app.patch(&format!("/v1/people/{id}"), &tenant.token, &patch).await, StatusCode::OK).await;
        let session = login(&app, &tenant, email, json!({"user_agent": BROWSER}), None).await;
        let token = session["access_token"].as_str().unwrap();

        let me = expect(app.get("/v1/me", token).await, StatusCode::OK).await;
        assert_eq!(me["attributes"], json!({"employees": 5, "sector": "logistics"}), "the person sees all their attributes");
        let mine = json!({"attributes": {"sector": "retail", "code": "XY"}});
        let me = expect(app.patch("/v1/me", token, &mine).await, StatusCode::OK).await;
        assert_eq!(me["attributes"], json!({"employees": 5, "sector": "retail", "code": "XY"}));
        let theirs = json!({"first_name": "Other", "attributes": {"employees": 6, "interested": true}});
        let problem = assert_problem(app.patch("/v1/me", token, &theirs).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(fields(&problem), ["attributes.employees", "attributes.interested"]);
        let bad = assert_problem(app.patch("/v1/me", token, &json!({"attributes": {"code": "xy"}})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(fields(&bad), ["attributes.code"]);
        let me = expect(app.get("/v1/me", token).await, StatusCode::OK).await;
        assert_eq!((&me["first_name"], &me["attributes"]), (&json!("Mira"), &json!({"employees": 5, "sector": "retail", "code": "XY"})));
    }

    async fn export_erasure_and_retention_reach_attribute_values(app) {
        let tenant = app.new_tenant().await;
        let t = &tenant.token;
        define_all(&app, &tenant).await;
        let id = person_with(&app, &tenant, valid()).await;
        let export = expect(app.get(&format!("/v1/people/{id}/export"), t).await, StatusCode::OK).await;
        let rows = export["data"]["person_attributes"].as_array().unwrap();
        assert_eq!(rows.len(), 6);
        let sector = rows.iter().find(|r| r["key"] == "sector").unwrap();
        assert_eq!((&sector["value"], &sector["category"]), (&json!("logistics"), &json!("user.business")));

        // Retention by category: `user.business` values recorded over a day ago go; the
        // `user.behavior` one and a newer person's stay.
        let newer = person_with(&app, &tenant, json!({"sector": "retail"})).await;
        {
            use kluis_store::schema::person_attributes as a;
            let mut conn = app.conn();
            let old = kluis_core::time::now() - time::Duration::days(2);
            diesel::update(a::table.filter(a::person_id.eq(&id))).set(a::created_at.eq(old)).execute(&mut *conn).unwrap();
        }
        let policy = json!({"category": "user.business", "period": "P1D", "start": "created", "action": "delete"});
        expect(app.post("/v1/retention/policies", t, &policy).await, StatusCode::CREATED).await;
        let dry = expect(app.post("/v1/retention/sweeps?dry_run=true", t, &json!({})).await, StatusCode::CREATED).await;
        assert!(dry.to_string().contains("person_attributes"), "{dry}");
        assert_eq!(value_rows(&app, &id), 6, "a dry run changes nothing");
        expect(app.post("/v1/retention/sweeps", t, &json!({})).await, StatusCode::CREATED).await;
        let person = expect(app.get(&format!("/v1/people/{id}"), t).await, StatusCode::OK).await;
        assert_eq!(person["attributes"], json!({"interested": true}), "only the user.business values went");
        let kept = expect(app.get(&format!("/v1/people/{newer}"), t).await, StatusCode::OK).await;
        assert_eq!(kept["attributes"], json!({"sector": "retail"}));

        // Erasure removes them with the person.
        let receipt = expect(app.delete(&format!("/v1/people/{newer}"), t).await, StatusCode::OK).await;
        assert!(receipt.to_string().contains("person_attributes"), "{receipt}");
        assert_eq!(value_rows(&app, &newer), 0);
        expect(app.delete(&format!("/v1/people/{id}"), t).await, StatusCode::OK).await;
        assert_eq!(value_rows(&app, &id), 0);
    }

    async fn a_retention_policy_on_a_service_category_reaches_attributes_of_it(app) {
        // The serviced-device categories belong to kluis-service, but a
        // tenant may give an attribute one of them: a policy on
        // `user.service` purges such values too.
        let tenant = app.new_tenant().await;
        let t = &tenant.token;
        define(&app, &tenant, json!({"key": "workplace", "type": "string", "category": "user.service", "purposes": ["account"]})).await;
        let id = person_with(&app, &tenant, json!({"workplace": "desk 4"})).await;
        let newer = person_with(&app, &tenant, json!({"workplace": "desk 7"})).await;
        {
            use kluis_store::schema::person_attributes as a;
            let mut conn = app.conn();
            let old = kluis_core::time::now() - time::Duration::days(2);
            diesel::update(a::table.filter(a::person_id.eq(&id))).set(a::created_at.eq(old)).execute(&mut *conn).unwrap();
        }
        let policy = json!({"category": "user.service", "period": "P1D", "start": "created", "action": "delete"});
        expect(app.post("/v1/retention/policies", t, &policy).await, StatusCode::CREATED).await;
        expect(app.post("/v1/retention/sweeps", t, &json!({})).await, StatusCode::CREATED).await;
        assert_eq!(value_rows(&app, &id), 0, "the value older than the period went");
        let kept = expect(app.get(&format!("/v1/people/{newer}"), t).await, StatusCode::OK).await;
        assert_eq!(kept["attributes"], json!({"workplace": "desk 7"}));
    }

    async fn a_purpose_bound_client_sees_an_attribute_only_when_its_purposes_cover_its_category(app) {
        let tenant = app.new_tenant().await;
        let t = &tenant.token;
        define_all(&app, &tenant).await;
        let purpose = json!({"key": "sector_mailing", "name": "Sector mailing", "description": "Mail about the sector", "legal_basis": "consent", "data_categories": ["user.business", "user.name"], "retention": "P1Y"});
        expect(app.post("/v1/purposes", t, &purpose).await, StatusCode::CREATED).await;
        let id = person_with(&app, &tenant, valid()).await;
        for key in ["sector_mailing", "marketing_email"] {
            let body = json!({"purpose": key, "action": "grant", "source": "web"});
            expect(app.post(&format!("/v1/people/{id}/consents"), t, &body).await, StatusCode::CREATED).await;
        }
        let covered = token_of(&app, &tenant, json!({"name": "sector mailer", "scopes": ["people:read"], "purposes": ["sector_mailing"]})).await;
        let seen = expect(app.get(&format!("/v1/people/{id}"), &covered).await, StatusCode::OK).await;
        assert_eq!(seen["attributes"], json!({"sector": "logistics", "employees": 42, "code": "AB12", "founded": "2001-02-03", "portal": "https://portal.example/x"}), "user.business only, not user.behavior");
        let page = expect(app.get("/v1/people", &covered).await, StatusCode::OK).await;
        assert_eq!(page["items"][0]["attributes"], seen["attributes"]);
        let mailer = token_of(&app, &tenant, json!({"name": "mailer", "scopes": ["people:read"], "purposes": ["marketing_email"]})).await;
        let seen = expect(app.get(&format!("/v1/people/{id}"), &mailer).await, StatusCode::OK).await;
        assert_eq!(seen["attributes"], json!({}), "marketing_email covers no attribute's category");
        let whole = expect(app.get(&format!("/v1/people/{id}"), t).await, StatusCode::OK).await;
        assert_eq!(whole["attributes"], valid());
    }

    async fn the_schema_and_the_register_describe_the_tenants_attributes(app) {
        let tenant = app.new_tenant().await;
        define_all(&app, &tenant).await;
        let reader = token_of(&app, &tenant, json!({"name": "frontend", "scopes": ["people:read"]})).await;
        let response = app.get("/v1/attributes/schema", &reader).await;
        assert_eq!(response.headers()["content-type"], "application/schema+json");
        let schema = expect(response, StatusCode::OK).await;
        assert_eq!((&schema["type"], &schema["additionalProperties"]), (&json!("object"), &json!(false)));
        let p = &schema["properties"];
        assert_eq!(p.as_object().unwrap().len(), 6);
        assert_eq!(p["sector"]["enum"], json!(["logistics", "retail", null]));
        assert_eq!((&p["sector"]["readOnly"], &p["employees"]["readOnly"]), (&json!(false), &json!(true)));
        assert_eq!((&p["employees"]["type"], &p["employees"]["minimum"], &p["employees"]["maximum"]), (&json!(["number", "null"]), &json!(1.0), &json!(10000.0)));
        assert_eq!((&p["code"]["pattern"], &p["code"]["minLength"], &p["code"]["maxLength"]), (&json!("^[A-Z]"), &json!(2), &json!(10)));
        assert_eq!((&p["interested"]["type"], &p["founded"]["format"], &p["portal"]["format"]), (&json!(["boolean", "null"]), &json!("date"), &json!("uri")));
        assert_eq!((&p["interested"]["x-kluis-category"], &p["sector"]["x-kluis-purposes"]), (&json!("user.behavior"), &json!(["account"])));
        let nobody = token_of(&app, &tenant, json!({"name": "audit", "scopes": ["audit:read"]})).await;
        assert_problem(app.get("/v1/attributes/schema", &nobody).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let other = app.new_tenant().await;
        let empty = expect(app.get("/v1/attributes/schema", &other.token).await, StatusCode::OK).await;
        assert_eq!(empty["properties"], json!({}), "another tenant's attributes are not in its schema");

        let register = expect(app.get("/v1/register", &tenant.token).await, StatusCode::OK).await;
        let activities = register["activities"].as_array().unwrap();
        let account = activities.iter().find(|a| a["purpose"] == "account").unwrap();
        let keys: Vec<&str> = account["attributes"].as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["code", "employees", "founded", "interested", "portal", "sector"]);
        assert!(account["attributes"].as_array().unwrap().iter().any(|a| a["key"] == "interested" && a["category"] == "user.behavior"));
        let marketing = activities.iter().find(|a| a["purpose"] == "marketing_email").unwrap();
        assert_eq!(marketing["attributes"], json!([]));
        let markdown = app.client.get(app.url("/v1/register")).bearer_auth(&tenant.token).header("accept", "text/markdown").send().await.unwrap().text().await.unwrap();
        assert!(markdown.contains("- Tenant-defined attributes:") && markdown.contains("`sector` (`user.business`)"), "{markdown}");
    }

    async fn the_first_sign_in_sets_a_missing_language_from_the_device(app) {
        let tenant = app.new_tenant().await;
        let t = &tenant.token;

        let none = with_account(&app, &tenant, "none@attributes.example", None).await;
        login(&app, &tenant, "none@attributes.example", json!({"user_agent": BROWSER, "language": "de-DE"}), None).await;
        assert_eq!(language_of(&app, t, &none).await, "de-DE");

        let header = with_account(&app, &tenant, "header@attributes.example", None).await;
        login(&app, &tenant, "header@attributes.example", json!({"user_agent": BROWSER}), Some("fr-BE,fr;q=0.9,en;q=0.5")).await;
        assert_eq!(language_of(&app, t, &header).await, "fr-BE", "the first of Accept-Language");

        let chosen = with_account(&app, &tenant, "chosen@attributes.example", Some("nl")).await;
        login(&app, &tenant, "chosen@attributes.example", json!({"user_agent": BROWSER, "language": "en-GB"}), None).await;
        assert_eq!(language_of(&app, t, &chosen).await, "nl", "a language the person has stays");

        // Cleared after the first sign-in, it stays cleared: only the first sets it.
        expect(app.patch(&format!("/v1/people/{none}"), t, &json!({"language": null})).await, StatusCode::OK).await;
        login(&app, &tenant, "none@attributes.example", json!({"user_agent": BROWSER, "language": "it-IT"}), None).await;
        assert_eq!(language_of(&app, t, &none).await, Value::Null);

        let garbage = with_account(&app, &tenant, "garbage@attributes.example", None).await;
        login(&app, &tenant, "garbage@attributes.example", json!({"user_agent": BROWSER, "language": "not a tag!"}), None).await;
        assert_eq!(language_of(&app, t, &garbage).await, Value::Null, "only a BCP 47 tag is taken");
    }
}
