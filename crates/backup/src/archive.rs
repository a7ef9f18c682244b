//! A tenant's whole data as one archive, and back.
//!
//! Inside the sealed envelope ([`crate::seal`]) is one zstd frame holding
//! NDJSON: a header line, then for each table (in foreign-key order) a
//! line naming it and its columns, its rows as JSON arrays in that column
//! order (one per line, in the portable form of `kluis_store::dump`), and a
//! line with its row count and digest; last, the manifest, which repeats
//! the header and lists every table's count and digest.
//!
//! A table's digest is the sum, modulo 2^256, of the SHA-256 of each of its
//! row lines: it does not depend on the order rows were read in, so two
//! backends that sort text differently give the same digest for the same
//! rows, and an import into the other backend can be compared with the
//! export table by table.
//!
//! Export reads one consistent snapshot, a page of rows at a time, and
//! streams through the compressor and the sealer to the output: memory
//! stays bounded by a page and a chunk, whatever the tenant's size. Import
//! runs in one transaction: any refusal (altered, truncated, of a newer
//! schema, a tenant that already exists) leaves nothing behind.

use std::io::{BufRead, BufReader, Read, Write};

use kluis_core::TenantId;
use kluis_store::Db;
use kluis_store::dump::{self, ColumnDef, RowReader, TableDef};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ArchiveError;
use crate::seal::{OpenReader, SealWriter, Secret};

/// The content format inside the envelope.
pub const CONTENT_FORMAT: u32 = 1;
/// Rows read per query on export.
const PAGE: usize = 1000;
/// Rows inserted per batch on import.
const BATCH: usize = 500;
/// zstd level: fast, and most of the gain.
const LEVEL: i32 = 3;

/// The tenant an archive holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedTenant {
    /// Its id (kept on import: the audit chain is bound to it).
    pub id: String,
    /// Its slug when exported.
    pub slug: String,
}

/// One table's share of an archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSummary {
    /// The table.
    pub name: String,
    /// How many rows.
    pub rows: u64,
    /// The order-independent digest of its rows (hex).
    pub sha256: String,
}

/// What an archive holds: who made it, of which schema, and per table its
/// row count and digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Content format.
    pub format: u32,
    /// The kluis that made it.
    pub kluis_version: String,
    /// Its schema version (latest migration).
    pub schema_version: String,
    /// The tenant.
    pub tenant: ArchivedTenant,
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
    /// Per table, in the order they are in the archive.
    #[serde(default)]
    pub tables: Vec<TableSummary>,
}

/// Told how an export or import advances (progress bars, job rows).
pub trait Progress {
    /// Before the first row: how many tables and rows there are in all.
    fn start(&mut self, _tables: u64, _rows: u64) {}
    /// A table begins.
    fn table(&mut self, _name: &str) {}
    /// `n` more rows done.
    fn rows(&mut self, _n: u64) {}
    /// A table is done.
    fn table_done(&mut self, _name: &str, _rows: u64) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;
impl Progress for Quiet {}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Header(Manifest),
    Table { name: String, columns: Vec<ColumnDef> },
    End(TableSummary),
    Manifest(Manifest),
}

/// Sum of SHA-256 values modulo 2^256.
#[derive(Default)]
struct RowDigest([u8; 32]);

