//! A real `kluis` process per backend, and the PostgreSQL databases the run
//! creates and drops.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Res;

pub const PG_HOST: &str = "127.0.0.1";
pub const PG_PORT: &str = "5432";
pub const PG_USER: &str = "postgres";

/// A fresh database name, `kluis_bench_<random>`.
pub fn random_db_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}_{:x}{:x}", std::process::id(), nanos & 0xffff_ffff)
}

/// Run SQL as the postgres superuser on the maintenance database.
pub fn psql(sql: &str) -> Res<()> {
    let output = Command::new("psql")
        .args(["-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if !output.status.success() {
        return Err(format!("psql `{sql}`: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(())
}

/// A database created for the run and dropped when this is dropped.
#[derive(Debug)]
pub struct Database {
    pub name: String,
}

impl Database {
    pub fn create(prefix: &str) -> Res<Database> {
        let name = random_db_name(prefix);
        psql(&format!("CREATE DATABASE {name}"))?;
        Ok(Database { name })
    }

    pub fn url(&self) -> String {
        format!("postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Err(e) = psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)) {
            eprintln!("bench: could not drop database {}: {e}", self.name);
        }
    }
}

fn free_port() -> Res<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running kluis.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    /// The database it serves, for the bulk seed.
    pub database_url: String,
    _dir: tempfile::TempDir,
    _database: Option<Database>,
}

impl Server {
    /// Start `bin` with its data in a new temp dir, on SQLite or on `database`.
    pub fn start(bin: &Path, database: Option<Database>) -> Res<Server> {
        let dir = tempfile::Builder::new().prefix("kluis-bench-").tempdir()?;
        let data_dir = dir.path().join("data");
        let port = free_port()?;
        let log = std::fs::File::create(dir.path().join("kluis.log"))?;
        let mut command = Command::new(bin);
        command.current_dir(dir.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("KLUIS_") {
                command.env_remove(key);
            }
        }
        command
            .env("KLUIS_DATA_DIR", &data_dir)
            .env("KLUIS_BIND", format!("127.0.0.1:{port}"))
            .env("KLUIS_LOG", "warn")
            // No sweeps of its own: `check_during_sweep` starts the one it
            // measures, and no other scenario shares the machine with one.
            .env("KLUIS_RETENTION_SWEEP_INTERVAL_SECS", "0")
            // Nor scheduled backups: a backup of the million-person tenant
            // would run beside whatever scenario is measured.
            .env("KLUIS_BACKUP_INTERVAL_SECS", "0")
            .stdout(Stdio::null())
            .stderr(log);
        let database_url = match &database {
            Some(database) => database.url(),
            None => format!("sqlite://{}", data_dir.join("kluis.db").display()),
        };
        command.env("KLUIS_DATABASE_URL", &database_url);
        let child = command.arg("serve").spawn().map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
            database_url,
            _dir: dir,
            _database: database,
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Res<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("kluis exited at start ({status}); see its log").into());
            }
            // A raw HTTP/1.0 probe: no client needed before the runtime starts.
            if let Ok(mut stream) = std::net::TcpStream::connect(self.base.trim_start_matches("http://")) {
                use std::io::{Read, Write};
                if stream.write_all(b"GET /health/ready HTTP/1.0\r\n\r\n").is_ok() {
                    let mut answer = String::new();
                    let _ = stream.read_to_string(&mut answer);
                    if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
                        return Ok(());
                    }
                }
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err("kluis did not become ready in 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reset the peak RSS (`VmHWM`) so the next reading covers one scenario.
    pub fn reset_peak_rss(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    /// Peak RSS (`VmHWM`) in MiB.
    pub fn peak_rss_mib(&self) -> Res<f64> {
        self.status_mib("VmHWM")
    }

    /// RSS now (`VmRSS`) in MiB: what the process holds, which the peak
    /// after a reset starts from (glibc keeps freed memory in its arenas).
    pub fn rss_mib(&self) -> Res<f64> {
        self.status_mib("VmRSS")
    }

    fn status_mib(&self, field: &str) -> Res<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix(field).and_then(|l| l.strip_prefix(':')))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("no {field} in /proc/<pid>/status"))?;
        Ok(kib / 1024.0)
    }

    /// The last `n` lines kluis logged (warnings and errors: it runs with
    /// `KLUIS_LOG=warn`), to show why requests failed.
    pub fn log_tail(&self, n: usize) -> String {
        let log = std::fs::read_to_string(self._dir.path().join("kluis.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
