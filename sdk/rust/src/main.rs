//! The SDK scenario with the Rust client progenitor generated from
//! openapi/openapi-3.0.json (build.rs): operator token -> tenant -> client
//! -> people with contacts -> a consent granted and checked -> the people
//! listed page by page with the cursor. Request bodies are the generated
//! types (built from JSON, so their own checks run); every answer is read as
//! the generated success type or the run fails.
//!
//!     kluis-sdk-scenario BASE_URL OPERATOR_FILE

#[allow(warnings, clippy::all, reason = "generated code")]
mod kluis {
    include!(concat!(env!("OUT_DIR"), "/kluis.rs"));
}

use kluis::{Client, types};
use serde_json::json;

type Failure = Box<dyn std::error::Error>;

fn body<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, Failure> {
    Ok(serde_json::from_value(value)?)
}

fn authorized(base: &str, token: &str) -> Result<Client, Failure> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    Ok(Client::new_with_client(base, reqwest::Client::builder().default_headers(headers).build()?))
}

async fn access_token(base: &str, client_id: &str, secret: &str) -> Result<String, Failure> {
    let request = body(json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}))?;
    let answer = Client::new(base).token(&request).await.map_err(|e| format!("token: {e}"))?;
    Ok(answer.into_inner().access_token)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, operator_file] = args.as_slice() else { return Err("usage: kluis-sdk-scenario BASE_URL OPERATOR_FILE".into()) };
    let operator: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(operator_file)?)?;
    let (op_id, op_secret) = (operator["client_id"].as_str().unwrap_or_default(), operator["client_secret"].as_str().unwrap_or_default());
    let op = authorized(base, &access_token(base, op_id, op_secret).await?)?;

    let slug = format!("sdk-rs-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let tenant = op.create_tenant(&body(json!({"name": "SDK Rust", "slug": slug}))?).await.map_err(|e| format!("create tenant: {e}"))?.into_inner();
    assert_eq!(tenant.slug, slug);
    let admin = authorized(base, &access_token(base, &tenant.admin_client.client_id, &tenant.admin_client.client_secret).await?)?;

    let scopes = ["people:read", "people:write", "consent:read", "consent:write"];
    let made = admin.create_client(&body(json!({"name": "back office", "scopes": scopes}))?).await.map_err(|e| format!("create client: {e}"))?.into_inner();
    let office = authorized(base, &access_token(base, &made.client_id, &made.client_secret).await?)?;

    let mut people = Vec::new();
    for n in 0..3 {
        let person = body(json!({
            "first_name": format!("Anna{n}"),
            "last_name": "de Vries",
            "emails": [{"address": format!("anna{n}@devries.example"), "label": "work"}],
            "phones": [{"number": format!("+3161234567{n}"), "label": "home"}],
            "addresses": [{"street": "Dorpsstraat", "house_number": (n + 1).to_string(), "postal_code": "1234 AB", "city": "Utrecht", "country": "NL", "label": "private"}],
        }))?;
        let person = office.create_person(&person).await.map_err(|e| format!("create person: {e}"))?.into_inner();
        assert_eq!(person.emails.first().map(|e| e.address.to_string()), Some(format!("anna{n}@devries.example")));
        people.push(person.id);
    }

    let grant = body(json!({"purpose": "marketing_email", "action": "grant", "source": "web"}))?;
    office.record_consent(&people[0], &grant).await.map_err(|e| format!("grant consent: {e}"))?;
    let purpose = body(json!("marketing_email"))?;
    for (person, expected) in [(&people[0], true), (&people[1], false)] {
        let id: uuid::Uuid = person.parse()?;
        let check = office.check_one(&id, &purpose).await.map_err(|e| format!("check consent: {e}"))?.into_inner();
        assert_eq!(check.allowed, expected, "consent check of {person}");
    }

    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<types::ListPeopleCursor>, 0);
    loop {
        let limit = std::num::NonZeroU64::new(2);
        let page = office.list_people(cursor.as_ref(), None, limit, None).await.map_err(|e| format!("list people: {e}"))?.into_inner();
        pages += 1;
        seen.extend(page.items.into_iter().map(|p| p.id));
        match page.next_cursor {
            Some(next) => cursor = Some(body(json!(next))?),
            None => break,
        }
    }
    seen.sort();
    people.sort();
    assert_eq!(seen, people);
    println!("rust: scenario passed on {base} (tenant {slug}, {} people over {pages} pages)", seen.len());
    Ok(())
}