impl RowDigest {
    fn add(&mut self, line: &[u8]) {
        let hash = Sha256::digest(line);
        let mut carry = 0u16;
        for i in (0..32).rev() {
            let sum = u16::from(self.0[i]) + u16::from(hash[i]) + carry;
            self.0[i] = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
    }

    fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Write `tenant`'s whole data to `out` as a sealed archive; returns the
/// manifest, the writer and the archive's size in bytes. Reads one
/// consistent snapshot of the database.
pub fn export<W: Write>(
    conn: &mut Db,
    tenant: &TenantId,
    out: W,
    secret: &Secret<'_>,
    progress: &mut dyn Progress,
) -> Result<(Manifest, W, u64), ArchiveError> {
    dump::in_snapshot(conn, |conn| {
        let record = kluis_store::tenancy::tenants::get(conn, tenant)?;
        let tables = dump::in_fk_order(conn, dump::tenant_tables())?;
        let mut total = 0;
        for table in &tables {
            total += dump::count(conn, table, tenant.as_str())?;
        }
        progress.start(tables.len() as u64, total);
        let mut manifest = Manifest {
            format: CONTENT_FORMAT,
            kluis_version: env!("CARGO_PKG_VERSION").to_owned(),
            schema_version: dump::schema_version(),
            tenant: ArchivedTenant { id: tenant.as_str().to_owned(), slug: record.slug.clone() },
            created_at: now_rfc3339(),
            tables: Vec::new(),
        };
        let sealed = SealWriter::new(out, secret)?;
        let mut zstd = zstd::Encoder::new(sealed, LEVEL)?;
        write_line(&mut zstd, &Line::Header(manifest.clone()))?;
        for table in tables {
            let summary = export_table(conn, tenant, table, &mut zstd, progress)?;
            manifest.tables.push(summary);
        }
        write_line(&mut zstd, &Line::Manifest(manifest.clone()))?;
        let sealed = zstd.finish()?;
        let (out, bytes) = sealed.finish()?;
        Ok((manifest, out, bytes))
    })
}

fn write_line(out: &mut impl Write, line: &Line) -> Result<(), ArchiveError> {
    let mut text = serde_json::to_vec(line).map_err(|e| ArchiveError::Content(e.to_string()))?;
    text.push(b'\n');
    out.write_all(&text)?;
    Ok(())
}

fn export_table(
    conn: &mut Db,
    tenant: &TenantId,
    table: TableDef,
    out: &mut impl Write,
    progress: &mut dyn Progress,
) -> Result<TableSummary, ArchiveError> {
    progress.table(table.name);
    write_line(out, &Line::Table { name: table.name.to_owned(), columns: table.columns.clone() })?;
    let summary = each_row_line(conn, tenant, table, progress, |line| Ok(out.write_all(line)?))?;
    write_line(out, &Line::End(summary.clone()))?;
    Ok(summary)
}

/// Hand each of `tenant`'s rows of `table` to `each` as its archive line
/// (canonical JSON array and a newline); returns the table's count and digest.
fn each_row_line(
    conn: &mut Db,
    tenant: &TenantId,
    table: TableDef,
    progress: &mut dyn Progress,
    mut each: impl FnMut(&[u8]) -> Result<(), ArchiveError>,
) -> Result<TableSummary, ArchiveError> {
    let name = table.name.to_owned();
    let mut reader = RowReader::new(conn, table, tenant.as_str())?;
    let mut digest = RowDigest::default();
    let mut rows = 0u64;
    loop {
        let page = reader.next_page(conn, PAGE)?;
        if page.is_empty() {
            break;
        }
        for row in &page {
            let mut line = serde_json::to_vec(row).map_err(|e| ArchiveError::Content(e.to_string()))?;
            line.push(b'\n');
            digest.add(&line);
            each(&line)?;
        }
        rows += page.len() as u64;
        progress.rows(page.len() as u64);
    }
    progress.table_done(&name, rows);
    Ok(TableSummary { name, rows, sha256: digest.hex() })
}

/// The count and digest of each of `tenant`'s tables as they are now, as
/// an archive's manifest would list them: compare a tenant with an
/// archive, or two instances after a move, without writing a file.
pub fn summarize(conn: &mut Db, tenant: &TenantId) -> Result<Vec<TableSummary>, ArchiveError> {
    dump::in_snapshot(conn, |conn| {
        let mut summaries = Vec::new();
        for table in dump::in_fk_order(conn, dump::tenant_tables())? {
            summaries.push(each_row_line(conn, tenant, table, &mut Quiet, |_| Ok(()))?);
        }
        Ok(summaries)
    })
}

/// What an import is told.
#[derive(Debug, Default, Clone)]
pub struct ImportOptions {
    /// Import under this slug instead of the archive's.
    pub slug: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The archive's manifest.
    pub manifest: Manifest,
    /// The tenant as imported.
    pub tenant: TenantId,
    /// Its slug here.
    pub slug: String,
}

/// Read only the manifest-bearing header of an archive (opening its first
/// chunk), e.g. to say what a file holds before importing it.
pub fn read_header<R: Read>(input: R, secret: &Secret<'_>) -> Result<Manifest, ArchiveError> {
    let opened = OpenReader::new(input, secret)?;
    let mut lines = BufReader::new(zstd::Decoder::new(opened)?);
    match next_line(&mut lines)? {
        Some(Line::Header(header)) => Ok(header),
        _ => Err(ArchiveError::Content("no header".to_owned())),
    }
}

fn next_line(input: &mut impl BufRead) -> Result<Option<Line>, ArchiveError> {
    let mut text = String::new();
    if input.read_line(&mut text)? == 0 {
        return Ok(None);
    }
    serde_json::from_str(&text).map(Some).map_err(|e| ArchiveError::Content(format!("unreadable line: {e}")))
}

/// Import an archive into this database as a new tenant, in one
/// transaction; `after` runs inside it once every row is in (per-tenant
/// setup a newer binary adds, the audit entry of the import). Refused,
/// with nothing left behind, when the archive does not open, was altered
/// or cut short, is of a newer schema, or names a tenant or slug that
/// exists here.
pub fn import<R: Read>(
    conn: &mut Db,
    input: R,
    secret: &Secret<'_>,
    options: &ImportOptions,
    progress: &mut dyn Progress,
    after: impl FnOnce(&mut Db, &TenantId, &Manifest) -> Result<(), ArchiveError>,
) -> Result<Imported, ArchiveError> {
    let opened = OpenReader::new(input, secret)?;
    let mut input = BufReader::with_capacity(256 * 1024, zstd::Decoder::new(opened)?);
    let Some(Line::Header(header)) = next_line(&mut input)? else {
        return Err(ArchiveError::Content("the first line is not the header".to_owned()));
    };
    if header.format > CONTENT_FORMAT {
        return Err(ArchiveError::Format(u8::try_from(header.format).unwrap_or(u8::MAX)));
    }
    let binary = dump::schema_version();
    if header.schema_version > binary {
        return Err(ArchiveError::NewerSchema { archive: header.schema_version.clone(), binary });
    }
    let tenant = TenantId::from(header.tenant.id.clone());
    let slug = options.slug.clone().unwrap_or_else(|| header.tenant.slug.clone());
    kluis_store::write_tx(conn, |conn| {
        if kluis_store::tenancy::tenants::get(conn, &tenant).is_ok() {
            return Err(ArchiveError::TenantExists);
        }
        if kluis_store::tenancy::tenants::get_by_slug(conn, &slug).is_ok() {
            return Err(ArchiveError::SlugTaken(slug.clone()));
        }
        let known = dump::tenant_tables();
        let mut seen: Vec<TableSummary> = Vec::new();
        let manifest = loop {
            match next_line(&mut input)? {
                None => return Err(ArchiveError::Truncated),
                Some(Line::Table { name, columns }) => {
                    let table = known
                        .iter()
                        .find(|t| t.name == name)
                        .ok_or_else(|| ArchiveError::Content(format!("unknown table {name}")))?;
                    let summary = import_table(conn, table, &columns, &header, Some(&slug), &mut input, progress)?;
                    seen.push(summary);
                }
                Some(Line::Manifest(manifest)) => break manifest,
                Some(_) => return Err(ArchiveError::Content("a line out of place".to_owned())),
            }
        };
        if manifest.tables != seen
            || manifest.tenant != header.tenant
            || manifest.schema_version != header.schema_version
        {
            return Err(ArchiveError::Content("the manifest does not match the rows".to_owned()));
        }
        // Nothing may follow the manifest (the envelope checks the end).
        let mut rest = Vec::new();
        input.read_to_end(&mut rest)?;
        if !rest.is_empty() {
            return Err(ArchiveError::Content("data after the manifest".to_owned()));
        }
        after(conn, &tenant, &manifest)?;
        Ok(Imported { manifest, tenant: tenant.clone(), slug: slug.clone() })
    })
}

/// Read one table's rows from the archive, checking each belongs to the
/// archive's tenant and the whole matches its count and digest; insert them
/// unless `slug` is `None` and the table is kept (a restore reads past the
/// tables it keeps as they are).
fn import_table(
    conn: &mut Db,
    table: &TableDef,
    columns: &[ColumnDef],
    header: &Manifest,
    slug: Option<&str>,
    input: &mut impl BufRead,
    progress: &mut dyn Progress,
) -> Result<TableSummary, ArchiveError> {
    for column in columns {
        let ours = table.columns.iter().find(|c| c.name == column.name);
        if ours.is_none_or(|c| c.kind != column.kind) {
            return Err(ArchiveError::Content(format!("table {}: column {} does not match", table.name, column.name)));
        }
    }
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let tenant_at = names.iter().position(|n| n == table.tenant_column());
    let slug_at = if table.name == "tenants" { names.iter().position(|n| n == "slug") } else { None };
    let insert = slug.is_some() || !KEPT_ON_RESTORE.contains(&table.name);
    progress.table(table.name);
    let mut digest = RowDigest::default();
    let mut rows = 0u64;
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH);
    let mut text = String::new();
    loop {
        text.clear();
        if input.read_line(&mut text)? == 0 {
            return Err(ArchiveError::Truncated);
        }
        if !text.starts_with('[') {
            break;
        }
        digest.add(text.as_bytes());
        let mut row: Vec<Value> =
            serde_json::from_str(&text).map_err(|e| ArchiveError::Content(format!("table {}: {e}", table.name)))?;
        // Every row must belong to the archive's tenant.
        if tenant_at.is_none_or(|i| row.get(i).and_then(Value::as_str) != Some(header.tenant.id.as_str())) {
            return Err(ArchiveError::Content(format!("table {}: a row of another tenant", table.name)));
        }
        if let (Some(i), Some(slug)) = (slug_at, slug) {
            row[i] = Value::String(slug.to_owned());
        }
        rows += 1;
        if !insert {
            continue;
        }
        batch.push(row);
        if batch.len() == BATCH {
            dump::insert_rows(conn, table, &names, &batch)?;
            progress.rows(batch.len() as u64);
            batch.clear();
        }
    }
    if !batch.is_empty() {
        dump::insert_rows(conn, table, &names, &batch)?;
        progress.rows(batch.len() as u64);
    }
    let Ok(Line::End(end)) = serde_json::from_str::<Line>(&text) else {
        return Err(ArchiveError::Content(format!("table {}: no end line", table.name)));
    };
    let summary = TableSummary { name: table.name.to_owned(), rows, sha256: digest.hex() };
    if end != summary {
        return Err(ArchiveError::Content(format!("table {}: rows do not match their count or digest", table.name)));
    }
    progress.table_done(table.name, rows);
    Ok(summary)
}

/// Tables a restore leaves as they are: the tenant's own row (its slug and
/// status are the platform's), its API clients (a client revoked since the
/// backup stays revoked, and the one restoring keeps working), the audit
/// chain (append-only: the restore is its next entry), the erasure key,
/// ledger and receipts (what was erased stays known, so that it can be
/// erased again), and the outbox (messages already sent are not sent again).
pub const KEPT_ON_RESTORE: [&str; 9] = [
    "tenants",
    "api_clients",
    "audit_heads",
    "audit_events",
    "subject_keys",
    "erasure_keys",
    "erasure_ledger",
    "erasure_receipts",
    "outbox",
];

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// Rows removed from the tenant's tables before the backup's went in.
    pub rows_removed: u64,
    /// Rows put back.
    pub rows_restored: u64,
}

