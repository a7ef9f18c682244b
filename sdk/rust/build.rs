//! Generate the client from the 3.0 contract into OUT_DIR/kluis.rs.
//!
//! progenitor takes one media type per request body and per response; the
//! contract offers a few alternatives (the token endpoint takes JSON or a
//! form; the register, an export and the unsubscribe page answer JSON or
//! Markdown, ZIP or HTML by `Accept`). Where an operation offers several,
//! the Rust client is given the JSON one; every operation stays in it.
//! progenitor also takes one type for all the successes of an operation
//! (and one for its errors), where a sign-in answers 200 with tokens or 202
//! with a challenge: those become one `oneOf` of the documented schemas,
//! which is what the answer is. A page answered as HTML or as 204 is read
//! as bytes either way (an empty stream for the 204).

use serde_json::Value;

const JSON: [&str; 2] = ["application/json", "application/problem+json"];

fn json_only(content: &mut Value) {
    if let Some(types) = content.as_object_mut().filter(|t| t.len() > 1 && t.keys().any(|k| JSON.contains(&k.as_str()))) {
        types.retain(|media, _| JSON.contains(&media.as_str()));
    }
}

/// The responses `which` picks, when their JSON schemas differ, all answer
/// `oneOf` those schemas; a success without a body gets `null` among them.
fn one_type(responses: &mut serde_json::Map<String, Value>, which: impl Fn(&str) -> bool) {
    let mut schemas: Vec<Value> = Vec::new();
    let mut media = None;
    for (_, response) in responses.iter().filter(|(code, _)| which(code)) {
        let Some(content) = response.get("content").and_then(Value::as_object) else { continue };
        for (kind, body) in content.iter().filter(|(kind, _)| JSON.contains(&kind.as_str())) {
            media.get_or_insert_with(|| kind.clone());
            let schema = body.get("schema").cloned().unwrap_or(Value::Null);
            if !schemas.contains(&schema) {
                schemas.push(schema);
            }
        }
    }
    let Some(media) = media.filter(|_| schemas.len() > 1) else {
        raw_or_nothing(responses, &which);
        return;
    };
    let union = serde_json::json!({ "oneOf": schemas });
    for (_, response) in responses.iter_mut().filter(|(code, _)| which(code)) {
        let content = response.as_object_mut().expect("a response").entry("content").or_insert_with(|| serde_json::json!({}));
        if let Some(types) = content.as_object_mut() {
            types.retain(|kind, _| !JSON.contains(&kind.as_str()));
            types.insert(media.clone(), serde_json::json!({ "schema": union }));
        }
    }
}

/// Responses `which` picks that mix a body that is not JSON with none: all
/// get that body's media type (bytes: empty where there was no body).
fn raw_or_nothing(responses: &mut serde_json::Map<String, Value>, which: &impl Fn(&str) -> bool) {
    let raw = responses
        .iter()
        .filter(|(code, _)| which(code))
        .find_map(|(_, r)| r.get("content").filter(|c| c.as_object().is_some_and(|c| !c.is_empty())).cloned());
    let Some(raw) = raw else { return };
    for (_, response) in responses.iter_mut().filter(|(code, _)| which(code)) {
        let object = response.as_object_mut().expect("a response");
        if object.get("content").and_then(Value::as_object).is_none_or(serde_json::Map::is_empty) {
            object.insert("content".to_owned(), raw.clone());
        }
    }
}

fn main() {
    let contract = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/openapi-3.0.json");
    println!("cargo:rerun-if-changed={contract}");
    let text = std::fs::read_to_string(contract).expect("openapi/openapi-3.0.json");
    let mut document: Value = serde_json::from_str(&text).expect("JSON");
    for operations in document["paths"].as_object_mut().expect("paths").values_mut() {
        for operation in operations.as_object_mut().expect("a path item").values_mut() {
            if let Some(body) = operation.pointer_mut("/requestBody/content") {
                json_only(body);
            }
            if let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) {
                for response in responses.values_mut() {
                    if let Some(content) = response.get_mut("content") {
                        json_only(content);
                    }
                }
                one_type(responses, |code| code.starts_with('2'));
                one_type(responses, |code| code.starts_with('4') || code.starts_with('5'));
            }
        }
    }
    let spec: openapiv3::OpenAPI = serde_json::from_value(document).expect("an OpenAPI 3.0 document");
    let mut generator = progenitor::Generator::default();
    let tokens = generator.generate_tokens(&spec).unwrap_or_else(|e| panic!("progenitor: {e}"));
    let file: syn::File = syn::parse2(tokens).expect("generated code parses");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("kluis.rs");
    std::fs::write(out, prettyplease::unparse(&file)).unwrap();
}
