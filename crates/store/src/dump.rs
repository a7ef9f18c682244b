//! Generic access to a tenant's tables, for whole-tenant archives
//! (kluis-backup): which tables hold a tenant's data, their columns and
//! types (taken from the diesel schema, so both backends agree), the order
//! foreign keys impose, and rows read and written as portable JSON arrays.
//!
//! A row is a JSON array in the table's column order, each value in one
//! canonical form whatever the backend: text and integers as themselves,
//! booleans as `true`/`false`, timestamps as `YYYY-MM-DDTHH:MM:SS.ffffff`
//! (UTC), binary as standard base64, NULL as `null`. A row read from SQLite
//! and the same row read from PostgreSQL are the same bytes.
//!
//! The SQL differs per dialect (JSON functions, placeholders, catalogue
//! queries); like `db.rs`, this module is where that is allowed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::connection::Connection;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Binary, Bool, Integer, Nullable, Text, Timestamp};
use diesel::{QueryableByName, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::PrimitiveDateTime;
use time::format_description::well_known::Iso8601;
use time::macros::format_description;

use crate::db::Db;
use crate::schema;

type Backend = <Db as Connection>::Backend;
type Query = BoxedSqlQuery<'static, Backend, SqlQuery>;

/// The portable type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `Text`.
    Text,
    /// `BigInt` (i64).
    BigInt,
    /// `Integer` (i32).
    Integer,
    /// `Bool`.
    Bool,
    /// `Timestamp` (UTC, microseconds).
    Timestamp,
    /// `Binary`.
    Binary,
}

/// One column of a table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDef {
    /// Its name.
    pub name: String,
    /// Its portable type.
    pub kind: Kind,
    /// Whether it may be NULL.
    pub nullable: bool,
}

/// A table that holds a tenant's data.
#[derive(Clone, Debug)]
pub struct TableDef {
    /// Its name.
    pub name: &'static str,
    /// Its columns, in schema order.
    pub columns: Vec<ColumnDef>,
}

impl TableDef {
    /// The column that names the tenant: `id` in `tenants`, `tenant_id` elsewhere.
    pub fn tenant_column(&self) -> &'static str {
        if self.name == "tenants" { "id" } else { "tenant_id" }
    }
}

/// Why a row could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    /// A value does not fit its column.
    #[error("table {table}, column {column}: {problem}")]
    Value {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// What is wrong.
        problem: String,
    },
    /// A row has the wrong number of values or an unknown column.
    #[error("table {table}: {problem}")]
    Shape {
        /// The table.
        table: String,
        /// What is wrong.
        problem: String,
    },
}

/// Diesel SQL types that have a portable [`Kind`].
pub trait SqlKind {
    /// The kind.
    const KIND: Kind;
    /// Whether NULL is allowed.
    const NULLABLE: bool = false;
}

macro_rules! sql_kinds {
    ($($t:ty => $k:ident),* $(,)?) => {
        $(impl SqlKind for $t { const KIND: Kind = Kind::$k; })*
    };
}
sql_kinds!(Text => Text, BigInt => BigInt, Integer => Integer, Bool => Bool, Timestamp => Timestamp, Binary => Binary);

impl<T: SqlKind> SqlKind for Nullable<T> {
    const KIND: Kind = T::KIND;
    const NULLABLE: bool = true;
}

/// A tuple of diesel columns that can describe itself.
pub trait Columns {
    /// Append each column's definition to `out`.
    fn describe(out: &mut Vec<ColumnDef>);
}

macro_rules! columns_tuple {
    ($($c:ident)+) => {
        impl<$($c),+> Columns for ($($c,)+)
        where $($c: diesel::Column, <$c as diesel::Expression>::SqlType: SqlKind),+
        {
            fn describe(out: &mut Vec<ColumnDef>) {
                $(out.push(ColumnDef {
                    name: <$c as diesel::Column>::NAME.to_owned(),
                    kind: <<$c as diesel::Expression>::SqlType as SqlKind>::KIND,
                    nullable: <<$c as diesel::Expression>::SqlType as SqlKind>::NULLABLE,
                });)+
            }
        }
    };
}

macro_rules! columns_tuples {
    ($first:ident $($rest:ident)*) => {
        columns_tuple!($first $($rest)*);
        columns_tuples!($($rest)*);
    };
    () => {};
}
columns_tuples!(C1 C2 C3 C4 C5 C6 C7 C8 C9 C10 C11 C12 C13 C14 C15 C16 C17 C18 C19 C20 C21 C22 C23 C24 C25 C26 C27 C28 C29 C30 C31 C32);

