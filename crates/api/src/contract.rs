//! Rules of the contract that a field attribute cannot carry: value sets
//! taken from the domain's own lists (country codes, data categories), and
//! keywords added to the document once it is assembled. Each is built from
//! the same constant the domain checks, so the two cannot drift apart.

use kluis_core::category::Category;
use kluis_core::validate::COUNTRIES;
use serde::{Deserialize, Deserializer};
use serde_json::json;
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

/// The values of a person's tenant-defined attributes (schema only): the
/// tenant's own schema of them is `GET /v1/attributes/schema`.
pub struct AttributeValues;

impl PartialSchema for AttributeValues {
    fn schema() -> RefOr<Schema> {
        let value = ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::String,
                Type::Number,
                Type::Boolean,
                Type::Null,
            ]))
            .build();
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Values of the tenant-defined attributes, by key (`{\"sector\": \"logistics\"}`). Each key must be \
                 an attribute the tenant defined (`/v1/attributes`) and each value fit its type and rules \
                 (`GET /v1/attributes/schema` is the tenant's JSON Schema of this object); a broken one is 422 \
                 naming `attributes.<key>`. On a change, `null` removes a value and absent keys stay. A \
                 purpose-bound client sees only the attributes whose data category its purposes cover.",
            ))
            .property_names(Some(
                ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[a-z][a-z0-9_]{0,63}$")),
            ))
            .max_properties(Some(100))
            .additional_properties(Some(RefOr::T(Schema::Object(value))))
            .into()
    }
}

impl ToSchema for AttributeValues {}

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

/// The grants the token endpoint knows.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum GrantType {
    /// A client authenticates with its id and secret.
    ClientCredentials,
    /// A signed-in person's session goes on with its refresh token.
    RefreshToken,
}

/// An integer field: JSON Schema counts `3.0` as the integer 3, and so does
/// kluis; `3.5` is refused like any other non-integer.
pub fn integer<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(d)?;
    whole(&number).ok_or_else(|| serde::de::Error::custom(format!("invalid type: {number}, expected an integer")))
}

/// An optional integer field (see [`integer`]); `null` is absent.
pub fn option_integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(number) => whole(&number)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid type: {number}, expected an integer"))),
    }
}

/// The `i64` a JSON number stands for, if it is a whole number in range.
fn whole(number: &serde_json::Number) -> Option<i64> {
    if let Some(n) = number.as_i64() {
        return Some(n);
    }
    let f = number.as_f64()?;
    // i64::MAX is not exactly representable: 2^63 as f64 is out of range.
    let in_range = (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f);
    #[expect(clippy::cast_possible_truncation, reason = "whole and in range, checked above")]
    (f.fract() == 0.0 && in_range).then_some(f as i64)
}

/// Rules added to the assembled document: the card-number rule in the
/// descriptions, not-blank free text, and items named twice. Rules between
/// fields (a Dutch postal code in NL, a transfer mechanism outside the EEA)
/// are said in the fields' descriptions rather than as `if`/`then`: the
/// fuzzer's coverage phase takes an `else` branch's property types for the
/// property's own and calls valid bodies invalid.
pub fn add_rules(api: &mut OpenApi) {
    absent_is_not_null(api);
    person_categories(api);
    card_numbers(api);
    not_blank(api);
    // A category or recipient named twice is refused.
    for schema in ["CreatePurpose", "UpdatePurpose"] {
        for property in ["data_categories", "recipients"] {
            unique_items(api, schema, property);
        }
    }
}

