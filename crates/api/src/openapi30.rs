//! The contract in OpenAPI 3.0.3, for the generators that read only 3.0
//! (Rust's progenitor, many others that are better on it): derived from the
//! 3.1 document [`crate::openapi`] builds, so the two never disagree.
//!
//! What 3.1 (JSON Schema 2020-12) says that 3.0 cannot, and how it is said:
//! - `type: [T, "null"]` becomes `type: T, nullable: true`;
//! - `oneOf`/`anyOf` with a `{"type": "null"}` branch loses that branch and
//!   becomes `nullable`; a single `$ref` left is wrapped in `allOf` (in 3.0 a
//!   `$ref`'s siblings are ignored);
//! - `$ref` with sibling keywords (a description, a default) is wrapped in
//!   `allOf` for the same reason;
//! - `examples` (a list) becomes `example` (its first), `const` a one-value
//!   `enum`, numeric `exclusiveMinimum`/`exclusiveMaximum` the 3.0 booleans;
//! - `propertyNames`, `contentMediaType` and `contentEncoding` have no 3.0
//!   form: a binary content becomes `format: binary`, and the rest is said in
//!   the description.

use serde_json::{Map, Value, json};

/// The 3.0.3 form of the 3.1 document `doc`.
pub fn from_3_1(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(root) = doc.as_object_mut() {
        root.insert("openapi".to_owned(), json!("3.0.3"));
        root.remove("jsonSchemaDialect");
        root.remove("webhooks");
        if let Some(license) = root.get_mut("info").and_then(|i| i.get_mut("license")).and_then(Value::as_object_mut)
            && let Some(identifier) = license.remove("identifier")
            && !license.contains_key("url")
            && let Some(id) = identifier.as_str()
        {
            license.insert("url".to_owned(), json!(format!("https://spdx.org/licenses/{id}.html")));
        }
    }
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for schema in schemas.values_mut() {
            convert_schema(schema);
        }
    }
    walk_non_schema(&mut doc);
    doc
}

/// Everywhere outside `components/schemas`: the `schema` members of
/// parameters, headers and media types.
fn walk_non_schema(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "schemas" {
                    continue;
                }
                if key == "schema" {
                    convert_schema(child);
                } else {
                    walk_non_schema(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk_non_schema),
        _ => {}
    }
}

fn is_null_schema(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("null") && value.as_object().is_some_and(|o| o.len() == 1)
}

/// Convert one schema and every schema inside it.
fn convert_schema(value: &mut Value) {
    let Some(map) = value.as_object_mut() else { return };

    // Children first.
    for key in ["items", "additionalProperties", "not", "propertyNames"] {
        if let Some(child) = map.get_mut(key) {
            convert_schema(child);
        }
    }
    if let Some(properties) = map.get_mut("properties").and_then(Value::as_object_mut) {
        properties.values_mut().for_each(convert_schema);
    }
    for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
        if let Some(branches) = map.get_mut(key).and_then(Value::as_array_mut) {
            branches.iter_mut().for_each(convert_schema);
        }
    }

    // `type: [T, "null"]`.
    if let Some(Value::Array(types)) = map.get("type").cloned() {
        let nullable = types.iter().any(|t| t == "null");
        let others: Vec<Value> = types.into_iter().filter(|t| t != "null").collect();
        match others.len() {
            0 => {
                map.remove("type");
            }
            1 => {
                map.insert("type".to_owned(), others[0].clone());
            }
            _ => {
                map.remove("type");
                let branches = others.into_iter().map(|t| json!({"type": t})).collect();
                map.insert("anyOf".to_owned(), Value::Array(branches));
            }
        }
        if nullable {
            map.insert("nullable".to_owned(), json!(true));
        }
    }

    // A `null` branch of oneOf/anyOf.
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(branches)) = map.get(key).cloned() else { continue };
        if !branches.iter().any(is_null_schema) {
            continue;
        }
        let rest: Vec<Value> = branches.into_iter().filter(|b| !is_null_schema(b)).collect();
        map.insert("nullable".to_owned(), json!(true));
        if rest.len() == 1 {
            map.remove(key);
            let only = rest.into_iter().next().unwrap_or(Value::Null);
            merge_single(map, only);
        } else {
            map.insert(key.to_owned(), Value::Array(rest));
        }
    }

    // Keywords 3.0 does not have.
    if let Some(Value::Array(examples)) = map.remove("examples")
        && let Some(first) = examples.into_iter().next()
    {
        map.entry("example").or_insert(first);
    }
    if let Some(constant) = map.remove("const") {
        map.insert("enum".to_owned(), json!([constant]));
    }
    for (key, flag) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(bound) = map.get(key).filter(|v| v.is_number()).cloned() {
            map.insert(flag.to_owned(), bound);
            map.insert(key.to_owned(), json!(true));
        }
    }
    if map.remove("contentEncoding").is_some() | map.remove("contentMediaType").is_some() {
        map.insert("format".to_owned(), json!("binary"));
    }
    if let Some(names) = map.remove("propertyNames") {
        let rule = match names.get("pattern").and_then(Value::as_str) {
            Some(pattern) => format!("Keys match `{pattern}`."),
            None => format!("Keys follow {names}."),
        };
        append_description(map, &rule);
    }
    map.remove("$schema");

    // A `$ref` with siblings: 3.0 ignores them, so the ref goes into allOf.
    if map.contains_key("$ref") && map.len() > 1 {
        let reference = map.remove("$ref").unwrap_or(Value::Null);
        map.insert("allOf".to_owned(), json!([{"$ref": reference}]));
    }
}

