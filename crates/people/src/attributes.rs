//! Tenant-defined attributes (like Kratos traits or Keycloak's user
//! profile, with privacy built in): a tenant defines a key, its type and
//! validation, whether a person may edit it themselves, and, required, the
//! catalogue category it belongs to and the purposes it serves. Values live
//! with the person (`person_attributes`, one row per person and key, the
//! value as JSON text), are checked by type on every write, exported,
//! erased and purged with the person's other data of their category.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use kluis_core::category::{Category, is_special};
use kluis_core::page::Page;
use kluis_core::validate as v;
use kluis_core::{DomainError, FieldError, PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::{StoreResultExt, TxError, is_unique_violation};
use kluis_store::personal::Purge;
use kluis_store::schema::{attribute_definitions as d, person_attributes as a};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::PrimitiveDateTime;

/// Longest string or URL value, and the ceiling of `max_length`.
pub const MAX_VALUE_LENGTH: u32 = 2000;
/// Longest description of a definition.
const MAX_DESCRIPTION: usize = 500;
/// Longest pattern.
const MAX_PATTERN: usize = 500;
/// Most values of an enum.
const MAX_VALUES: usize = 100;
/// Most purposes of a definition.
const MAX_PURPOSES: usize = 20;
/// A key the routes use themselves (`/v1/attributes/schema`).
const RESERVED: [&str; 1] = ["schema"];

/// The type of an attribute's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeType {
    /// Free text (length and pattern rules).
    String,
    /// One of a list of values.
    Enum,
    /// A number (range rules).
    Number,
    /// True or false.
    Boolean,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// An http(s) URL.
    Url,
}

