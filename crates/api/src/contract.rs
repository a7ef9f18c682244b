//! Rules of the contract that a field attribute cannot carry: value sets
//! taken from the domain's own lists (country codes, data categories), and
//! rules between fields (a Dutch postal code, a transfer mechanism outside
//! the EEA) added to the document once it is assembled. Each is built from
//! the same constant the domain checks, so the two cannot drift apart.

use kluis_core::category::Category;
use kluis_core::validate::{COUNTRIES, EEA};
use serde_json::{Value, json};
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
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

/// A contact label other than a phone's: `home` is for phones only.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ContactLabel {
    /// Work.
    Work,
    /// Private.
    Private,
    /// Other.
    Other,
}

/// The period visit statistics are summed over.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Granularity {
    /// Per day (the default).
    Day,
    /// Per ISO week.
    Week,
    /// Per calendar month.
    Month,
}

/// A purpose key a client is bound to: 1 to 64 characters of a-z, 0-9 and
/// `_`, starting with a letter (schema only).
pub struct ClientPurpose;

impl PartialSchema for ClientPurpose {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[a-z][a-z0-9_]{0,63}$")).into()
    }
}

impl ToSchema for ClientPurpose {}

/// The id of one of the tenant's recipients (schema only).
pub struct RecipientId;

impl PartialSchema for RecipientId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uuid".to_owned())))
            .description(Some("The id of one of the tenant's recipients; an id naming none is refused."))
            .into()
    }
}

impl ToSchema for RecipientId {}

/// A person id: a UUID (schema only).
pub struct PersonId;

impl PartialSchema for PersonId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uuid".to_owned())))
            .description(Some("A person id (a UUID)."))
            .into()
    }
}

impl ToSchema for PersonId {}

/// An IPv4 or IPv6 address (schema only).
pub struct IpAddress;

impl PartialSchema for IpAddress {
    fn schema() -> RefOr<Schema> {
        let format = |f| ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(f)));
        AnyOfBuilder::new()
            .item(format(KnownFormat::Ipv4))
            .item(format(KnownFormat::Ipv6))
            .description(Some("An IPv4 or IPv6 address."))
            .into()
    }
}

impl ToSchema for IpAddress {}

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
    // A category or recipient named twice is refused.
    for schema in ["CreatePurpose", "UpdatePurpose"] {
        for property in ["data_categories", "recipients"] {
            unique_items(api, schema, property);
        }
    }
}

/// Mark the array property `property` of component `name` `uniqueItems`.
fn unique_items(api: &mut OpenApi, name: &str, property: &str) {
    let Some(components) = api.components.as_mut() else { return };
    let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) else { return };
    if let Some(RefOr::T(Schema::Array(array))) = object.properties.get_mut(property) {
        array.unique_items = true;
    }
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