/// Fold the one branch left of a nullable oneOf/anyOf into `map`.
fn merge_single(map: &mut Map<String, Value>, only: Value) {
    match only {
        Value::Object(branch) if branch.contains_key("$ref") => {
            let mut all_of = vec![Value::Object(branch)];
            if let Some(Value::Array(existing)) = map.remove("allOf") {
                all_of.extend(existing);
            }
            map.insert("allOf".to_owned(), Value::Array(all_of));
        }
        Value::Object(branch) => {
            for (key, value) in branch {
                map.entry(key).or_insert(value);
            }
        }
        other => {
            map.insert("allOf".to_owned(), json!([other]));
        }
    }
}

fn append_description(map: &mut Map<String, Value>, text: &str) {
    let description = match map.get("description").and_then(Value::as_str) {
        Some(existing) if !existing.is_empty() => format!("{existing}\n\n{text}"),
        _ => text.to_owned(),
    };
    map.insert("description".to_owned(), json!(description));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converted(schema: Value) -> Value {
        let doc = json!({"openapi": "3.1.0", "components": {"schemas": {"S": schema}}});
        from_3_1(&doc)["components"]["schemas"]["S"].clone()
    }

    #[test]
    fn type_arrays_become_nullable() {
        assert_eq!(converted(json!({"type": ["string", "null"]})), json!({"type": "string", "nullable": true}));
        assert_eq!(
            converted(json!({"type": "object", "properties": {"a": {"type": ["integer", "null"], "minimum": 0}}})),
            json!({"type": "object", "properties": {"a": {"type": "integer", "nullable": true, "minimum": 0}}})
        );
        assert_eq!(
            converted(json!({"type": ["string", "integer"]})),
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}]})
        );
    }

    #[test]
    fn null_branches_and_refs_with_siblings() {
        assert_eq!(
            converted(json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/T"}], "description": "d"})),
            json!({"allOf": [{"$ref": "#/components/schemas/T"}], "nullable": true, "description": "d"})
        );
        assert_eq!(
            converted(json!({"$ref": "#/components/schemas/T", "description": "d"})),
            json!({"allOf": [{"$ref": "#/components/schemas/T"}], "description": "d"})
        );
        assert_eq!(converted(json!({"$ref": "#/components/schemas/T"})), json!({"$ref": "#/components/schemas/T"}));
        assert_eq!(
            converted(json!({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]})),
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": true})
        );
    }

    #[test]
    fn keywords_without_a_3_0_form() {
        assert_eq!(
            converted(json!({"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}, "description": "Labels."})),
            json!({"type": "object", "description": "Labels.\n\nKeys match `^[a-z]+$`."})
        );
        assert_eq!(converted(json!({"const": "x", "examples": ["x"]})), json!({"enum": ["x"], "example": "x"}));
        assert_eq!(
            converted(json!({"type": "number", "exclusiveMinimum": 0})),
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true})
        );
        assert_eq!(
            converted(json!({"type": "string", "contentMediaType": "application/octet-stream"})),
            json!({"type": "string", "format": "binary"})
        );
    }

    #[test]
    fn the_whole_contract_has_no_3_1_left() {
        let doc = from_3_1(&serde_json::to_value(crate::openapi()).unwrap());
        assert_eq!(doc["openapi"], "3.0.3");
        let text = doc.to_string();
        for gone in ["\"type\":[", "\"type\":\"null\"", "propertyNames", "\"examples\":[", "\"const\":"] {
            assert!(!text.contains(gone), "{gone} is left in the 3.0 document");
        }
    }
}
