//! Tenant-defined attributes (`people:admin`): the tenant's own person
//! fields, each with a type, validation, whether a person may edit it
//! themselves, and, required, its data category and the purposes it serves.
//! Values live with the person (`attributes` on `/v1/people` and `/v1/me`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_core::Scope;
use kluis_people::attributes::{AttributeType, Definition, DefinitionPatch, NewDefinition, Rules};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json, ListQuery};
use crate::routes::{created, versioned};
use crate::state::AppState;

type Time = time::PrimitiveDateTime;

/// `Some(None)` for an explicit null, `None` for an absent field.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The type of an attribute's values.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributeTypeView {
    /// Free text (`min_length`, `max_length`, `pattern`).
    String,
    /// One of `values`.
    Enum,
    /// A number (`minimum`, `maximum`).
    Number,
    /// True or false.
    Boolean,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// An http(s) URL (`max_length`).
    Url,
}

impl From<AttributeTypeView> for AttributeType {
    fn from(t: AttributeTypeView) -> Self {
        match t {
            AttributeTypeView::String => AttributeType::String,
            AttributeTypeView::Enum => AttributeType::Enum,
            AttributeTypeView::Number => AttributeType::Number,
            AttributeTypeView::Boolean => AttributeType::Boolean,
            AttributeTypeView::Date => AttributeType::Date,
            AttributeTypeView::Url => AttributeType::Url,
        }
    }
}

impl From<AttributeType> for AttributeTypeView {
    fn from(t: AttributeType) -> Self {
        match t {
            AttributeType::String => AttributeTypeView::String,
            AttributeType::Enum => AttributeTypeView::Enum,
            AttributeType::Number => AttributeTypeView::Number,
            AttributeType::Boolean => AttributeTypeView::Boolean,
            AttributeType::Date => AttributeTypeView::Date,
            AttributeType::Url => AttributeTypeView::Url,
        }
    }
}

/// A tenant-defined attribute.
#[derive(Serialize, ToSchema)]
pub struct AttributeDefinitionView {
    /// Key, unique in the tenant (`sector`): the key of the value in a person's `attributes`.
    pub key: String,
    /// The type of its values.
    #[serde(rename = "type")]
    pub value_type: AttributeTypeView,
    /// What it is.
    pub description: Option<String>,
    /// Its data category from the catalogue: a purpose-bound client reads
    /// its values only through a purpose that covers it; retention purges
    /// them with the category.
    #[schema(value_type = crate::contract::DataCategory)]
    pub category: String,
    /// Keys of the purposes it serves (the register lists it under them).
    pub purposes: Vec<String>,
    /// Whether a person may set it themselves (`PATCH /v1/me`).
    pub self_editable: bool,
    /// Shortest string (type `string`).
    pub min_length: Option<u32>,
    /// Longest string or URL (types `string`, `url`); 2000 when not given.
    pub max_length: Option<u32>,
    /// Smallest number (type `number`).
    pub minimum: Option<f64>,
    /// Largest number (type `number`).
    pub maximum: Option<f64>,
    /// Regular expression a string must match, unanchored as in JSON Schema (type `string`).
    pub pattern: Option<String>,
    /// The allowed values (type `enum`).
    pub values: Vec<String>,
    /// Version for `If-Match`.
    pub version: i64,
    /// Created.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
}

