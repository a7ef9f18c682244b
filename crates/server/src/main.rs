//! The `kluis` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use figment::Figment;
use figment::providers::Serialized;
use kluis_server::settings::{ENVIRONMENT, LogFormat, Settings};
use kluis_server::{Application, startup, telemetry};
use serde::Serialize;

fn environment_help() -> String {
    let mut text = String::from("Environment (overridden by flags; a --config file sits below them):\n");
    for (name, what) in ENVIRONMENT {
        text.push_str(&format!("  {name:<30} {what}\n"));
    }
    text
}

/// kluis: personal data kept the way the GDPR asks. Serves the HTTP API by default.
#[derive(Parser)]
#[command(name = "kluis", version, after_help = environment_help())]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "KLUIS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Flags that override the file and the environment.
#[derive(clap::Args, Serialize, Default)]
struct Overrides {
    /// Data directory.
    #[arg(long, global = true, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, global = true, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    /// Listen address.
    #[arg(long, global = true, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    bind: Option<String>,
    /// Log filter.
    #[arg(long, global = true, value_name = "FILTER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<String>,
    /// Log format.
    #[arg(long, global = true, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<LogFormat>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and per-tenant setup, and exit.
    Migrate,
    /// Print the OpenAPI document (3.1; `--openapi-3-0`: the same contract in OpenAPI 3.0.3).
    Openapi {
        /// Print the OpenAPI 3.0.3 form (for generators that read only 3.0).
        #[arg(long = "openapi-3-0")]
        v3_0: bool,
    },
    /// Platform operator clients.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// A tenant's audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Retention: apply a tenant's policies.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Whole-tenant archives: export a tenant, import one (also across backends).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Write a snapshot of the whole database to FILE now, while the server
    /// runs (SQLite: `VACUUM INTO`, online; PostgreSQL: `pg_dump --format=custom`).
    /// Migrates nothing.
    Backup {
        /// The file to write; it must not exist.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The snapshots written before migrations, in `<data_dir>/snapshots`
    /// (never deleted by kluis itself).
    Snapshots {
        #[command(subcommand)]
        command: SnapshotsCommand,
    },
}

#[derive(Subcommand)]
enum SnapshotsCommand {
    /// Print the snapshots, oldest first, as NDJSON (id, path, format, taken_at, schema_version, bytes).
    List,
    /// Delete one snapshot by its id.
    Delete {
        /// The snapshot's id (`kluis snapshots list`).
        id: String,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Write a tenant's whole data to one sealed, compressed archive (one
    /// consistent snapshot; the server may keep running). Prints the manifest as JSON.
    Export {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The archive to write (`-` for standard output).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Seal with the passphrase in this file (first line) instead of the
        /// master key, so any kluis given it can import the archive.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Import an archive as a new tenant, in one transaction: refused, with
    /// nothing imported, when it was altered or cut short, is of a newer
    /// schema, or its tenant or slug exists here. Prints the manifest as JSON.
    Import {
        /// The archive to read.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// Import under this slug instead of the archive's.
        #[arg(long = "as", value_name = "SLUG")]
        as_slug: Option<String>,
        /// The passphrase the archive was sealed with, in this file (first line).
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Restore a backup (`GET /v1/backups` lists them) in one transaction:
    /// the tenant's data replaced by the backup's, then everyone erased
    /// since the backup was made erased again. When the backup's tenant no
    /// longer exists here, it is brought back whole (under `--as SLUG`, or
    /// its old slug). Prints what was done as JSON.
    Restore {
        /// The backup's id.
        #[arg(long, value_name = "ID")]
        backup: String,
        /// Bring a tenant that no longer exists here back under this slug.
        #[arg(long = "as", value_name = "SLUG")]
        as_slug: Option<String>,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Sweep a tenant now, with a progress bar on stderr; print the sweep as JSON.
    Sweep {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// Count what would be removed and remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the chain; print the result as JSON and exit 1 when it is broken.
    Verify {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
    },
    /// Print every entry in chain order as NDJSON.
    Export {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Create an operator client and print its credentials as JSON (the secret is shown only now).
    CreateClient {
        /// Display name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new signing key current; the old one stays published until its tokens expire.
    Rotate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi { v3_0 }) = cli.command {
        let json = if v3_0 {
            serde_json::to_string_pretty(&kluis_api::openapi_3_0())
        } else {
            serde_json::to_string_pretty(&kluis_api::openapi())
        };
        return match json {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        };
    }
    let settings = match Settings::load(cli.config.as_deref(), Figment::from(Serialized::defaults(&cli.overrides))) {
        Ok(settings) => settings,
        Err(e) => return fail(&e.to_string()),
    };
    telemetry::init(&settings.log, settings.log_format);
    if let Some(Command::Audit { command }) = &cli.command {
        return match audit(&settings, command) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => fail(&e),
        };
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&settings),
        Command::Migrate => startup::open_database(&settings).map(|_| ()).map_err(|e| e.to_string()),
        Command::Openapi { .. } | Command::Audit { .. } => Ok(()),
        Command::Retention { command: RetentionCommand::Sweep { tenant, dry_run } } => {
            sweep(&settings, &tenant, dry_run)
        }
        Command::Operator { command: OperatorCommand::CreateClient { name } } => create_operator(&settings, &name),
        Command::Keys { command: KeysCommand::Rotate } => rotate_keys(&settings),
        Command::Tenant { command } => tenant_archive(&settings, command),
        Command::Backup { out } => backup(&settings, &out),
        Command::Snapshots { command } => snapshots(&settings, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("kluis: {message}");
    ExitCode::FAILURE
}

fn serve(settings: &Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async {
        let app = Application::build(settings).map_err(|e| e.to_string())?;
        tracing::info!(url = %settings.public_url(), "kluis is serving");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn create_operator(settings: &Settings, name: &str) -> Result<(), String> {
    let prepared = startup::prepare(settings).map_err(|e| e.to_string())?;
    let mut conn = prepared.pool.get().map_err(|e| e.to_string())?;
    let issued = kluis_store::tenancy::operator::create(&mut conn, name).map_err(|e| e.to_string())?;
    let json = serde_json::json!({"client_id": issued.client_id.as_str(), "client_secret": issued.secret.as_str()});
    println!("{json}");
    Ok(())
}

fn rotate_keys(settings: &Settings) -> Result<(), String> {
    let prepared = startup::prepare(settings).map_err(|e| e.to_string())?;
    let mut conn = prepared.pool.get().map_err(|e| e.to_string())?;
    let ttl = kluis_api::auth::publication_window(settings.access_token_ttl());
    let kid = kluis_store::tenancy::keys::rotate(&mut conn, &prepared.master, ttl).map_err(|e| e.to_string())?;
    println!("{}", serde_json::json!({"kid": kid}));
    Ok(())
}

/// Verify or export a tenant's audit log; `Ok(false)` when the chain is broken.
fn audit(settings: &Settings, command: &AuditCommand) -> Result<bool, String> {
    let pool = startup::open_database(settings).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let slug = match command {
        AuditCommand::Verify { tenant } | AuditCommand::Export { tenant } => tenant,
    };
    let tenant = kluis_store::tenancy::tenants::get_by_slug(&mut conn, slug)
        .map_err(|_| format!("no tenant with slug `{slug}`"))?;
    match command {
        AuditCommand::Verify { .. } => {
            let result = kluis_app::audit_log::verify_chain(&mut conn, &tenant.id).map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string(&result).map_err(|e| e.to_string())?);
            Ok(result.ok)
        }
        AuditCommand::Export { .. } => {
            use std::io::Write;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut failed = None;
            kluis_app::audit_log::export(&mut conn, &tenant.id, |event| {
                let line = serde_json::to_string(&kluis_api::routes::audit::AuditEvent::from(event));
                if let Err(e) =
                    line.map_err(|e| e.to_string()).and_then(|l| writeln!(out, "{l}").map_err(|e| e.to_string()))
                {
                    failed.get_or_insert(e);
                }
            })
            .map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())?;
            failed.map_or(Ok(true), Err)
        }
    }
}

/// Sweep a tenant now, as the API and the worker do, with a progress bar
/// whose length is what a count finds due first.
fn sweep(settings: &Settings, slug: &str, dry_run: bool) -> Result<(), String> {
    let pool = startup::open_database(settings).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let tenant = kluis_store::tenancy::tenants::get_by_slug(&mut conn, slug)
        .map_err(|_| format!("no tenant with slug `{slug}`"))?;
    let holders = startup::holders();
    let due = kluis_app::retention::count_due(&mut conn, &holders, &tenant.id).map_err(|e| e.to_string())?;
    let bar = indicatif::ProgressBar::new(due.total);
    let style =
        indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} rows {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(if dry_run { "counted" } else { "swept" });
    let audit = kluis_app::retention::system_audit(&tenant.id);
    let options = settings.sweep_options(dry_run);
    let trigger = kluis_retention::sweeper::Trigger::Cli;
    let sweep =
        kluis_app::retention::sweep_now(&mut conn, &holders, &audit, trigger, &options, &mut |rows| bar.inc(rows))
            .map_err(|e| e.to_string())?;
    bar.finish();
    let view = kluis_api::routes::retention::SweepView::from(sweep);
    println!("{}", serde_json::to_string(&view).map_err(|e| e.to_string())?);
    Ok(())
}

/// A passphrase from `--passphrase-file` (its first line) or
/// `KLUIS_ARCHIVE_PASSPHRASE`; none means the master key.
fn passphrase(file: Option<&std::path::Path>) -> Result<Option<zeroize::Zeroizing<String>>, String> {
    let text = match file {
        Some(path) => zeroize::Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| format!("passphrase file {}: {e}", path.display()))?,
        ),
        None => match std::env::var("KLUIS_ARCHIVE_PASSPHRASE") {
            Ok(value) => zeroize::Zeroizing::new(value),
            Err(_) => return Ok(None),
        },
    };
    let line = zeroize::Zeroizing::new(text.lines().next().unwrap_or_default().to_owned());
    if line.chars().count() < kluis_app::archives::MIN_PASSPHRASE {
        return Err(format!("the passphrase must have at least {} characters", kluis_app::archives::MIN_PASSPHRASE));
    }
    Ok(Some(line))
}

/// Progress of an export or import on stderr: bars on a terminal, plain
/// lines (one per table) otherwise.
struct CliProgress {
    bar: Option<indicatif::ProgressBar>,
    verb: &'static str,
}

impl CliProgress {
    fn new(verb: &'static str) -> CliProgress {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} rows {msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        CliProgress { bar, verb }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl kluis_backup::Progress for CliProgress {
    fn start(&mut self, tables: u64, rows: u64) {
        match &self.bar {
            Some(bar) => bar.set_length(rows),
            None => eprintln!("kluis: {} {tables} tables, {rows} rows", self.verb),
        }
    }
    fn table(&mut self, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(name.to_owned());
        }
    }
    fn rows(&mut self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }
    fn table_done(&mut self, name: &str, rows: u64) {
        if self.bar.is_none() {
            eprintln!("kluis: {} {name}: {rows} rows", self.verb);
        }
    }
}

/// `kluis backup --out FILE`: the database as it is, without migrating it.
fn backup(settings: &Settings, out: &std::path::Path) -> Result<(), String> {
    let url = settings.database_url();
    let mut conn = kluis_store::Db::open(&url).map_err(|e| format!("database: {e}"))?;
    kluis_server::snapshots::write(&mut conn, &url, out).map_err(|e| e.to_string())?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    eprintln!("kluis: wrote {} ({bytes} bytes)", out.display());
    Ok(())
}

/// `kluis snapshots list|delete`.
fn snapshots(settings: &Settings, command: SnapshotsCommand) -> Result<(), String> {
    use kluis_server::snapshots;
    match command {
        SnapshotsCommand::List => {
            for snapshot in snapshots::list(&settings.data_dir).map_err(|e| e.to_string())? {
                println!("{}", serde_json::to_string(&snapshot).map_err(|e| e.to_string())?);
            }
        }
        SnapshotsCommand::Delete { id } => {
            let gone = snapshots::delete(&settings.data_dir, &id).map_err(|e| e.to_string())?;
            eprintln!("kluis: deleted {}", gone.path.display());
        }
    }
    Ok(())
}

/// `kluis tenant export|import|restore`.
fn tenant_archive(settings: &Settings, command: TenantCommand) -> Result<(), String> {
    let prepared = startup::prepare(settings).map_err(|e| e.to_string())?;
    let mut conn = prepared.pool.get().map_err(|e| e.to_string())?;
    match command {
        TenantCommand::Export { tenant, out, passphrase_file } => {
            let phrase = passphrase(passphrase_file.as_deref())?;
            let secret = match &phrase {
                Some(p) => kluis_backup::Secret::Passphrase(p.as_str()),
                None => kluis_backup::Secret::Master(&prepared.master),
            };
            let tenant = kluis_store::tenancy::tenants::get_by_slug(&mut conn, &tenant)
                .map_err(|_| format!("no tenant with slug `{tenant}`"))?;
            let mut progress = CliProgress::new("exported");
            let result = kluis_app::archives::export_to(&mut conn, &tenant.id, &out, &secret, &mut progress);
            progress.finish();
            let (manifest, bytes) = result.map_err(|e| e.to_string())?;
            if out != std::path::Path::new("-") {
                println!("{}", serde_json::to_string(&manifest).map_err(|e| e.to_string())?);
            }
            eprintln!("kluis: wrote {} ({bytes} bytes)", out.display());
            Ok(())
        }
        TenantCommand::Import { file, as_slug, passphrase_file } => {
            if let Some(slug) = &as_slug {
                let mut errors = Vec::new();
                kluis_store::tenancy::rules::check_slug(slug, &mut errors);
                if !errors.is_empty() {
                    return Err(format!("--as `{slug}` is not a valid slug (lowercase letters, digits and dashes)"));
                }
            }
            let kind = kluis_app::archives::key_kind_of(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let phrase = if kind == "passphrase" { passphrase(passphrase_file.as_deref())? } else { None };
            let secret = match &phrase {
                Some(p) => kluis_backup::Secret::Passphrase(p.as_str()),
                None => kluis_backup::Secret::Master(&prepared.master),
            };
            let options = kluis_backup::ImportOptions { slug: as_slug };
            let mut progress = CliProgress::new("imported");
            let result = kluis_app::archives::import_from(&mut conn, &file, &secret, &options, &mut progress);
            progress.finish();
            let imported = result.map_err(|e| format!("{}: {e}", file.display()))?;
            println!("{}", serde_json::to_string(&imported.manifest).map_err(|e| e.to_string())?);
            eprintln!("kluis: imported tenant {} as `{}`", imported.tenant, imported.slug);
            Ok(())
        }
        TenantCommand::Restore { backup, as_slug } => {
            if let Some(slug) = &as_slug {
                let mut errors = Vec::new();
                kluis_store::tenancy::rules::check_slug(slug, &mut errors);
                if !errors.is_empty() {
                    return Err(format!("--as `{slug}` is not a valid slug (lowercase letters, digits and dashes)"));
                }
            }
            let store = kluis_backup::store::BackupStore::open(&settings.backup_target())?;
            let holders = startup::holders();
            let result =
                kluis_app::backups::restore_cli(&mut conn, &holders, &prepared.master, &store, &backup, as_slug);
            let restored = result.map_err(|e| match e {
                kluis_core::DomainError::NotFound => format!("no backup {backup}"),
                other => other.to_string(),
            })?;
            let report = serde_json::json!({
                "backup_id": restored.backup.id,
                "tenant_id": restored.tenant.as_str(),
                "slug": restored.slug,
                "in_place": restored.in_place,
                "re_erasures": restored.re_erasures,
            });
            println!("{report}");
            eprintln!(
                "kluis: restored backup {} into `{}`; {} erased people erased again",
                restored.backup.id, restored.slug, restored.re_erasures
            );
            Ok(())
        }
    }
}