/// Replace `tenant`'s data with an archive of it, in one transaction: every
/// table but those in [`KEPT_ON_RESTORE`] is emptied of the tenant's rows
/// and filled with the archive's; `after` runs inside the same transaction
/// once every row is in (re-applying the erasure ledger, the audit entry).
/// Refused, with nothing changed, when the archive does not open, was
/// altered or cut short, is of a newer schema, or is of another tenant.
pub fn restore<R: Read>(
    conn: &mut Db,
    tenant: &TenantId,
    input: R,
    secret: &Secret<'_>,
    progress: &mut dyn Progress,
    after: impl FnOnce(&mut Db, &Manifest) -> Result<(), ArchiveError>,
) -> Result<Restored, ArchiveError> {
    let opened = OpenReader::new(input, secret)?;
    let mut input = BufReader::with_capacity(256 * 1024, zstd::Decoder::new(opened)?);
    let Some(Line::Header(header)) = next_line(&mut input)? else {
        return Err(ArchiveError::Content("the first line is not the header".to_owned()));
    };
    if header.format > CONTENT_FORMAT {
        return Err(ArchiveError::Format(u8::try_from(header.format).unwrap_or(u8::MAX)));
    }
    let binary = dump::schema_version();
    if header.schema_version > binary {
        return Err(ArchiveError::NewerSchema { archive: header.schema_version.clone(), binary });
    }
    if header.tenant.id != tenant.as_str() {
        return Err(ArchiveError::Content("the archive is of another tenant".to_owned()));
    }
    kluis_store::write_tx(conn, |conn| {
        let ordered = dump::in_fk_order(conn, dump::tenant_tables())?;
        let mut rows_removed = 0;
        for table in ordered.iter().rev().filter(|t| !KEPT_ON_RESTORE.contains(&t.name)) {
            rows_removed += dump::delete_rows(conn, table, tenant.as_str())?;
        }
        let mut seen: Vec<TableSummary> = Vec::new();
        let manifest = loop {
            match next_line(&mut input)? {
                None => return Err(ArchiveError::Truncated),
                Some(Line::Table { name, columns }) => {
                    let table = ordered
                        .iter()
                        .find(|t| t.name == name)
                        .ok_or_else(|| ArchiveError::Content(format!("unknown table {name}")))?;
                    seen.push(import_table(conn, table, &columns, &header, None, &mut input, progress)?);
                }
                Some(Line::Manifest(manifest)) => break manifest,
                Some(_) => return Err(ArchiveError::Content("a line out of place".to_owned())),
            }
        };
        if manifest.tables != seen
            || manifest.tenant != header.tenant
            || manifest.schema_version != header.schema_version
        {
            return Err(ArchiveError::Content("the manifest does not match the rows".to_owned()));
        }
        let mut rest = Vec::new();
        input.read_to_end(&mut rest)?;
        if !rest.is_empty() {
            return Err(ArchiveError::Content("data after the manifest".to_owned()));
        }
        after(conn, &manifest)?;
        let rows_restored = seen.iter().filter(|t| !KEPT_ON_RESTORE.contains(&t.name.as_str())).map(|t| t.rows).sum();
        Ok(Restored { manifest, rows_removed, rows_restored })
    })
}