impl From<Definition> for AttributeDefinitionView {
    fn from(d: Definition) -> Self {
        AttributeDefinitionView {
            key: d.key,
            value_type: d.value_type.into(),
            description: d.description,
            category: d.category.as_str().to_owned(),
            purposes: d.purposes,
            self_editable: d.self_editable,
            min_length: d.rules.min_length,
            max_length: d.rules.max_length,
            minimum: d.rules.minimum,
            maximum: d.rules.maximum,
            pattern: d.rules.pattern,
            values: d.rules.values,
            version: d.version,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// A page of attributes.
#[derive(Serialize, ToSchema)]
pub struct AttributeDefinitionPage {
    /// Attributes by key.
    pub items: Vec<AttributeDefinitionView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Define an attribute. Its category is required and never a special
/// category of personal data (health, religion, ...: 422); its purposes
/// must be the tenant's. Rules apply by type: `min_length`, `max_length`
/// and `pattern` to `string`, `max_length` to `url`, `minimum` and
/// `maximum` to `number`, `values` (required) to `enum`; another is 422.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateAttributeDefinition {
    /// 1 to 64 characters of a-z, 0-9 and _, starting with a letter; unique in the tenant; not `schema`.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub key: String,
    /// The type of its values.
    #[serde(rename = "type")]
    pub value_type: AttributeTypeView,
    /// What it is, 1 to 500 characters.
    #[validate(length(min = 1, max = 500, message = "must be 1 to 500 characters"))]
    #[schema(min_length = 1, max_length = 500, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub description: Option<String>,
    /// A catalogue category, e.g. `user.business`.
    #[schema(value_type = crate::contract::DataCategory)]
    pub category: String,
    /// Keys of the tenant's purposes it serves, 1 to 20.
    #[validate(length(min = 1, max = 20, message = "must name 1 to 20 purposes"))]
    #[schema(min_items = 1, max_items = 20)]
    pub purposes: Vec<String>,
    /// Whether a person may set it themselves (default false).
    #[serde(default)]
    pub self_editable: bool,
    /// Shortest string, 0 to 2000 (type `string`).
    #[schema(minimum = 0, maximum = 2000)]
    pub min_length: Option<u32>,
    /// Longest string or URL, 1 to 2000 (types `string`, `url`).
    #[schema(minimum = 1, maximum = 2000)]
    pub max_length: Option<u32>,
    /// Smallest number (type `number`).
    pub minimum: Option<f64>,
    /// Largest number (type `number`).
    pub maximum: Option<f64>,
    /// Regular expression a string must match, 1 to 500 characters (type `string`).
    #[validate(length(min = 1, max = 500, message = "must be 1 to 500 characters"))]
    #[schema(min_length = 1, max_length = 500)]
    pub pattern: Option<String>,
    /// The allowed values, 1 to 100 of 1 to 200 characters (type `enum`, required there).
    #[serde(default)]
    #[validate(length(max = 100, message = "at most 100"))]
    #[schema(max_items = 100)]
    pub values: Vec<String>,
}

impl From<CreateAttributeDefinition> for NewDefinition {
    fn from(b: CreateAttributeDefinition) -> Self {
        NewDefinition {
            key: b.key,
            value_type: b.value_type.into(),
            description: b.description,
            category: b.category,
            purposes: b.purposes,
            rules: Rules {
                min_length: b.min_length,
                max_length: b.max_length,
                minimum: b.minimum,
                maximum: b.maximum,
                pattern: b.pattern,
                values: b.values,
            },
            self_editable: b.self_editable,
        }
    }
}

/// Change an attribute; absent fields stay, `null` clears a rule. Its key
/// and type never change. Values stored before stay as they are: rules
/// apply to what is written from now on.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateAttributeDefinition {
    /// What it is, 1 to 500 characters.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub description: Option<Option<String>>,
    /// A catalogue category.
    #[schema(value_type = Option<crate::contract::DataCategory>)]
    pub category: Option<String>,
    /// Keys of the tenant's purposes it serves, 1 to 20 (replace the old ones).
    #[validate(length(min = 1, max = 20, message = "must name 1 to 20 purposes"))]
    #[schema(min_items = 1, max_items = 20)]
    pub purposes: Option<Vec<String>>,
    /// Whether a person may set it themselves.
    pub self_editable: Option<bool>,
    /// Shortest string, 0 to 2000.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 2000)]
    pub min_length: Option<Option<u32>>,
    /// Longest string or URL, 1 to 2000.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 2000)]
    pub max_length: Option<Option<u32>>,
    /// Smallest number.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub minimum: Option<Option<f64>>,
    /// Largest number.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub maximum: Option<Option<f64>>,
    /// Regular expression, 1 to 500 characters.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500)]
    pub pattern: Option<Option<String>>,
    /// The allowed values of an enum (replace the old ones), 1 to 100.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 values"))]
    #[schema(min_items = 1, max_items = 100)]
    pub values: Option<Vec<String>>,
}

impl From<UpdateAttributeDefinition> for DefinitionPatch {
    fn from(b: UpdateAttributeDefinition) -> Self {
        DefinitionPatch {
            description: b.description,
            category: b.category,
            purposes: b.purposes,
            min_length: b.min_length,
            max_length: b.max_length,
            minimum: b.minimum,
            maximum: b.maximum,
            pattern: b.pattern,
            values: b.values,
            self_editable: b.self_editable,
        }
    }
}

/// `?delete_values=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteAttributeQuery {
    /// Also erase every person's value of it (default false: while values
    /// exist, the attribute stays and the answer is 409 `attribute_in_use`).
    pub delete_values: Option<bool>,
}

/// Define an attribute.
#[utoipa::path(
    tag = "attributes",
    request_body = CreateAttributeDefinition,
    responses((status = 201, body = AttributeDefinitionView, headers(("ETag" = String), ("Location" = String)), description = "Created: the attribute; `Location` names it"), BodyErrors, Conflict),
    security(("bearer" = ["people:admin"]))
)]
#[post("/v1/attributes")]
pub async fn create_attribute(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateAttributeDefinition>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleAdmin)?;
    body.0.validate()?;
    let definition = kluis_app::attributes::create(&state.app, &scoped, body.0.into()).await?;
    let location = format!("/v1/attributes/{}", definition.key);
    Ok(created(location, definition.version, &AttributeDefinitionView::from(definition)))
}