fn table_def<T>(name: &'static str) -> TableDef
where
    T: diesel::Table,
    T::AllColumns: Columns,
{
    let mut columns = Vec::new();
    <T::AllColumns as Columns>::describe(&mut columns);
    TableDef { name, columns }
}

macro_rules! catalogue {
    ($($t:ident),+ $(,)?) => {
        /// Every table that holds a tenant's data, `tenants` first; the
        /// others in schema order (see [`in_fk_order`] for the order
        /// foreign keys need). A table with a `tenant_id` column that is
        /// missing here fails this crate's tests: add it.
        pub fn tenant_tables() -> Vec<TableDef> {
            vec![$(table_def::<schema::$t::table>(stringify!($t))),+]
        }
    };
}

catalogue!(
    tenants,
    api_clients,
    audit_heads,
    audit_events,
    subject_keys,
    people,
    person_emails,
    person_phones,
    person_addresses,
    person_websites,
    person_references,
    attribute_definitions,
    person_attributes,
    idempotency_keys,
    accounts,
    recovery_codes,
    auth_tokens,
    challenges,
    sessions,
    refresh_tokens,
    passkeys,
    passkey_ceremonies,
    outbox,
    devices,
    visits,
    consent_heads,
    consent_recipients,
    consent_purposes,
    consent_purpose_recipients,
    consent_events,
    consent_states,
    consent_policy_versions,
    consent_acceptances,
    consent_unsubscribes,
    consent_usage,
    person_holds,
    self_erasures,
    rights_requests,
    rights_request_events,
    person_restrictions,
    breaches,
    breach_notifications,
    webhooks,
    webhook_deliveries,
    webhook_attempts,
    people_change_heads,
    people_changes,
    erasure_keys,
    erasure_receipts,
    erasure_ledger,
    retention_heads,
    retention_policies,
    retention_sweeps,
    service_items,
    service_credentials,
    service_backups,
    service_notes,
);

/// Tables never in an archive: the platform's (no tenant), the export jobs
/// and backups (records of this instance, naming files on its disk or in its
/// bucket), and the backup schedule (its policy and lease; a restore must
/// not roll back the record of the backups themselves).
pub const PLATFORM_TABLES: [&str; 6] = [
    "operator_clients",
    "signing_keys",
    "__diesel_schema_migrations",
    "tenant_exports",
    "tenant_backups",
    "backup_schedules",
];

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct RowText {
    #[diesel(sql_type = Text)]
    row: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Every table in the database, by the database's own catalogue.
pub fn live_tables(conn: &mut Db) -> Result<Vec<String>, DumpError> {
    let sql = match conn {
        Db::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Db::Pg(_) => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        }
    };
    Ok(diesel::sql_query(sql).load::<Name>(conn)?.into_iter().map(|n| n.name).collect())
}

/// The tables `table` references by foreign key.
fn references(conn: &mut Db, table: &str) -> Result<Vec<String>, DumpError> {
    let sql = match conn {
        Db::Sqlite(_) => "SELECT DISTINCT \"table\" AS name FROM pragma_foreign_key_list(?)",
        Db::Pg(_) => {
            "SELECT DISTINCT cl.relname::text AS name FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.confrelid \
             WHERE c.contype = 'f' AND c.conrelid = to_regclass($1)"
        }
    };
    Ok(diesel::sql_query(sql).bind::<Text, _>(table).load::<Name>(conn)?.into_iter().map(|n| n.name).collect())
}

/// The primary-key columns of `table`, in key order.
pub fn primary_key(conn: &mut Db, table: &str) -> Result<Vec<String>, DumpError> {
    let sql = match conn {
        Db::Sqlite(_) => "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk",
        Db::Pg(_) => {
            "SELECT a.attname::text AS name FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = to_regclass($1) AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)"
        }
    };
    let names: Vec<String> =
        diesel::sql_query(sql).bind::<Text, _>(table).load::<Name>(conn)?.into_iter().map(|n| n.name).collect();
    if names.is_empty() {
        return Err(DumpError::Shape { table: table.to_owned(), problem: "has no primary key".to_owned() });
    }
    Ok(names)
}

/// `tables` ordered so that every table comes after the tables it
/// references (a stable topological sort: ties keep the given order).
pub fn in_fk_order(conn: &mut Db, tables: Vec<TableDef>) -> Result<Vec<TableDef>, DumpError> {
    let mut pending: Vec<(TableDef, Vec<String>)> = Vec::with_capacity(tables.len());
    for table in tables {
        let refs = references(conn, table.name)?;
        pending.push((table, refs));
    }
    let names: Vec<&'static str> = pending.iter().map(|(t, _)| t.name).collect();
    let mut ordered: Vec<TableDef> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending.iter().position(|(table, refs)| {
            refs.iter().all(|r| r == table.name || !names.contains(&r.as_str()) || ordered.iter().any(|o| o.name == r))
        });
        let Some(index) = ready else {
            let table = pending[0].0.name.to_owned();
            return Err(DumpError::Shape { table, problem: "foreign keys form a cycle".to_owned() });
        };
        ordered.push(pending.remove(index).0);
    }
    Ok(ordered)
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn placeholder(conn: &Db, n: usize) -> String {
    match conn {
        Db::Sqlite(_) => "?".to_owned(),
        Db::Pg(_) => format!("${n}"),
    }
}

/// How many rows of `tenant` `table` holds.
pub fn count(conn: &mut Db, table: &TableDef, tenant: &str) -> Result<u64, DumpError> {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM {} WHERE {} = {}",
        quote(table.name),
        quote(table.tenant_column()),
        placeholder(conn, 1)
    );
    let count: Count = diesel::sql_query(sql).bind::<Text, _>(tenant).get_result(conn)?;
    Ok(u64::try_from(count.n).unwrap_or(0))
}