impl AttributeType {
    /// Every type.
    pub const ALL: [AttributeType; 6] = [
        AttributeType::String,
        AttributeType::Enum,
        AttributeType::Number,
        AttributeType::Boolean,
        AttributeType::Date,
        AttributeType::Url,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "string",
            AttributeType::Enum => "enum",
            AttributeType::Number => "number",
            AttributeType::Boolean => "boolean",
            AttributeType::Date => "date",
            AttributeType::Url => "url",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<AttributeType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Validation rules of a definition; which apply depends on its type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    /// Shortest string (characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Longest string or URL (characters); at most 2000, the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Smallest number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    /// Largest number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    /// A regular expression a string must match (unanchored, as in JSON Schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The values of an enum.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A tenant's attribute definition.
#[derive(Clone, Debug)]
pub struct Definition {
    /// Key, unique in the tenant (`sector`).
    pub key: String,
    /// The type of its values.
    pub value_type: AttributeType,
    /// What it is, for the form and the register.
    pub description: Option<String>,
    /// Its data category from the catalogue.
    pub category: Category,
    /// The purposes it serves (keys of the tenant's purposes).
    pub purposes: Vec<String>,
    /// Validation.
    pub rules: Rules,
    /// Whether a person may set it themselves (`PATCH /v1/me`).
    pub self_editable: bool,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Created.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

/// A definition to create.
#[derive(Clone, Debug)]
pub struct NewDefinition {
    /// Key.
    pub key: String,
    /// Type.
    pub value_type: AttributeType,
    /// Description.
    pub description: Option<String>,
    /// Category name from the catalogue.
    pub category: String,
    /// Purpose keys.
    pub purposes: Vec<String>,
    /// Validation.
    pub rules: Rules,
    /// Self-editable.
    pub self_editable: bool,
}

/// A change to a definition; `None` leaves a field, `Some(None)` clears a
/// rule. The key and the type never change (values were checked against them).
#[derive(Clone, Debug, Default)]
pub struct DefinitionPatch {
    /// Description.
    pub description: Option<Option<String>>,
    /// Category name.
    pub category: Option<String>,
    /// Purpose keys (replace the old ones).
    pub purposes: Option<Vec<String>>,
    /// Shortest string.
    pub min_length: Option<Option<u32>>,
    /// Longest string or URL.
    pub max_length: Option<Option<u32>>,
    /// Smallest number.
    pub minimum: Option<Option<f64>>,
    /// Largest number.
    pub maximum: Option<Option<f64>>,
    /// Pattern.
    pub pattern: Option<Option<String>>,
    /// Enum values (replace the old ones).
    pub values: Option<Vec<String>>,
    /// Self-editable.
    pub self_editable: Option<bool>,
}

/// One stored value of a person, with what reading it depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct AttributeValue {
    /// The attribute's key.
    pub key: String,
    /// The value, as JSON.
    pub value: Value,
    /// The attribute's data category (what a purpose must cover to read it).
    pub category: Category,
    /// Recorded first.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = d)]
struct DefinitionRow {
    key: String,
    value_type: String,
    description: Option<String>,
    category: String,
    purposes: String,
    rules: String,
    self_editable: bool,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

fn internal(e: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(e.to_string())
}

impl DefinitionRow {
    fn into_definition(self) -> Result<Definition> {
        Ok(Definition {
            value_type: AttributeType::parse(&self.value_type)
                .ok_or_else(|| internal(format!("unknown attribute type {}", self.value_type)))?,
            category: self.category.parse().map_err(internal)?,
            purposes: serde_json::from_str(&self.purposes).map_err(internal)?,
            rules: serde_json::from_str(&self.rules).map_err(internal)?,
            key: self.key,
            description: self.description,
            self_editable: self.self_editable,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Errors collected while checking a definition or values.
#[derive(Debug, Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
}

/// A key: 1 to 64 characters of a-z, 0-9 and _, starting with a letter.
fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && key.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Text of a definition (description, enum values): 1 to `max` characters,
/// no control characters, never a payment card number.
fn text(errors: &mut Errors, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.fail(field, "must not be empty");
    } else if value.chars().count() > max {
        errors.fail(field, format!("must be at most {max} characters"));
    } else if value.chars().any(char::is_control) {
        errors.fail(field, "must not contain control characters");
    } else if v::contains_card_number(value) {
        errors.fail(field, "looks like a payment card number, which kluis never stores");
    }
}

fn category(errors: &mut Errors, name: &str) -> Option<Category> {
    if is_special(name) {
        errors.fail(
            "category",
            format!("`{name}` is a special category of personal data (Art. 9/10 GDPR), which kluis never processes"),
        );
        return None;
    }
    match name.parse::<Category>() {
        Ok(category) => Some(category),
        Err(_) => {
            let known: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
            errors.fail("category", format!("unknown data category; known: {}", known.join(", ")));
            None
        }
    }
}

/// Purpose keys: 1 to 20, none twice, each one of the tenant's (`unknown`
/// holds the indexes the caller found absent).
fn purposes(errors: &mut Errors, keys: &[String], unknown: &[usize]) {
    if keys.is_empty() {
        errors.fail("purposes", "must name at least one purpose the attribute serves");
    } else if keys.len() > MAX_PURPOSES {
        errors.fail("purposes", format!("at most {MAX_PURPOSES}"));
    }
    for (i, key) in keys.iter().enumerate() {
        if keys[..i].contains(key) {
            errors.fail(format!("purposes[{i}]"), "named twice");
        } else if unknown.contains(&i) {
            errors.fail(format!("purposes[{i}]"), "not a purpose of the tenant");
        }
    }
}

/// Compile a pattern with a bounded size (a pattern is the tenant's input).
fn compile(pattern: &str) -> std::result::Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).size_limit(1 << 20).dfa_size_limit(1 << 20).build()
}

/// The rules fit the type: only the ones that apply, in range, consistent.
fn rules(errors: &mut Errors, value_type: AttributeType, rules: &Rules) {
    use AttributeType as T;
    let allowed: &[&str] = match value_type {
        T::String => &["min_length", "max_length", "pattern"],
        T::Url => &["max_length"],
        T::Number => &["minimum", "maximum"],
        T::Enum => &["values"],
        T::Boolean | T::Date => &[],
    };
    let given = [
        ("min_length", rules.min_length.is_some()),
        ("max_length", rules.max_length.is_some()),
        ("minimum", rules.minimum.is_some()),
        ("maximum", rules.maximum.is_some()),
        ("pattern", rules.pattern.is_some()),
        ("values", !rules.values.is_empty()),
    ];
    for (name, present) in given {
        if present && !allowed.contains(&name) {
            errors.fail(name, format!("does not apply to type {}", value_type.as_str()));
        }
    }
    if let Some(max) = rules.max_length
        && !(1..=MAX_VALUE_LENGTH).contains(&max)
    {
        errors.fail("max_length", format!("must be 1 to {MAX_VALUE_LENGTH}"));
    }
    if let Some(min) = rules.min_length {
        if min > MAX_VALUE_LENGTH {
            errors.fail("min_length", format!("must be at most {MAX_VALUE_LENGTH}"));
        } else if rules.max_length.is_some_and(|max| min > max) {
            errors.fail("min_length", "must not be more than max_length");
        }
    }
    for (name, bound) in [("minimum", rules.minimum), ("maximum", rules.maximum)] {
        if bound.is_some_and(|b| !b.is_finite()) {
            errors.fail(name, "must be a finite number");
        }
    }
    if let (Some(min), Some(max)) = (rules.minimum, rules.maximum)
        && min > max
    {
        errors.fail("minimum", "must not be more than maximum");
    }
    if let Some(pattern) = &rules.pattern {
        if pattern.is_empty() || pattern.chars().count() > MAX_PATTERN {
            errors.fail("pattern", format!("must be 1 to {MAX_PATTERN} characters"));
        } else if compile(pattern).is_err() {
            errors.fail("pattern", "must be a valid regular expression");
        }
    }
    if value_type == T::Enum {
        if rules.values.is_empty() {
            errors.fail("values", "an enum needs at least one value");
        } else if rules.values.len() > MAX_VALUES {
            errors.fail("values", format!("at most {MAX_VALUES}"));
        }
        for (i, value) in rules.values.iter().enumerate() {
            let field = format!("values[{i}]");
            if rules.values[..i].contains(value) {
                errors.fail(field, "named twice");
            } else {
                text(errors, &field, value, 200);
            }
        }
    }
}

fn check_definition(
    errors: &mut Errors,
    value_type: AttributeType,
    description: Option<&str>,
    purpose_keys: &[String],
    unknown: &[usize],
    checked: &Rules,
) {
    if let Some(description) = description {
        text(errors, "description", description, MAX_DESCRIPTION);
    }
    purposes(errors, purpose_keys, unknown);
    rules(errors, value_type, checked);
}

fn conflict_or(e: diesel::result::Error) -> TxError {
    if is_unique_violation(&e) {
        TxError(DomainError::Conflict {
            code: "attribute_exists",
            message: "the tenant already has an attribute with this key".into(),
        })
    } else {
        TxError::from(e)
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(internal)
}

/// Create a definition (in the caller's transaction); `unknown_purposes`
/// are the indexes of `new.purposes` the tenant does not have. Nothing is
/// stored when any field breaks a rule, and every broken field is named.
pub fn create(conn: &mut Db, tenant: &TenantId, new: &NewDefinition, unknown_purposes: &[usize]) -> Result<Definition> {
    let mut errors = Errors::default();
    if !is_key(&new.key) {
        errors.fail("key", "must be 1 to 64 characters of a-z, 0-9 and _, starting with a letter");
    } else if RESERVED.contains(&new.key.as_str()) {
        errors.fail("key", "is reserved");
    }
    let category = category(&mut errors, &new.category);
    let description = new.description.as_deref().map(str::trim);
    check_definition(&mut errors, new.value_type, description, &new.purposes, unknown_purposes, &new.rules);
    let Some(category) = category.filter(|_| errors.0.is_empty()) else {
        return Err(DomainError::Validation(errors.0));
    };
    let now = kluis_core::time::now();
    diesel::insert_into(d::table)
        .values((
            d::tenant_id.eq(tenant.as_str()),
            d::key.eq(&new.key),
            d::value_type.eq(new.value_type.as_str()),
            d::description.eq(description),
            d::category.eq(category.as_str()),
            d::purposes.eq(to_json(&new.purposes)?),
            d::rules.eq(to_json(&new.rules)?),
            d::self_editable.eq(new.self_editable),
            d::version.eq(1i64),
            d::created_at.eq(now),
            d::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(conflict_or)
        .map_err(DomainError::from)?;
    get(conn, tenant, &new.key)
}

/// One definition by key; another tenant's is `NotFound`.
pub fn get(conn: &mut Db, tenant: &TenantId, key: &str) -> Result<Definition> {
    d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .filter(d::key.eq(key))
        .select(DefinitionRow::as_select())
        .first(conn)
        .optional()
        .domain()?
        .ok_or(DomainError::NotFound)?
        .into_definition()
}

/// The tenant's definitions by key, `limit` at a time after the key `after`.
pub fn list(conn: &mut Db, tenant: &TenantId, limit: i64, after: Option<&str>) -> Result<Page<Definition>> {
    let mut query = d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .select(DefinitionRow::as_select())
        .order(d::key.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(d::key.gt(after.to_owned()));
    }
    let rows = query.load(conn).domain()?;
    let page = Page::from_rows(rows, limit, |r| r.key.clone());
    let items = page.items.into_iter().map(DefinitionRow::into_definition).collect::<Result<_>>()?;
    Ok(Page { items, next_cursor: page.next_cursor })
}

/// Every definition of the tenant, by key (a tenant has few).
pub fn all(conn: &mut Db, tenant: &TenantId) -> Result<Vec<Definition>> {
    d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .select(DefinitionRow::as_select())
        .order(d::key.asc())
        .load(conn)
        .domain()?
        .into_iter()
        .map(DefinitionRow::into_definition)
        .collect()
}

/// Change a definition (in the caller's transaction); with `if_version`,
/// only when it is still that version. Values stored before stay as they
/// are (rules are checked on write).
pub fn update(
    conn: &mut Db,
    tenant: &TenantId,
    key: &str,
    if_version: Option<i64>,
    patch: &DefinitionPatch,
    unknown_purposes: &[usize],
) -> Result<Definition> {
    let current = get(conn, tenant, key)?;
    if if_version.is_some_and(|v| v != current.version) {
        return Err(DomainError::VersionMismatch);
    }
    let mut errors = Errors::default();
    let category = match &patch.category {
        Some(name) => category(&mut errors, name),
        None => Some(current.category),
    };
    let r = &current.rules;
    let new_rules = Rules {
        min_length: pick(&patch.min_length, &r.min_length),
        max_length: pick(&patch.max_length, &r.max_length),
        minimum: pick(&patch.minimum, &r.minimum),
        maximum: pick(&patch.maximum, &r.maximum),
        pattern: pick(&patch.pattern, &r.pattern),
        values: patch.values.clone().unwrap_or_else(|| r.values.clone()),
    };
    let description = pick(&patch.description, &current.description).map(|d| d.trim().to_owned());
    let purpose_keys = patch.purposes.clone().unwrap_or_else(|| current.purposes.clone());
    // Indexes name the patch's list; the current one was checked when set.
    let unknown = if patch.purposes.is_some() { unknown_purposes } else { &[] };
    check_definition(&mut errors, current.value_type, description.as_deref(), &purpose_keys, unknown, &new_rules);
    let Some(category) = category.filter(|_| errors.0.is_empty()) else {
        return Err(DomainError::Validation(errors.0));
    };
    diesel::update(d::table.filter(d::tenant_id.eq(tenant.as_str())).filter(d::key.eq(key)))
        .set((
            d::description.eq(&description),
            d::category.eq(category.as_str()),
            d::purposes.eq(to_json(&purpose_keys)?),
            d::rules.eq(to_json(&new_rules)?),
            d::self_editable.eq(patch.self_editable.unwrap_or(current.self_editable)),
            d::version.eq(current.version + 1),
            d::updated_at.eq(kluis_core::time::now()),
        ))
        .execute(conn)
        .domain()?;
    get(conn, tenant, key)
}

/// Delete a definition (in the caller's transaction); with `if_version`,
/// only at that version. While people hold a value for it, it stays (409
/// `attribute_in_use`) unless `with_values`, which deletes those values
/// with it; returns how many values went.
pub fn delete(conn: &mut Db, tenant: &TenantId, key: &str, if_version: Option<i64>, with_values: bool) -> Result<u64> {
    let current = get(conn, tenant, key)?;
    if if_version.is_some_and(|v| v != current.version) {
        return Err(DomainError::VersionMismatch);
    }
    let values = a::table.filter(a::tenant_id.eq(tenant.as_str())).filter(a::key.eq(key));
    let held: i64 = values.count().get_result(conn).domain()?;
    if held > 0 && !with_values {
        return Err(DomainError::Conflict {
            code: "attribute_in_use",
            message: format!(
                "{held} people hold a value of this attribute; delete with `?delete_values=true` to erase them too"
            ),
        });
    }
    let removed = diesel::delete(values).execute(conn).domain()?;
    diesel::delete(d::table.filter(d::tenant_id.eq(tenant.as_str())).filter(d::key.eq(key))).execute(conn).domain()?;
    Ok(removed as u64)
}

/// The new value of a nullable field: the patch's when given, else the old.
fn pick<T: Clone>(patch: &Option<Option<T>>, old: &Option<T>) -> Option<T> {
    match patch {
        Some(new) => new.clone(),
        None => old.clone(),
    }
}

/// Check one value against its definition; the value to store, or why not.
pub fn check_value(def: &Definition, value: &Value) -> std::result::Result<Value, String> {
    use AttributeType as T;
    let rules = &def.rules;
    let string = |value: &Value| value.as_str().map(str::trim).map(str::to_owned);
    match def.value_type {
        T::String => {
            let Some(s) = string(value) else { return Err("must be a string".into()) };
            let length = u32::try_from(s.chars().count()).unwrap_or(u32::MAX);
            let max = rules.max_length.unwrap_or(MAX_VALUE_LENGTH);
            if s.is_empty() {
                return Err("must not be empty; send null to clear it".into());
            } else if length > max {
                return Err(format!("must be at most {max} characters"));
            } else if rules.min_length.is_some_and(|min| length < min) {
                return Err(format!("must be at least {} characters", rules.min_length.unwrap_or_default()));
            } else if s.chars().any(char::is_control) {
                return Err("must not contain control characters".into());
            } else if v::contains_card_number(&s) {
                return Err("looks like a payment card number, which kluis never stores".into());
            }
            if let Some(pattern) = &rules.pattern
                && !compile(pattern).map_err(internal_message)?.is_match(&s)
            {
                return Err(format!("must match the pattern {pattern}"));
            }
            Ok(Value::String(s))
        }
        T::Enum => match value.as_str() {
            Some(s) if rules.values.iter().any(|v| v == s) => Ok(Value::String(s.to_owned())),
            _ => Err(format!("must be one of: {}", rules.values.join(", "))),
        },
        T::Number => {
            let Some(n) = value.as_f64().filter(|n| n.is_finite()) else { return Err("must be a number".into()) };
            if let Some(min) = rules.minimum
                && n < min
            {
                return Err(format!("must be at least {min}"));
            }
            if let Some(max) = rules.maximum
                && n > max
            {
                return Err(format!("must be at most {max}"));
            }
            Ok(value.clone())
        }
        T::Boolean => value.as_bool().map(Value::Bool).ok_or_else(|| "must be true or false".into()),
        T::Date => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            match string(value) {
                Some(s) if s.len() == 10 && time::Date::parse(&s, format).is_ok() => Ok(Value::String(s)),
                _ => Err("must be a date YYYY-MM-DD".into()),
            }
        }
        T::Url => {
            let Some(s) = string(value) else { return Err("must be an http or https URL".into()) };
            let max = rules.max_length.unwrap_or(MAX_VALUE_LENGTH);
            if !v::is_http_url(&s) {
                Err("must be an http or https URL".into())
            } else if s.chars().count() > usize::try_from(max).unwrap_or(usize::MAX) {
                Err(format!("must be at most {max} characters"))
            } else if v::contains_card_number(&s) {
                Err("looks like a payment card number, which kluis never stores".into())
            } else {
                Ok(Value::String(s))
            }
        }
    }
}

fn internal_message(e: regex::Error) -> String {
    format!("the attribute's pattern no longer compiles: {e}")
}

/// Who writes values: the person themselves may set only self-editable ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// A client or staff member (`people:write`).
    Staff,
    /// The person, through `/v1/me`.
    Person,
}

/// Checked changes to a person's values: key to the value to store, or
/// `None` to remove it.
pub type Changes = BTreeMap<String, Option<Value>>;

/// Check `changes` against the tenant's definitions; each broken one is
/// named `attributes.<key>` in `errors`.
pub fn check(
    conn: &mut Db,
    tenant: &TenantId,
    changes: &BTreeMap<String, Option<Value>>,
    writer: Writer,
    errors: &mut Vec<FieldError>,
) -> Result<Changes> {
    if changes.is_empty() {
        return Ok(Changes::new());
    }
    let definitions: HashMap<String, Definition> =
        all(conn, tenant)?.into_iter().map(|def| (def.key.clone(), def)).collect();
    let mut checked = Changes::new();
    for (key, value) in changes {
        let field = format!("attributes.{key}");
        let Some(def) = definitions.get(key) else {
            errors.push(FieldError::new(field, "not an attribute the tenant defined"));
            continue;
        };
        if writer == Writer::Person && !def.self_editable {
            errors.push(FieldError::new(field, "is not editable by the person themselves"));
            continue;
        }
        match value.as_ref().filter(|v| !v.is_null()) {
            None => {
                checked.insert(key.clone(), None);
            }
            Some(value) => match check_value(def, value) {
                Ok(value) => {
                    checked.insert(key.clone(), Some(value));
                }
                Err(message) => errors.push(FieldError::new(field, message)),
            },
        }
    }
    Ok(checked)
}

/// Write checked changes (in the caller's transaction); true when any row changed.
pub fn write(conn: &mut Db, tenant: &TenantId, person: &PersonId, changes: &Changes) -> Result<bool, TxError> {
    let now = kluis_core::time::now();
    let mut changed = false;
    for (key, value) in changes {
        let row = a::table
            .filter(a::tenant_id.eq(tenant.as_str()))
            .filter(a::person_id.eq(person.as_str()))
            .filter(a::key.eq(key));
        let stored: Option<String> = row.select(a::value).first(conn).optional()?;
        match (value, stored) {
            (None, None) => {}
            (None, Some(_)) => {
                diesel::delete(row).execute(conn)?;
                changed = true;
            }
            (Some(value), stored) => {
                let text = to_json(value)?;
                if stored.as_deref() == Some(text.as_str()) {
                    continue;
                }
                if stored.is_some() {
                    diesel::update(row).set((a::value.eq(&text), a::updated_at.eq(now))).execute(conn)?;
                } else {
                    diesel::insert_into(a::table)
                        .values((
                            a::tenant_id.eq(tenant.as_str()),
                            a::person_id.eq(person.as_str()),
                            a::key.eq(key),
                            a::value.eq(&text),
                            a::created_at.eq(now),
                            a::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                }
                changed = true;
            }
        }
    }
    Ok(changed)
}

/// The values of the given persons, by person, each list by key.
pub fn of_persons(
    conn: &mut Db,
    tenant: &TenantId,
    persons: &[String],
) -> Result<HashMap<String, Vec<AttributeValue>>> {
    let rows: Vec<(String, String, String, PrimitiveDateTime, PrimitiveDateTime)> = a::table
        .filter(a::tenant_id.eq(tenant.as_str()))
        .filter(a::person_id.eq_any(persons))
        .order((a::person_id.asc(), a::key.asc()))
        .select((a::person_id, a::key, a::value, a::created_at, a::updated_at))
        .load(conn)
        .domain()?;
    let mut out: HashMap<String, Vec<AttributeValue>> = HashMap::new();
    if rows.is_empty() {
        return Ok(out);
    }
    let categories: HashMap<String, Category> =
        all(conn, tenant)?.into_iter().map(|def| (def.key, def.category)).collect();
    for (person, key, value, created_at, updated_at) in rows {
        let category = *categories.get(&key).ok_or_else(|| internal(format!("value without definition {key}")))?;
        let value = serde_json::from_str(&value).map_err(internal)?;
        out.entry(person).or_default().push(AttributeValue { key, value, category, created_at, updated_at });
    }
    Ok(out)
}

/// The values as one JSON object, key to value.
pub fn object(values: &[AttributeValue]) -> Map<String, Value> {
    values.iter().map(|v| (v.key.clone(), v.value.clone())).collect()
}

/// Every value of the person removed (Art. 17); rows removed.
pub(crate) fn erase_all(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(a::table.filter(a::tenant_id.eq(tenant.as_str())).filter(a::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// The export rows of a person's values.
pub(crate) fn export_rows(values: &[AttributeValue], time: impl Fn(PrimitiveDateTime) -> Value) -> Vec<Value> {
    values
        .iter()
        .map(|v| {
            json!({
                "key": v.key, "value": v.value, "category": v.category.as_str(),
                "created_at": time(v.created_at), "updated_at": time(v.updated_at),
            })
        })
        .collect()
}

/// The people holding a value of an attribute of `category`, by id.
pub(crate) fn holding(conn: &mut Db, tenant: &TenantId, category: Category) -> Result<Vec<String>> {
    let keys = keys_of(conn, tenant, category)?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    a::table
        .filter(a::tenant_id.eq(tenant.as_str()))
        .filter(a::key.eq_any(&keys))
        .select(a::person_id)
        .distinct()
        .order(a::person_id.asc())
        .load(conn)
        .domain()
}

fn keys_of(conn: &mut Db, tenant: &TenantId, category: Category) -> Result<Vec<String>> {
    d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .filter(d::category.eq(category.as_str()))
        .select(d::key)
        .load(conn)
        .domain()
}

/// Retention: the values of attributes of `purge.category` that are due go
/// (deleting and anonymising are the same: a value cleared keeps nothing).
/// "Created" is when the value was first recorded; a value has no activity
/// of its own, so it goes by its person's when idleness is asked.
pub(crate) fn purge(conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<u64> {
    if purge.due.idle_before().is_some() || purge.due.is_unbounded() {
        return Ok(0);
    }
    let keys = keys_of(conn, tenant, purge.category)?;
    if keys.is_empty() {
        return Ok(0);
    }
    let persons: Option<Vec<&str>> = purge.due.persons.map(|p| p.iter().map(PersonId::as_str).collect());
    let skip: Vec<&str> = purge.skip.iter().map(PersonId::as_str).collect();
    let due = || {
        let mut query = a::table.filter(a::tenant_id.eq(tenant.as_str())).filter(a::key.eq_any(&keys)).into_boxed();
        if let Some(at) = purge.due.created_before {
            query = query.filter(a::created_at.lt(at));
        }
        if let Some(persons) = &persons {
            query = query.filter(a::person_id.eq_any(persons));
        }
        if !skip.is_empty() {
            query = query.filter(a::person_id.ne_all(&skip));
        }
        query
    };
    if purge.dry_run {
        let n: i64 = due().count().get_result(conn).domain()?;
        return Ok(n.unsigned_abs());
    }
    let rows: Vec<(String, String)> =
        due().select((a::person_id, a::key)).limit(purge.limit_i64()).load(conn).domain()?;
    let mut n = 0;
    for (person, key) in rows {
        n += diesel::delete(
            a::table.filter(a::tenant_id.eq(tenant.as_str())).filter(a::person_id.eq(person)).filter(a::key.eq(key)),
        )
        .execute(conn)
        .domain()?;
    }
    Ok(n as u64)
}

/// The tenant's attributes as a JSON Schema (2020-12) of the `attributes`
/// object, for a frontend to build its form: each property with its type
/// and rules, `readOnly` when a person may not edit it themselves, and the
/// data category and purposes under `x-kluis-*`.
pub fn json_schema(definitions: &[Definition]) -> Value {
    let mut properties = Map::new();
    for def in definitions {
        let r = &def.rules;
        let mut p = Map::new();
        let mut put = |name: &str, value: Value| {
            p.insert(name.to_owned(), value);
        };
        match def.value_type {
            AttributeType::String => {
                put("type", json!("string"));
                put("minLength", json!(r.min_length.unwrap_or(1)));
                put("maxLength", json!(r.max_length.unwrap_or(MAX_VALUE_LENGTH)));
                if let Some(pattern) = &r.pattern {
                    put("pattern", json!(pattern));
                }
            }
            AttributeType::Enum => {
                put("type", json!("string"));
                let mut values: Vec<Value> = r.values.iter().map(|v| json!(v)).collect();
                values.push(Value::Null);
                put("enum", Value::Array(values));
            }
            AttributeType::Number => {
                put("type", json!("number"));
                if let Some(min) = r.minimum {
                    put("minimum", json!(min));
                }
                if let Some(max) = r.maximum {
                    put("maximum", json!(max));
                }
            }
            AttributeType::Boolean => put("type", json!("boolean")),
            AttributeType::Date => {
                put("type", json!("string"));
                put("format", json!("date"));
            }
            AttributeType::Url => {
                put("type", json!("string"));
                put("format", json!("uri"));
                put("pattern", json!("^[Hh][Tt][Tt][Pp][Ss]?://"));
                put("maxLength", json!(r.max_length.unwrap_or(MAX_VALUE_LENGTH)));
            }
        }
        if let Some(description) = &def.description {
            put("description", json!(description));
        }
        put("readOnly", json!(!def.self_editable));
        put("x-kluis-type", json!(def.value_type.as_str()));
        put("x-kluis-category", json!(def.category.as_str()));
        put("x-kluis-purposes", json!(def.purposes));
        // A null clears a value on PATCH: the type says so.
        if let Some(Value::String(kind)) = p.get("type").cloned() {
            p.insert("type".into(), json!([kind, "null"]));
        }
        properties.insert(def.key.clone(), Value::Object(p));
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "attributes",
        "description": "The tenant-defined attributes of a person (`attributes` on /v1/people and /v1/me).",
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(value_type: AttributeType, rules: Rules) -> Definition {
        let now = kluis_core::time::now();
        Definition {
            key: "k".into(),
            value_type,
            description: None,
            category: Category::Business,
            purposes: vec!["account".into()],
            rules,
            self_editable: false,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn values_are_checked_by_type_and_rules() {
        use AttributeType as T;
        let string = definition(
            T::String,
            Rules { min_length: Some(2), max_length: Some(5), pattern: Some("^[A-Z]".into()), ..Rules::default() },
        );
        assert_eq!(check_value(&string, &json!(" AB ")), Ok(json!("AB")), "trimmed");
        for bad in [json!("A"), json!("ABCDEF"), json!("ab"), json!(""), json!(3), json!("A\u{7}")] {
            assert!(check_value(&string, &bad).is_err(), "{bad}");
        }
        let cards = definition(T::String, Rules::default());
        assert!(check_value(&cards, &json!("4111 1111 1111 1111")).is_err(), "a card number");
        let one_of = definition(T::Enum, Rules { values: vec!["a".into(), "b".into()], ..Rules::default() });
        assert_eq!(check_value(&one_of, &json!("b")), Ok(json!("b")));
        assert!(check_value(&one_of, &json!("c")).is_err());
        let number = definition(T::Number, Rules { minimum: Some(0.5), maximum: Some(10.0), ..Rules::default() });
        assert_eq!(check_value(&number, &json!(10)), Ok(json!(10)));
        for bad in [json!(0.4), json!(10.1), json!("5"), json!(true)] {
            assert!(check_value(&number, &bad).is_err(), "{bad}");
        }
        let boolean = definition(T::Boolean, Rules::default());
        assert_eq!(check_value(&boolean, &json!(false)), Ok(json!(false)));
        assert!(check_value(&boolean, &json!("false")).is_err());
        let date = definition(T::Date, Rules::default());
        assert_eq!(check_value(&date, &json!("2024-02-29")), Ok(json!("2024-02-29")));
        for bad in [json!("2023-02-29"), json!("2024-2-1"), json!("29-02-2024"), json!(20240229)] {
            assert!(check_value(&date, &bad).is_err(), "{bad}");
        }
        let url = definition(T::Url, Rules { max_length: Some(30), ..Rules::default() });
        assert_eq!(check_value(&url, &json!("https://a.example/x")), Ok(json!("https://a.example/x")));
        for bad in [json!("ftp://a.example"), json!("https://a.example/a-very-long-path-indeed"), json!("a.example")] {
            assert!(check_value(&url, &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rules_must_fit_the_type() {
        let named = |value_type, r: Rules| {
            let mut errors = Errors::default();
            rules(&mut errors, value_type, &r);
            errors.0.into_iter().map(|e| e.field).collect::<Vec<_>>()
        };
        use AttributeType as T;
        assert!(named(T::String, Rules { min_length: Some(1), max_length: Some(9), ..Rules::default() }).is_empty());
        assert_eq!(named(T::Boolean, Rules { minimum: Some(1.0), ..Rules::default() }), ["minimum"]);
        assert_eq!(named(T::Url, Rules { pattern: Some("^h".into()), ..Rules::default() }), ["pattern"]);
        assert_eq!(
            named(T::String, Rules { max_length: Some(MAX_VALUE_LENGTH + 1), ..Rules::default() }),
            ["max_length"]
        );
        assert_eq!(named(T::Number, Rules { minimum: Some(2.0), maximum: Some(1.0), ..Rules::default() }), ["minimum"]);
        assert_eq!(named(T::Enum, Rules::default()), ["values"]);
        assert_eq!(named(T::Enum, Rules { values: vec!["a".into(), "a".into()], ..Rules::default() }), ["values[1]"]);
        assert_eq!(named(T::String, Rules { pattern: Some("(".into()), ..Rules::default() }), ["pattern"]);
        assert!(is_key("sector_2") && !is_key("2sector") && !is_key("Sector") && !is_key(""));
    }
}