/// The tenant's attributes, by key.
#[utoipa::path(
    tag = "attributes",
    params(ListQuery),
    responses((status = 200, body = AttributeDefinitionPage, description = "One page of attributes"), AuthErrors),
    security(("bearer" = ["people:admin"]))
)]
#[get("/v1/attributes")]
pub async fn list_attributes(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleAdmin)?;
    let (limit, after) = query.page()?;
    let page = kluis_app::attributes::list(&state.app, &scoped, limit, after).await?.map(AttributeDefinitionView::from);
    Ok(HttpResponse::Ok().json(AttributeDefinitionPage { items: page.items, next_cursor: page.next_cursor }))
}

/// The tenant's attributes as a JSON Schema (draft 2020-12) of a person's
/// `attributes` object, for a frontend to build its form: each attribute
/// with its type and rules, `readOnly` when a person may not set it
/// themselves, its category and purposes under `x-kluis-category` and
/// `x-kluis-purposes`.
#[utoipa::path(
    tag = "attributes",
    responses((status = 200, body = Object, content_type = "application/schema+json", description = "The JSON Schema of the tenant's `attributes` object"), AuthErrors),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/attributes/schema")]
pub async fn attributes_schema(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleRead)?;
    let schema = kluis_app::attributes::schema(&state.app, &scoped).await?;
    Ok(HttpResponse::Ok().content_type("application/schema+json").json(schema))
}

/// Read an attribute.
#[utoipa::path(
    tag = "attributes",
    params(("key" = String, Path, description = "Attribute key")),
    responses((status = 200, body = AttributeDefinitionView, headers(("ETag" = String)), description = "The attribute, its version in `ETag`"), AuthErrors, NotFound),
    security(("bearer" = ["people:admin"]))
)]
#[get("/v1/attributes/{key}")]
pub async fn get_attribute(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleAdmin)?;
    let definition = kluis_app::attributes::get(&state.app, &scoped, path.into_inner()).await?;
    Ok(versioned(StatusCode::OK, definition.version, &AttributeDefinitionView::from(definition)))
}

/// Change an attribute.
#[utoipa::path(
    tag = "attributes",
    params(
        ("key" = String, Path, description = "Attribute key"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdateAttributeDefinition,
    responses((status = 200, body = AttributeDefinitionView, headers(("ETag" = String)), description = "The attribute, its version in `ETag`"), BodyErrors, NotFound, Precondition),
    security(("bearer" = ["people:admin"]))
)]
#[patch("/v1/attributes/{key}")]
pub async fn update_attribute(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateAttributeDefinition>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleAdmin)?;
    body.0.validate()?;
    let key = path.into_inner();
    let definition = kluis_app::attributes::update(&state.app, &scoped, key, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, definition.version, &AttributeDefinitionView::from(definition)))
}

/// Delete an attribute. While people hold a value of it, it stays (409
/// `attribute_in_use`) unless `?delete_values=true`, which erases those
/// values in the same transaction (audited).
#[utoipa::path(
    tag = "attributes",
    params(
        ("key" = String, Path, description = "Attribute key"),
        DeleteAttributeQuery,
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["people:admin"]))
)]
#[delete("/v1/attributes/{key}")]
pub async fn delete_attribute(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<DeleteAttributeQuery>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleAdmin)?;
    let with_values = query.delete_values.unwrap_or(false);
    kluis_app::attributes::delete(&state.app, &scoped, path.into_inner(), if_match.0, with_values).await?;
    Ok(HttpResponse::NoContent().finish())
}