/// Delete every row of `tenant` from `table` (a restore, inside its
/// transaction, before the backup's rows go in); how many.
pub fn delete_rows(conn: &mut Db, table: &TableDef, tenant: &str) -> Result<u64, DumpError> {
    let sql =
        format!("DELETE FROM {} WHERE {} = {}", quote(table.name), quote(table.tenant_column()), placeholder(conn, 1));
    let n = diesel::sql_query(sql).bind::<Text, _>(tenant).execute(conn)?;
    Ok(n as u64)
}

/// Reads a tenant's rows of one table a page at a time, in primary-key
/// order, each page one query (keyset pagination: no offset, no cursor
/// held open, memory bounded by the page).
pub struct RowReader {
    table: TableDef,
    tenant: String,
    /// The primary key's columns, in key order: the page order.
    key: Vec<usize>,
    /// The key's columns after the tenant column: the keyset a page starts
    /// after. The tenant column is fixed by the `=`; in the row-value
    /// comparison too, SQLite would search the index by the `=` alone and
    /// walk the tenant's rows from the first on every page (an export of a
    /// million-person tenant took hours, quadratic in its rows).
    range: Vec<usize>,
    after: Option<Vec<Value>>,
    done: bool,
}

impl RowReader {
    /// A reader of `tenant`'s rows of `table`.
    pub fn new(conn: &mut Db, table: TableDef, tenant: &str) -> Result<RowReader, DumpError> {
        let mut key = Vec::new();
        for name in primary_key(conn, table.name)? {
            let index = table.columns.iter().position(|c| c.name == name).ok_or_else(|| DumpError::Shape {
                table: table.name.to_owned(),
                problem: format!("primary-key column {name} is not in the schema"),
            })?;
            key.push(index);
        }
        let range = key.iter().copied().filter(|&i| table.columns[i].name != table.tenant_column()).collect();
        Ok(RowReader { table, tenant: tenant.to_owned(), key, range, after: None, done: false })
    }

    /// The query of the next page: the tenant's rows after the last one
    /// read, in key order, each as one JSON array.
    fn page_sql(&self, conn: &Db, limit: usize) -> String {
        let table = &self.table;
        let select: Vec<String> = table.columns.iter().map(|c| select_expr(conn, c)).collect();
        let json = match conn {
            Db::Sqlite(_) => format!("json_array({})", select.join(", ")),
            Db::Pg(_) => format!("json_build_array({})::text", select.join(", ")),
        };
        let key_cols: Vec<String> = self.key.iter().map(|&i| quote(&table.columns[i].name)).collect();
        let mut sql = format!(
            "SELECT {json} AS row FROM {} WHERE {} = {}",
            quote(table.name),
            quote(table.tenant_column()),
            placeholder(conn, 1)
        );
        if self.after.is_some() {
            let range_cols: Vec<String> = self.range.iter().map(|&i| quote(&table.columns[i].name)).collect();
            let marks: Vec<String> = (0..self.range.len()).map(|i| placeholder(conn, i + 2)).collect();
            sql.push_str(&format!(" AND ({}) > ({})", range_cols.join(", "), marks.join(", ")));
        }
        sql.push_str(&format!(" ORDER BY {} LIMIT {limit}", key_cols.join(", ")));
        sql
    }

