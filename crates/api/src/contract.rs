//! Rules of the contract that a field attribute cannot carry: value sets
//! taken from the domain's own lists (country codes, data categories), and
//! rules between fields (a Dutch postal code, a transfer mechanism outside
//! the EEA) added to the document once it is assembled. Each is built from
//! the same constant the domain checks, so the two cannot drift apart.

use kluis_core::category::Category;
use kluis_core::validate::{COUNTRIES, EEA};
use serde_json::{Value, json};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{OpenApi, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// An officially assigned ISO 3166-1 alpha-2 country code, uppercase
/// (schema only: the wire form is the string).
pub struct CountryCode;

impl PartialSchema for CountryCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An officially assigned ISO 3166-1 alpha-2 country code, uppercase, e.g. `NL`."))
            .enum_values(Some(COUNTRIES))
            .into()
    }
}

impl ToSchema for CountryCode {}

/// A category of the data catalogue (schema only: the wire form is the
/// string). Special categories of personal data (Art. 9/10 GDPR) are not in
/// the catalogue, so they are refused.
pub struct DataCategory;

impl PartialSchema for DataCategory {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A category of the data catalogue, e.g. `user.contact.email`."))
            .enum_values(Some(Category::ALL.map(Category::as_str)))
            .into()
    }
}

impl ToSchema for DataCategory {}

/// A Dutch postal code: four digits (the first not 0), an optional space,
/// two letters other than SA, SD or SS, in any case.
pub const DUTCH_POSTAL_CODE: &str = "^[1-9][0-9]{3} ?(?:[A-RT-Za-rt-z][A-Za-z]|[Ss][BCE-RT-Zbce-rt-z])$";

/// Rules between fields, as JSON Schema `if`/`then`/`else` on the
/// assembled document's components.
pub fn add_rules(api: &mut OpenApi) {
    // An address in the Netherlands has a Dutch postal code (or none).
    let dutch = json!({
        "if": {"properties": {"country": {"const": "NL"}}, "required": ["country"]},
        "then": {"properties": {"postal_code": {"anyOf": [{"type": "null"}, {"type": "string", "pattern": DUTCH_POSTAL_CODE}]}}}
    });
    // A recipient outside the EEA names its transfer mechanism.
    let transfer = json!({
        "if": {"properties": {"country": {"enum": EEA}}, "required": ["country"]},
        "else": {"required": ["transfer_mechanism"], "properties": {"transfer_mechanism": {"type": "string"}}}
    });
    extend(api, "NewAddress", dutch);
    extend(api, "CreateRecipient", transfer);
}

/// Add `rules` (keywords) to the component schema `name`.
fn extend(api: &mut OpenApi, name: &str, rules: Value) {
    let Some(components) = api.components.as_mut() else { return };
    let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) else { return };
    let extensions = object.extensions.get_or_insert_with(Default::default);
    if let Value::Object(map) = rules {
        for (key, value) in map {
            extensions.insert(key, value);
        }
    }
}
