//! Tenant-defined attributes (`people:admin`): definitions created, listed,
//! read, changed and deleted, each change with its audit entry; the
//! tenant's JSON Schema of the `attributes` object. The purposes a
//! definition serves must be the tenant's (the consent domain says which
//! are); values are written with the person (`kluis_app::people`).

use kluis_audit::{Action, Target};
use kluis_core::page::Page;
use kluis_core::{DomainError, TenantId};
use kluis_people::attributes::{self, Definition, DefinitionPatch, NewDefinition};
use kluis_store::Db;

use crate::fields::{AuditFields, present};
use crate::{App, AppResult, Scoped};

impl AuditFields for NewDefinition {
    fn audit_fields(&self) -> Vec<&'static str> {
        let r = &self.rules;
        present(&[
            ("key", true),
            ("type", true),
            ("description", self.description.is_some()),
            ("category", true),
            ("purposes", true),
            ("self_editable", true),
            ("min_length", r.min_length.is_some()),
            ("max_length", r.max_length.is_some()),
            ("minimum", r.minimum.is_some()),
            ("maximum", r.maximum.is_some()),
            ("pattern", r.pattern.is_some()),
            ("values", !r.values.is_empty()),
        ])
    }
}

impl AuditFields for DefinitionPatch {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("description", self.description.is_some()),
            ("category", self.category.is_some()),
            ("purposes", self.purposes.is_some()),
            ("self_editable", self.self_editable.is_some()),
            ("min_length", self.min_length.is_some()),
            ("max_length", self.max_length.is_some()),
            ("minimum", self.minimum.is_some()),
            ("maximum", self.maximum.is_some()),
            ("pattern", self.pattern.is_some()),
            ("values", self.values.is_some()),
        ])
    }
}

/// The indexes of `keys` that are not purposes of the tenant.
fn unknown_purposes(conn: &mut Db, tenant: &TenantId, keys: &[String]) -> Result<Vec<usize>, DomainError> {
    kluis_consent::purposes::unknown(conn, tenant, keys)
}

/// Define an attribute, with its audit entry, in one transaction.
pub async fn create(app: &App, caller: &Scoped<'_>, new: NewDefinition) -> AppResult<Definition> {
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::AttributeCreate, fields, move |conn| {
        let unknown = unknown_purposes(conn, &tenant, &new.purposes)?;
        let definition = attributes::create(conn, &tenant, &new, &unknown)?;
        let target = Target::resource("attribute", &definition.key);
        Ok((definition, target))
    })
    .await
}

/// The tenant's attributes by key, `limit` at a time after the key `after`.
pub async fn list(app: &App, caller: &Scoped<'_>, limit: i64, after: Option<String>) -> AppResult<Page<Definition>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| attributes::list(conn, &tenant, limit, after.as_deref())).await
}

/// One attribute of the tenant, by key.
pub async fn get(app: &App, caller: &Scoped<'_>, key: String) -> AppResult<Definition> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| attributes::get(conn, &tenant, &key)).await
}

/// Change an attribute's definition, at `if_version` when given, with its
/// audit entry.
pub async fn update(
    app: &App,
    caller: &Scoped<'_>,
    key: String,
    if_version: Option<i64>,
    patch: DefinitionPatch,
) -> AppResult<Definition> {
    let tenant = caller.tenant.clone();
    let fields = patch.audit_fields();
    app.audited(caller.audit(), Action::AttributeUpdate, fields, move |conn| {
        let unknown = match &patch.purposes {
            Some(keys) => unknown_purposes(conn, &tenant, keys)?,
            None => Vec::new(),
        };
        let definition = attributes::update(conn, &tenant, &key, if_version, &patch, &unknown)?;
        Ok((definition, Target::resource("attribute", &key)))
    })
    .await
}

/// Delete an attribute, at `if_version` when given, with its audit entry.
/// While people hold values of it, it stays (409) unless `with_values`,
/// which erases those values in the same transaction; how many went.
pub async fn delete(
    app: &App,
    caller: &Scoped<'_>,
    key: String,
    if_version: Option<i64>,
    with_values: bool,
) -> AppResult<u64> {
    let tenant = caller.tenant.clone();
    let fields = if with_values { vec!["values"] } else { Vec::new() };
    app.audited(caller.audit(), Action::AttributeDelete, fields, move |conn| {
        let removed = attributes::delete(conn, &tenant, &key, if_version, with_values)?;
        Ok((removed, Target::resource("attribute", &key)))
    })
    .await
}

/// The tenant's JSON Schema of the `attributes` object (for a frontend's form).
pub async fn schema(app: &App, caller: &Scoped<'_>) -> AppResult<serde_json::Value> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| Ok(attributes::json_schema(&attributes::all(conn, &tenant)?))).await
}