    /// The next page of at most `limit` rows; empty at the end.
    pub fn next_page(&mut self, conn: &mut Db, limit: usize) -> Result<Vec<Vec<Value>>, DumpError> {
        // A key of the tenant column alone holds one row a tenant at most.
        if self.done || (self.after.is_some() && self.range.is_empty()) {
            return Ok(Vec::new());
        }
        let table = &self.table;
        let mut query: Query =
            diesel::sql_query(self.page_sql(conn, limit)).into_boxed().bind::<Text, _>(self.tenant.clone());
        if let Some(after) = &self.after {
            for (&index, value) in self.range.iter().zip(after) {
                query = bind(query, table.name, &table.columns[index], value)?;
            }
        }
        let raw = query.load::<RowText>(conn)?;
        let mut rows = Vec::with_capacity(raw.len());
        for text in raw {
            rows.push(canonical_row(table, &text.row)?);
        }
        if rows.len() < limit {
            self.done = true;
        }
        if let Some(last) = rows.last() {
            self.after = Some(self.range.iter().map(|&i| last[i].clone()).collect());
        }
        Ok(rows)
    }
}

fn select_expr(conn: &Db, column: &ColumnDef) -> String {
    let name = quote(&column.name);
    match (column.kind, conn) {
        // JSON holds no bytes: hex on the way out, base64 in the row.
        (Kind::Binary, Db::Sqlite(_)) => format!("CASE WHEN {name} IS NULL THEN NULL ELSE hex({name}) END"),
        (Kind::Binary, Db::Pg(_)) => format!("encode({name}, 'hex')"),
        _ => name,
    }
}

const TIMESTAMP_OUT: &[time::format_description::FormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]");

/// A timestamp in the archive's form.
pub fn format_timestamp(at: PrimitiveDateTime) -> String {
    at.format(TIMESTAMP_OUT).unwrap_or_default()
}

/// Parse a timestamp as either backend writes it (space or `T`, with or
/// without a fraction).
pub fn parse_timestamp(text: &str) -> Option<PrimitiveDateTime> {
    let normal = text.replacen(' ', "T", 1);
    PrimitiveDateTime::parse(&normal, &Iso8601::DEFAULT).ok().or_else(|| {
        let with_fraction = format!("{normal}.0");
        PrimitiveDateTime::parse(&with_fraction, &Iso8601::DEFAULT).ok()
    })
}

fn value_error(table: &str, column: &ColumnDef, problem: impl Into<String>) -> DumpError {
    DumpError::Value { table: table.to_owned(), column: column.name.clone(), problem: problem.into() }
}

/// The row as the database rendered it, in canonical form.
fn canonical_row(table: &TableDef, text: &str) -> Result<Vec<Value>, DumpError> {
    let shape = |problem: String| DumpError::Shape { table: table.name.to_owned(), problem };
    let Value::Array(values) = serde_json::from_str(text).map_err(|e| shape(format!("unreadable row: {e}")))? else {
        return Err(shape("row is not an array".to_owned()));
    };
    if values.len() != table.columns.len() {
        return Err(shape(format!("{} values for {} columns", values.len(), table.columns.len())));
    }
    values
        .into_iter()
        .zip(&table.columns)
        .map(|(value, column)| {
            if value.is_null() {
                return Ok(Value::Null);
            }
            let bad = |what: &str| value_error(table.name, column, what.to_owned());
            Ok(match column.kind {
                Kind::Text | Kind::BigInt | Kind::Integer => value,
                Kind::Bool => match value {
                    Value::Bool(b) => Value::Bool(b),
                    Value::Number(n) => Value::Bool(n.as_i64() != Some(0)),
                    _ => return Err(bad("not a boolean")),
                },
                Kind::Timestamp => {
                    let at = value.as_str().and_then(parse_timestamp).ok_or_else(|| bad("not a timestamp"))?;
                    Value::String(format_timestamp(at))
                }
                Kind::Binary => {
                    let bytes = value.as_str().and_then(|h| hex::decode(h).ok()).ok_or_else(|| bad("not hex"))?;
                    Value::String(STANDARD.encode(bytes))
                }
            })
        })
        .collect()
}

