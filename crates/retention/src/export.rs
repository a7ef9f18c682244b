//! A person's export as files: the JSON document, and a ZIP with that
//! document and one CSV per table for people who open it in a spreadsheet.
//! Cells that a spreadsheet would run as a formula are defused (OWASP's
//! CSV-injection advice: a leading `'`), numbers and phone numbers aside.

use std::collections::BTreeMap;
use std::io::Write;

use kluis_core::{DomainError, Result};
use serde_json::Value;

/// The name of the JSON document inside the ZIP.
pub const DOCUMENT: &str = "export.json";

fn internal(e: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(format!("export: {e}"))
}

/// A cell that a spreadsheet would evaluate (`=`, `@`, `+`, `-`, a tab or a
/// carriage return first) gets a leading `'`, unless it is a plain number
/// or phone number such as `+31612345678` or `-3`.
fn defuse(text: String) -> String {
    let Some(first) = text.chars().next() else { return text };
    let numeric = |rest: &str| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '(' | ')' | '-'))
    };
    let risky = match first {
        '=' | '@' | '\t' | '\r' => true,
        '+' | '-' => !numeric(&text[1..]),
        _ => false,
    };
    if risky { format!("'{text}") } else { text }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => defuse(s.clone()),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => defuse(other.to_string()),
    }
}

/// One CSV of `rows` (JSON objects): a header of every key, in the order
/// first seen, then a line per row; nested values as JSON text.
pub fn csv(rows: &[Value]) -> Result<Vec<u8>> {
    let mut columns: Vec<&str> = Vec::new();
    for row in rows {
        if let Value::Object(map) = row {
            for key in map.keys() {
                if !columns.contains(&key.as_str()) {
                    columns.push(key);
                }
            }
        }
    }
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer.write_record(&columns).map_err(internal)?;
    for row in rows {
        let record: Vec<String> = columns.iter().map(|c| row.get(*c).map(cell).unwrap_or_default()).collect();
        writer.write_record(&record).map_err(internal)?;
    }
    writer.into_inner().map_err(internal)
}

/// The ZIP: `export.json` (the whole document) and `<table>.csv` for each
/// table of `tables`.
pub fn zip(document: &Value, tables: &BTreeMap<String, Vec<Value>>) -> Result<Vec<u8>> {
    let mut zip = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = ::zip::write::SimpleFileOptions::default()
        .compression_method(::zip::CompressionMethod::Deflated)
        .unix_permissions(0o600);
    zip.start_file(DOCUMENT, options).map_err(internal)?;
    zip.write_all(&serde_json::to_vec_pretty(document).map_err(internal)?).map_err(internal)?;
    for (table, rows) in tables {
        zip.start_file(format!("{table}.csv"), options).map_err(internal)?;
        zip.write_all(&csv(rows)?).map_err(internal)?;
    }
    Ok(zip.finish().map_err(internal)?.into_inner())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a failure should panic")]

    use serde_json::json;

    use super::*;

    #[test]
    fn csv_has_every_key_as_a_column_and_nested_values_as_json() {
        let rows = vec![json!({"id": "a", "n": 1}), json!({"id": "b", "screen": {"width": 3}, "x": null})];
        let text = String::from_utf8(csv(&rows).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "id,n,screen,x");
        assert_eq!(lines[1], "a,1,,");
        assert_eq!(lines[2], "b,,\"{\"\"width\"\":3}\",");
    }

    #[test]
    fn formulas_are_defused_and_phone_numbers_are_not() {
        assert_eq!(defuse("=HYPERLINK(\"x\")".into()), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("@SUM(A1)".into()), "'@SUM(A1)");
        assert_eq!(defuse("+cmd|' /C calc'!A0".into()), "'+cmd|' /C calc'!A0");
        assert_eq!(defuse("-2+3+cmd".into()), "'-2+3+cmd");
        assert_eq!(defuse("+31612345678".into()), "+31612345678");
        assert_eq!(defuse("-3".into()), "-3");
        assert_eq!(defuse("Jansen".into()), "Jansen");
        assert_eq!(defuse(String::new()), "");
    }

    #[test]
    fn zip_holds_the_document_and_a_csv_per_table() {
        let mut tables = BTreeMap::new();
        tables.insert("devices".to_owned(), vec![json!({"id": "d1"})]);
        tables.insert("people".to_owned(), vec![json!({"id": "p1", "first_name": "Ada"})]);
        let bytes = zip(&json!({"hello": "world"}), &tables).unwrap();
        let mut archive = ::zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut names: Vec<String> = archive.file_names().map(|n| n.unwrap().into_owned()).collect();
        names.sort();
        assert_eq!(names, vec!["devices.csv", "export.json", "people.csv"]);
        let mut people = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("people.csv").unwrap(), &mut people).unwrap();
        assert_eq!(people, "first_name,id\nAda,p1\n");
    }
}
