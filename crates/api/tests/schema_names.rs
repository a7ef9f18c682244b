//! Every schema of the contract has a name of its own. utoipa keys the
//! document's components by name, so two Rust types that derive `ToSchema`
//! under one name (`ActionView` of consent and of retention did) leave one
//! of them described by the other's schema, silently: generated clients
//! then refuse the right values. This reads the sources of every crate and
//! fails on a name used twice; `#[schema(as = ...)]` gives one a new name.

#![allow(clippy::unwrap_used, reason = "a test: a failure should panic")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The schema names a file declares: each `struct` or `enum` whose
/// attributes derive `ToSchema`, under its `#[schema(as = ...)]` name if any.
fn schema_names(source: &str) -> Vec<String> {
    let lines: Vec<&str> = source.lines().collect();
    let mut names = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == "struct" || *w == "enum") else { continue };
        if !words[..at].iter().all(|w| w.starts_with("pub")) || at + 1 >= words.len() {
            continue;
        }
        let ident: String = words[at + 1].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let attributes: Vec<&str> = lines[..i]
            .iter()
            .rev()
            .map(|l| l.trim())
            .take_while(|l| l.starts_with('#') || l.starts_with("//") || l.ends_with(',') || l.ends_with(")]"))
            .collect();
        if !attributes.iter().any(|a| a.contains("ToSchema")) {
            continue;
        }
        let renamed = attributes.iter().find_map(|a| {
            let (_, rest) = a.split_once("schema(as = ")?;
            let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            path.rsplit("::").next().map(str::to_owned)
        });
        names.push(renamed.unwrap_or(ident));
    }
    names
}

#[test]
fn no_two_types_share_a_schema_name() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    rust_files(crates, &mut files);
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files.iter().filter(|f| f.components().any(|c| c.as_os_str() == "src")) {
        for name in schema_names(&std::fs::read_to_string(file).unwrap()) {
            seen.entry(name).or_default().push(file.strip_prefix(crates).unwrap().display().to_string());
        }
    }
    assert!(seen.len() > 100, "the scan finds the contract's schemas ({} found)", seen.len());
    let shared: Vec<_> = seen.iter().filter(|(_, files)| files.len() > 1).collect();
    assert!(shared.is_empty(), "schema names declared twice (give one `#[schema(as = ...)]`): {shared:#?}");
}

#[test]
fn the_scan_reads_names_and_renames() {
    let source = "/// Doc.\n#[derive(Serialize, ToSchema)]\n#[serde(rename_all = \"snake_case\")]\n#[schema(as = ConsentActionView)]\npub enum ActionView {\n}\n#[derive(ToSchema)]\npub struct Page<T> {}\n#[derive(Debug)]\npub struct NotASchema;\n";
    assert_eq!(schema_names(source), ["ConsentActionView", "Page"]);
}