/// Bind one canonical value as its column's type.
fn bind(query: Query, table: &str, column: &ColumnDef, value: &Value) -> Result<Query, DumpError> {
    if value.is_null() && !column.nullable {
        return Err(value_error(table, column, "is null but the column is not nullable"));
    }
    let wrong = || value_error(table, column, format!("is not a {:?}", column.kind));
    let present = !value.is_null();
    Ok(match column.kind {
        Kind::Text => {
            let v = value.as_str().map(str::to_owned);
            if present && v.is_none() {
                return Err(wrong());
            }
            query.bind::<Nullable<Text>, _>(v)
        }
        Kind::BigInt => {
            let v = value.as_i64();
            if present && v.is_none() {
                return Err(wrong());
            }
            query.bind::<Nullable<BigInt>, _>(v)
        }
        Kind::Integer => {
            let v = value.as_i64().and_then(|n| i32::try_from(n).ok());
            if present && v.is_none() {
                return Err(wrong());
            }
            query.bind::<Nullable<Integer>, _>(v)
        }
        Kind::Bool => {
            let v = value.as_bool();
            if present && v.is_none() {
                return Err(wrong());
            }
            query.bind::<Nullable<Bool>, _>(v)
        }
        Kind::Timestamp => {
            let v = value.as_str().and_then(parse_timestamp);
            if present && v.is_none() {
                return Err(wrong());
            }
            query.bind::<Nullable<Timestamp>, _>(v)
        }
        Kind::Binary => {
            let v = value.as_str().and_then(|s| STANDARD.decode(s).ok());
            if present && v.is_none() {
                return Err(wrong());
            }
            query.bind::<Nullable<Binary>, _>(v)
        }
    })
}

/// Most values bound in one INSERT (SQLite's bundled limit is 32766,
/// PostgreSQL's 65535).
const MAX_BINDS: usize = 16_000;

/// Insert `rows` (values in the order of `columns`, a subset of the
/// table's columns by name) into `table`, in multi-row INSERTs.
pub fn insert_rows(conn: &mut Db, table: &TableDef, columns: &[String], rows: &[Vec<Value>]) -> Result<(), DumpError> {
    let defs: Vec<&ColumnDef> = columns
        .iter()
        .map(|name| {
            table.columns.iter().find(|c| &c.name == name).ok_or_else(|| DumpError::Shape {
                table: table.name.to_owned(),
                problem: format!("unknown column {name}"),
            })
        })
        .collect::<Result<_, _>>()?;
    if defs.is_empty() {
        return Err(DumpError::Shape { table: table.name.to_owned(), problem: "no columns".to_owned() });
    }
    let per_batch = (MAX_BINDS / defs.len()).max(1);
    let names: Vec<String> = defs.iter().map(|c| quote(&c.name)).collect();
    for batch in rows.chunks(per_batch) {
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", quote(table.name), names.join(", "));
        let mut n = 0;
        for (i, _) in batch.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let marks: Vec<String> = defs
                .iter()
                .map(|_| {
                    n += 1;
                    placeholder(conn, n)
                })
                .collect();
            sql.push_str(&format!("({})", marks.join(", ")));
        }
        let mut query: Query = diesel::sql_query(sql).into_boxed();
        for row in batch {
            if row.len() != defs.len() {
                return Err(DumpError::Shape {
                    table: table.name.to_owned(),
                    problem: format!("a row has {} values for {} columns", row.len(), defs.len()),
                });
            }
            for (value, column) in row.iter().zip(&defs) {
                query = bind(query, table.name, column, value)?;
            }
        }
        query.execute(conn)?;
    }
    Ok(())
}

/// Run `f` on one consistent view of the database (a read transaction:
/// SQLite's WAL snapshot, PostgreSQL's REPEATABLE READ), so an archive
/// made while the server writes is of one moment.
pub fn in_snapshot<T, E, F>(conn: &mut Db, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Db) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    match conn {
        Db::Pg(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?
        }
        Db::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN DEFERRED")?,
    }
    let result = f(conn);
    // A read-only transaction has nothing to keep: end it either way.
    let end = <Db as Connection>::TransactionManager::rollback_transaction(conn);
    match (result, end) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(e)) => Err(e.into()),
        (Err(e), _) => Err(e),
    }
}