/// A parameter that may be left out is left out, never sent as null (a
/// header or query value cannot be null): an `Option` parameter's schema
/// loses the `null` its Rust type gave it. (Generators read `null` beside
/// `required: false` as a second layer of absence: progenitor, for one,
/// made `Option<Option<&str>>` of `If-Match`.)
fn absent_is_not_null(api: &mut OpenApi) {
    use utoipa::openapi::Required;
    use utoipa::openapi::schema::SchemaType;
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        let parameters = operations.into_iter().flatten().flat_map(|o| o.parameters.iter_mut().flatten());
        let parameters = parameters.filter_map(|p| match p {
            RefOr::T(parameter) if matches!(parameter.required, Required::False) => Some(parameter),
            _ => None,
        });
        for parameter in parameters {
            let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut() else { continue };
            if let SchemaType::Array(types) = &schema.schema_type {
                let kept: Vec<Type> = types.iter().filter(|t| **t != Type::Null).cloned().collect();
                schema.schema_type = match kept.as_slice() {
                    [one] => SchemaType::Type(one.clone()),
                    _ => SchemaType::Array(kept),
                };
            }
        }
    }
}

/// Each person field's description names its data category, from the
/// catalogue (`Category::of_field`): what a purpose must cover for a
/// purpose-bound client to read the field.
fn person_categories(api: &mut OpenApi) {
    let Some(components) = api.components.as_mut() else { return };
    let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut("PersonView") else { return };
    for (name, property) in object.properties.iter_mut() {
        let Some(category) = Category::of_field(name) else { continue };
        let description = match property {
            RefOr::T(Schema::Object(field)) => &mut field.description,
            RefOr::T(Schema::Array(field)) => &mut field.description,
            _ => continue,
        };
        let described = description.take().unwrap_or_default();
        *description = Some(format!(
            "{described} Data category `{category}`: a purpose-bound client reads it only through a purpose that covers it."
        ));
    }
}

/// Free text, e-mail addresses and URLs never hold a payment card number:
/// a rule no JSON Schema keyword can say, so every such property's
/// description says it (free text is recognised by its pattern, which
/// refuses control characters, and by the `email` format).
fn card_numbers(api: &mut OpenApi) {
    const RULE: &str = "Never a payment card number (13 to 19 digits passing the Luhn check, \
                        together or in groups split by up to three non-alphanumeric characters).";
    // The platform's own names (tenants, API clients) hold no personal data
    // and are not searched for card numbers.
    const PLATFORM: [&str; 4] = ["CreateTenant", "UpdateTenant", "CreateClient", "UpdateClient"];
    let Some(components) = api.components.as_mut() else { return };
    for (name, schema) in components.schemas.iter_mut() {
        let RefOr::T(Schema::Object(object)) = schema else { continue };
        if PLATFORM.contains(&name.as_str()) {
            continue;
        }
        for property in object.properties.values_mut() {
            let RefOr::T(Schema::Object(field)) = property else { continue };
            let free_text =
                field.pattern.as_deref().is_some_and(|p| p.contains("\\u007f-\\u009f") || p.starts_with("^[Hh][Tt]"));
            let email = matches!(&field.format, Some(SchemaFormat::KnownFormat(KnownFormat::Email)));
            if free_text || email {
                let described = field.description.take().unwrap_or_default();
                field.description =
                    Some(if described.is_empty() { RULE.to_owned() } else { format!("{described} {RULE}") });
            }
        }
    }
}

/// Free text refuses control characters (its pattern) and must not be
/// blank: the `not` below says "not only whitespace" (Rust's
/// `char::is_whitespace`, what the domain trims; `type` keeps `null`
/// valid where a field is nullable). Two keywords rather than
/// one pattern, which generators turn into long strings slowly.
fn not_blank(api: &mut OpenApi) {
    const FREE_TEXT: [&str; 2] =
        ["^[^\\u0000-\\u001f\\u007f-\\u009f]*$", "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"];
    const BLANK: &str =
        "^[\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$";
    let Some(components) = api.components.as_mut() else { return };
    for schema in components.schemas.values_mut() {
        let RefOr::T(Schema::Object(object)) = schema else { continue };
        for property in object.properties.values_mut() {
            let RefOr::T(Schema::Object(field)) = property else { continue };
            if field.pattern.as_deref().is_some_and(|p| FREE_TEXT.contains(&p)) {
                field
                    .extensions
                    .get_or_insert_with(Default::default)
                    .insert("not".to_owned(), json!({"type": "string", "pattern": BLANK}));
            }
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