/// The schema version this binary migrates to: its latest migration's
/// version (e.g. `20261203000060`).
pub fn schema_version() -> String {
    use diesel::migration::MigrationSource;
    let source: Result<Vec<Box<dyn diesel::migration::Migration<diesel::sqlite::Sqlite>>>, _> =
        crate::migrate::SQLITE.migrations();
    source.ok().into_iter().flatten().map(|m| m.name().version().to_string()).max().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PoolOptions, build_pool, migrate};

    fn migrated() -> (tempfile::TempDir, crate::db::PooledDb) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let pool = build_pool(&url, PoolOptions::default()).unwrap();
        let mut conn = pool.get().unwrap();
        migrate::run_pending(&mut conn).unwrap();
        (dir, conn)
    }

    /// Every table of the migrated database is either a tenant table in
    /// the catalogue or a platform table: a new table nobody listed would
    /// silently be left out of every archive.
    #[test]
    fn the_catalogue_covers_every_table() {
        let (_dir, mut conn) = migrated();
        let known: Vec<&str> = tenant_tables().iter().map(|t| t.name).collect();
        for table in live_tables(&mut conn).unwrap() {
            assert!(
                known.contains(&table.as_str()) || PLATFORM_TABLES.contains(&table.as_str()),
                "table {table} is in no archive: add it to the catalogue in crates/store/src/dump.rs"
            );
        }
    }

    /// A page after the first starts in the index at the last key read: the
    /// plan searches by the tenant and the key range, not by the tenant
    /// alone (which walks the tenant's rows from the first on every page,
    /// quadratic in a large tenant's rows).
    #[test]
    fn later_pages_search_the_key_range() {
        #[derive(QueryableByName)]
        struct Plan {
            #[diesel(sql_type = Text)]
            detail: String,
        }
        let (_dir, mut conn) = migrated();
        for table in tenant_tables() {
            let name = table.name;
            let mut reader = RowReader::new(&mut conn, table, "t").unwrap();
            if reader.range.is_empty() {
                continue;
            }
            reader.after = Some(vec![Value::Null; reader.range.len()]);
            let sql = format!("EXPLAIN QUERY PLAN {}", reader.page_sql(&conn, 1000));
            let plan: Vec<String> =
                diesel::sql_query(sql).load::<Plan>(&mut conn).unwrap().into_iter().map(|p| p.detail).collect();
            let columns: Vec<&str> = reader.range.iter().map(|&i| reader.table.columns[i].name.as_str()).collect();
            let range = match columns.as_slice() {
                [one] => format!("AND {one}>?"),
                many => format!("AND ({})>(", many.join(",")),
            };
            assert!(
                plan.iter().any(|p| p.contains(&range)),
                "{name}: the page after the first searches {plan:?}, not {range}"
            );
            assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{name}: the page is sorted apart: {plan:?}");
        }
    }

    #[test]
    fn foreign_keys_come_first() {
        let (_dir, mut conn) = migrated();
        let ordered = in_fk_order(&mut conn, tenant_tables()).unwrap();
        assert_eq!(ordered[0].name, "tenants");
        let position = |name: &str| ordered.iter().position(|t| t.name == name).unwrap();
        for table in &ordered {
            for referenced in references(&mut conn, table.name).unwrap() {
                if referenced != table.name && !PLATFORM_TABLES.contains(&referenced.as_str()) {
                    assert!(position(&referenced) < position(table.name), "{} before {referenced}", table.name);
                }
            }
        }
    }

    #[test]
    fn timestamps_parse_in_both_forms_and_print_one() {
        let cases = [
            ("2026-12-03 09:30:53.123456", "2026-12-03T09:30:53.123456"),
            ("2026-12-03T09:30:53.1", "2026-12-03T09:30:53.100000"),
            ("2026-12-03 09:30:53", "2026-12-03T09:30:53.000000"),
            ("2026-12-03T09:30:53", "2026-12-03T09:30:53.000000"),
        ];
        for (input, expected) in cases {
            assert_eq!(format_timestamp(parse_timestamp(input).unwrap()), expected, "{input}");
        }
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn the_schema_version_is_the_latest_migration() {
        let version = schema_version();
        assert_eq!(version.len(), 14, "{version}");
        assert!(version.as_str() >= "20261203000060");
    }
}
