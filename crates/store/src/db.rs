//! The connection: one diesel `MultiConnection` over SQLite and PostgreSQL,
//! pooled by r2d2. The backend is chosen by the URL scheme; a URL without a
//! scheme is refused rather than guessed.
//!
//! This module is the single audited place where the two dialects differ
//! (`match conn { Db::Pg(..) => .., Db::Sqlite(..) => .. }`).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::{
    AnsiTransactionManager, Instrumentation, InstrumentationEvent, SimpleConnection, TransactionManager,
};
use diesel::prelude::*;
use diesel::r2d2::{self, CustomizeConnection, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{PgConnection, RunQueryDsl};

/// A database connection: SQLite (embedded default) or PostgreSQL.
#[derive(diesel::MultiConnection)]
pub enum Db {
    /// PostgreSQL, for production and scale.
    Pg(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Db::Pg(_) => "Db::Pg",
            Db::Sqlite(_) => "Db::Sqlite",
        })
    }
}

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://PATH`
    Sqlite,
    /// `postgres://…` or `postgresql://…`
    Postgres,
}

/// Why a database URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// No `scheme://` prefix.
    #[error(
        "database URL has no scheme: use sqlite://PATH or postgres://USER@HOST/DB (a bare path is refused so that a typo never creates an empty database)"
    )]
    NoScheme,
    /// A scheme kluis does not speak.
    #[error("unsupported database URL scheme `{0}`: use sqlite:// or postgres://")]
    Unsupported(String),
    /// `sqlite://` with nothing after it.
    #[error("sqlite:// URL names no file")]
    EmptyPath,
}

impl Backend {
    /// The backend a URL names.
    pub fn of(url: &str) -> Result<Backend, UrlError> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(UrlError::NoScheme);
        };
        match scheme {
            "sqlite" if rest.is_empty() => Err(UrlError::EmptyPath),
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => Err(UrlError::Unsupported(other.to_owned())),
        }
    }
}

/// The file path of a `sqlite://PATH` URL (`sqlite:///abs` is absolute).
pub fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://").filter(|p| !p.is_empty())
}

/// SQLite: copy the whole database to the new file `target` with
/// `VACUUM INTO`, one consistent state read while writers go on (WAL).
/// `Ok(false)` on PostgreSQL, which has no such statement.
pub fn sqlite_copy_into(conn: &mut Db, target: &str) -> QueryResult<bool> {
    match conn {
        Db::Sqlite(c) => {
            diesel::sql_query("VACUUM INTO ?").bind::<diesel::sql_types::Text, _>(target).execute(c)?;
            Ok(true)
        }
        Db::Pg(_) => Ok(false),
    }
}

impl Db {
    /// Open one connection to `url`, by its scheme.
    pub fn open(url: &str) -> ConnectionResult<Db> {
        let backend = Backend::of(url).map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
        match backend {
            Backend::Postgres => PgConnection::establish(url).map(Db::Pg),
            Backend::Sqlite => {
                let path = sqlite_path(url).unwrap_or_default();
                SqliteConnection::establish(path).map(Db::Sqlite)
            }
        }
    }

    /// Which backend this connection is.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Pg(_) => Backend::Postgres,
            Db::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// r2d2 manager that opens [`Db`] connections by URL scheme.
#[derive(Debug, Clone)]
pub struct DbManager {
    url: String,
}

impl ManageConnection for DbManager {
    type Connection = Db;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Db, r2d2::Error> {
        let mut conn = Db::open(&self.url).map_err(r2d2::Error::ConnectionError)?;
        if let Db::Pg(c) = &mut conn {
            c.set_instrumentation(LastAnswer::default());
        }
        Ok(conn)
    }

    /// Checked on every checkout. An embedded SQLite connection cannot go
    /// stale, so it is not pinged. A PostgreSQL one is pinged (with a
    /// prepared statement, not a query parsed anew) unless it answered a
    /// statement within [`PING_AFTER_IDLE`]: a server restart or failover
    /// must not cost requests, but a ping before every request doubles the
    /// round trips of a one-query request such as a consent check.
    fn is_valid(&self, conn: &mut Db) -> Result<(), r2d2::Error> {
        match conn {
            Db::Sqlite(_) => Ok(()),
            Db::Pg(c) => {
                if LastAnswer::within(c, PING_AFTER_IDLE) {
                    return Ok(());
                }
                diesel::select(1i32.into_sql::<diesel::sql_types::Integer>())
                    .get_result::<i32>(c)
                    .map(|_| ())
                    .map_err(r2d2::Error::QueryError)
            }
        }
    }

    fn has_broken(&self, conn: &mut Db) -> bool {
        match conn {
            Db::Pg(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
            Db::Sqlite(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
        }
    }
}

/// How long after its last answer a pooled PostgreSQL connection is handed
/// out without a ping: HikariCP's `aliveBypassWindowMs`, 500 ms. A
/// connection that answered half a second ago almost always answers now.
/// The price: a server restart or failover within that half second costs
/// each connection used in it one request, answered 503 with Retry-After (a
/// closed connection is "unavailable", see `error.rs`); that failure clears
/// the connection's last answer, so its next checkout pings it and r2d2
/// replaces it.
pub const PING_AFTER_IDLE: Duration = Duration::from_millis(500);

/// When a PostgreSQL connection last finished a statement without an error
/// (diesel reports every statement to the connection's instrumentation).
#[derive(Debug, Default)]
struct LastAnswer {
    at: Option<Instant>,
}

impl LastAnswer {
    /// Whether `conn` answered within `window` and has failed no statement since.
    fn within(conn: &mut PgConnection, window: Duration) -> bool {
        conn.instrumentation()
            .downcast_ref::<LastAnswer>()
            .and_then(|last| last.at)
            .is_some_and(|at| at.elapsed() < window)
    }
}

impl Instrumentation for LastAnswer {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { error, .. } = event {
            // Any error, not only a closed connection: a ping more after a
            // constraint violation costs less than telling them apart.
            self.at = if error.is_none() { Some(Instant::now()) } else { None };
        }
    }
}

/// Per-connection settings. SQLite's pragmas hold per connection: without
/// them `ON DELETE CASCADE` silently does nothing and writers fail with
/// SQLITE_BUSY instead of waiting.
#[derive(Debug, Clone, Copy)]
pub struct Customizer {
    busy_timeout_ms: u64,
}

impl CustomizeConnection<Db, r2d2::Error> for Customizer {
    fn on_acquire(&self, conn: &mut Db) -> Result<(), r2d2::Error> {
        if let Db::Sqlite(c) = conn {
            let pragmas = format!(
                "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                self.busy_timeout_ms
            );
            c.batch_execute(&pragmas).map_err(r2d2::Error::QueryError)?;
            let file = sqlite_file(c).map_err(r2d2::Error::QueryError)?;
            WriterQueue::join(file, Duration::from_millis(self.busy_timeout_ms));
        }
        Ok(())
    }
}

/// The one queue of this process's writers to one SQLite file.
///
/// SQLite has one writer at a time. Without a queue, every writer that finds
/// the lock taken sleeps in SQLite's busy handler and polls again after a
/// growing pause (up to 100 ms), so at 64 concurrent writers a commit's
/// waiters are served in no order and some wait seconds while later ones go
/// first (`person_create` p99 2.8 s at 64 writers). A pooled connection's
/// write transaction (see [`write_tx`]) first takes its turn here, in
/// arrival order (`parking_lot`'s fair mutex hands the lock straight to the
/// longest waiter), then `BEGIN IMMEDIATE`, which then finds the lock free
/// unless another process holds it (its busy handler still waits for that).
#[derive(Debug)]
struct WriterQueue {
    turn: parking_lot::FairMutex<()>,
    /// How long a writer waits for its turn: the busy timeout, as SQLite's
    /// own wait would be, after which the write is "unavailable".
    wait: Duration,
}

/// The queues by database file, as SQLite names it.
static WRITER_QUEUES: LazyLock<Mutex<HashMap<String, Arc<WriterQueue>>>> = LazyLock::new(Default::default);

impl WriterQueue {
    /// Make sure `file` has a queue (an in-memory database, named "", has
    /// one writer connection and needs none).
    fn join(file: String, wait: Duration) {
        if file.is_empty() {
            return;
        }
        let mut queues = WRITER_QUEUES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        queues.entry(file).or_insert_with(|| Arc::new(WriterQueue { turn: parking_lot::FairMutex::new(()), wait }));
    }

    /// The queue of the file `conn` is open on, if its pool made one.
    fn of(conn: &mut SqliteConnection) -> QueryResult<Option<Arc<WriterQueue>>> {
        let file = sqlite_file(conn)?;
        let queues = WRITER_QUEUES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(queues.get(&file).cloned())
    }
}

/// The file of a SQLite connection's main database, as SQLite names it.
fn sqlite_file(conn: &mut SqliteConnection) -> QueryResult<String> {
    #[derive(QueryableByName)]
    struct File {
        #[diesel(sql_type = diesel::sql_types::Text)]
        file: String,
    }
    let row: File = diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'").get_result(conn)?;
    Ok(row.file)
}

/// The error a write gets when its turn did not come within the busy
/// timeout: the same as SQLite's own, so it maps to "unavailable".
fn locked() -> diesel::result::Error {
    diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::Unknown,
        Box::new(String::from("database is locked (waited for this process's other writers)")),
    )
}

/// A pool of [`Db`] connections.
pub type DbPool = r2d2::Pool<DbManager>;
/// A connection checked out of the pool.
pub type PooledDb = r2d2::PooledConnection<DbManager>;

/// Pool sizing.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_size: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub connection_timeout: Duration,
    /// SQLite: how long a writer waits for the write lock.
    pub busy_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions { max_size: 16, connection_timeout: Duration::from_secs(5), busy_timeout: Duration::from_secs(10) }
    }
}

/// Build a pool for `url`; a `sqlite://` file is created if missing, and
/// opening one connection up front surfaces a bad URL at startup.
pub fn build_pool(url: &str, options: PoolOptions) -> Result<DbPool, r2d2::Error> {
    let url = match Backend::of(url) {
        Ok(Backend::Postgres) => with_connect_timeout(url, options.connection_timeout),
        _ => url.to_owned(),
    };
    // One direct connection first: a wrong URL or an unreachable server fails
    // at once with its real cause, not after the pool's retries.
    drop(Db::open(&url).map_err(r2d2::Error::ConnectionError)?);
    let busy_timeout_ms = u64::try_from(options.busy_timeout.as_millis()).unwrap_or(u64::MAX);
    r2d2::Pool::builder()
        .max_size(options.max_size)
        .connection_timeout(options.connection_timeout)
        .connection_customizer(Box::new(Customizer { busy_timeout_ms }))
        .build(DbManager { url })
        .map_err(|e| r2d2::Error::ConnectionError(ConnectionError::BadConnection(e.to_string())))
}

/// A PostgreSQL URL with libpq's `connect_timeout` (whole seconds, at least
/// 2) unless it names one: r2d2 opens connections on a few threads of its
/// own, and a server that swallows packets would otherwise hold them for the
/// kernel's TCP timeout, minutes in which the pool cannot recover.
fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={}", secs.max(2))
}

/// How long a request waits for a connection while the pool holds none: a
/// reconnect after r2d2 retired its idle connections takes milliseconds.
pub const OUTAGE_WAIT: Duration = Duration::from_millis(100);

/// A connection for a request. While the database is away the pool holds
/// no connection at all (each one is dropped when its check-out ping fails,
/// and r2d2 keeps reconnecting in the background); a request then gives up
/// after [`OUTAGE_WAIT`], not the whole connection timeout, and is answered
/// "unavailable". Every waiting request holds a blocking thread: with the
/// full timeout, requests would queue behind each other for many timeouts.
pub fn checkout(pool: &DbPool) -> Result<PooledDb, r2d2::PoolError> {
    let started = std::time::Instant::now();
    let timeout = pool.connection_timeout();
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        match pool.get_timeout(left.min(OUTAGE_WAIT)) {
            Ok(conn) => return Ok(conn),
            Err(e) if pool.state().connections == 0 || started.elapsed() >= timeout => return Err(e),
            // Saturated, not gone: wait on, up to the connection timeout.
            Err(_) => {}
        }
    }
}

/// Run `f` in a write transaction. On SQLite the transaction waits for its
/// turn in this process's [`WriterQueue`] for the file, then starts with
/// `BEGIN IMMEDIATE`, taking the write lock up front, so concurrent writers
/// are served in arrival order instead of failing on a lock upgrade or
/// polling in the busy handler. Nested calls become savepoints.
pub fn write_tx<T, E, F>(conn: &mut Db, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Db) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let nested = match conn {
        Db::Pg(c) => in_transaction(c),
        Db::Sqlite(c) => in_transaction(c),
    };
    if nested {
        return conn.transaction(f);
    }
    let queue = match conn {
        Db::Sqlite(c) => WriterQueue::of(c)?,
        Db::Pg(_) => None,
    };
    let _turn = match &queue {
        Some(queue) => Some(queue.turn.try_lock_for(queue.wait).ok_or_else(locked)?),
        None => None,
    };
    match conn {
        Db::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
        Db::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
    }
    match f(conn) {
        Ok(value) => {
            if let Err(commit_error) = <Db as Connection>::TransactionManager::commit_transaction(conn) {
                let _ = <Db as Connection>::TransactionManager::rollback_transaction(conn);
                return Err(commit_error.into());
            }
            Ok(value)
        }
        Err(error) => {
            // The body's own error says what went wrong. A rollback that
            // fails as well (a lost connection, or SQLite having rolled the
            // transaction back itself on SQLITE_FULL, IOERR or BUSY) leaves
            // the transaction manager broken, and the pool drops the
            // connection; answering with the rollback's error ("not in a
            // transaction") would hide the cause.
            match <Db as Connection>::TransactionManager::rollback_transaction(conn) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => {}
                Err(rollback_error) => tracing::warn!(error = %rollback_error, "rollback after a failed write failed"),
            }
            Err(error)
        }
    }
}

/// Take the session-level advisory lock `key` on PostgreSQL, waiting while
/// another connection (another instance) holds it; it is released by
/// [`unlock`], or by the server when the connection closes. On SQLite this
/// does nothing: one instance owns the file.
pub fn lock(conn: &mut Db, key: i64) -> Result<(), diesel::result::Error> {
    if let Db::Pg(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_lock($1)").bind::<diesel::sql_types::BigInt, _>(key).execute(pg)?;
    }
    Ok(())
}

/// Release what [`lock`] took on this connection.
pub fn unlock(conn: &mut Db, key: i64) -> Result<(), diesel::result::Error> {
    if let Db::Pg(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_unlock($1)").bind::<diesel::sql_types::BigInt, _>(key).execute(pg)?;
    }
    Ok(())
}

fn in_transaction<C>(conn: &mut C) -> bool
where
    C: Connection<TransactionManager = AnsiTransactionManager>,
{
    !matches!(AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth(), Ok(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_by_scheme_and_bare_paths_refused() {
        assert_eq!(Backend::of("sqlite://data/kluis.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of("postgres://postgres@localhost/x").unwrap(), Backend::Postgres);
        assert_eq!(Backend::of("postgresql://localhost/x").unwrap(), Backend::Postgres);
        assert!(matches!(Backend::of("data/kluis.db"), Err(UrlError::NoScheme)));
        assert!(matches!(Backend::of("mysql://x"), Err(UrlError::Unsupported(_))));
        assert!(matches!(Backend::of("sqlite://"), Err(UrlError::EmptyPath)));
        assert_eq!(sqlite_path("sqlite:///var/lib/kluis.db"), Some("/var/lib/kluis.db"));
    }

    /// A pool on a fresh SQLite file (kept while the directory lives).
    fn sqlite_pool(options: PoolOptions) -> (tempfile::TempDir, DbPool) {
        let dir = tempfile::tempdir().unwrap();
        let pool = build_pool(&format!("sqlite://{}/t.db", dir.path().display()), options).unwrap();
        (dir, pool)
    }

    #[test]
    fn sqlite_connections_get_their_pragmas() {
        let (_dir, pool) = sqlite_pool(PoolOptions::default());
        let mut conn = pool.get().unwrap();
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            foreign_keys: i64,
        }
        let row: Row = diesel::sql_query("PRAGMA foreign_keys").get_result(&mut *conn).unwrap();
        assert_eq!(row.foreign_keys, 1);
    }

    #[test]
    fn postgres_urls_get_a_connect_timeout_unless_they_name_one() {
        let t = Duration::from_millis(5000);
        assert_eq!(with_connect_timeout("postgres://u@h/db", t), "postgres://u@h/db?connect_timeout=5");
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?sslmode=disable", Duration::from_millis(300)),
            "postgres://u@h/db?sslmode=disable&connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?connect_timeout=9", t),
            "postgres://u@h/db?connect_timeout=9"
        );
    }

    /// Another process holding SQLite's write lock past the busy timeout
    /// makes a write unavailable (retry later), not an internal error.
    #[test]
    fn a_write_lock_held_past_the_busy_timeout_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let url = format!("sqlite://{}", path.display());
        let options = PoolOptions { busy_timeout: Duration::from_millis(50), ..PoolOptions::default() };
        let pool = build_pool(&url, options).unwrap();
        let mut conn = checkout(&pool).unwrap();
        diesel::sql_query("CREATE TABLE t (x INTEGER)").execute(&mut *conn).unwrap();
        let mut holder = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        holder.batch_execute("BEGIN EXCLUSIVE").unwrap();
        let blocked: Result<usize, crate::error::TxError> =
            write_tx(&mut conn, |c| Ok(diesel::sql_query("INSERT INTO t VALUES (1)").execute(c)?));
        let error = kluis_core::DomainError::from(blocked.unwrap_err());
        assert!(matches!(error, kluis_core::DomainError::Unavailable(_)), "{error:?}");
        holder.batch_execute("COMMIT").unwrap();
        write_tx(&mut conn, |c| diesel::sql_query("INSERT INTO t VALUES (2)").execute(c)).unwrap();
    }

    /// Writers of one process take their turns in the order they came: each
    /// waiter below is started once the one before it is waiting, and the
    /// rows come out in that order. (Through SQLite's busy handler alone the
    /// order was whatever its polling found.)
    #[test]
    fn writers_are_served_in_arrival_order() {
        let (_dir, pool) = sqlite_pool(PoolOptions::default());
        let mut conn = pool.get().unwrap();
        diesel::sql_query("CREATE TABLE t (n INTEGER)").execute(&mut *conn).unwrap();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (holding, held) = std::sync::mpsc::channel::<()>();
        let holder = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                write_tx(&mut conn, |c| {
                    diesel::sql_query("INSERT INTO t VALUES (0)").execute(c)?;
                    holding.send(()).unwrap();
                    released.recv().unwrap();
                    Ok::<_, diesel::result::Error>(())
                })
                .unwrap();
            })
        };
        held.recv().unwrap();
        let mut waiters = Vec::new();
        for n in 1..=5 {
            let pool = pool.clone();
            waiters.push(std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                write_tx(&mut conn, |c| diesel::sql_query(format!("INSERT INTO t VALUES ({n})")).execute(c)).unwrap();
            }));
            // Long enough for the thread to park in the queue.
            std::thread::sleep(Duration::from_millis(150));
        }
        release.send(()).unwrap();
        holder.join().unwrap();
        for waiter in waiters {
            waiter.join().unwrap();
        }
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let order: Vec<i64> = diesel::sql_query("SELECT n FROM t ORDER BY rowid")
            .load::<N>(&mut *conn)
            .unwrap()
            .into_iter()
            .map(|r| r.n)
            .collect();
        assert_eq!(order, vec![0, 1, 2, 3, 4, 5]);
    }

    /// A writer whose turn does not come within the busy timeout (another
    /// writer of this process holds the file) is unavailable, as SQLite's
    /// own wait would make it, and the queue serves it later.
    #[test]
    fn a_turn_that_does_not_come_within_the_busy_timeout_is_unavailable() {
        let (_dir, pool) =
            sqlite_pool(PoolOptions { busy_timeout: Duration::from_millis(50), ..PoolOptions::default() });
        let mut conn = pool.get().unwrap();
        diesel::sql_query("CREATE TABLE t (x INTEGER)").execute(&mut *conn).unwrap();
        let mut other = pool.get().unwrap();
        write_tx(&mut other, |o| {
            diesel::sql_query("INSERT INTO t VALUES (1)").execute(o)?;
            let blocked: Result<usize, crate::error::TxError> =
                write_tx(&mut conn, |c| Ok(diesel::sql_query("INSERT INTO t VALUES (2)").execute(c)?));
            let error = kluis_core::DomainError::from(blocked.unwrap_err());
            assert!(matches!(error, kluis_core::DomainError::Unavailable(_)), "{error:?}");
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
        write_tx(&mut conn, |c| diesel::sql_query("INSERT INTO t VALUES (3)").execute(c)).unwrap();
    }

    /// A PostgreSQL server for this crate's own tests (as the HTTP suite's:
    /// `KLUIS_TEST_DATABASE_URL`, skipped when it does not answer unless
    /// `KLUIS_REQUIRE_POSTGRES=1`).
    fn postgres_url() -> Option<String> {
        let url = std::env::var("KLUIS_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let required =
            std::env::var("KLUIS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
        match PgConnection::establish(&url) {
            Ok(_) => Some(url),
            Err(e) => {
                assert!(!required, "KLUIS_REQUIRE_POSTGRES=1 but PostgreSQL at {url} does not answer: {e}");
                eprintln!("skipping: no PostgreSQL at {url} ({e})");
                None
            }
        }
    }

    #[derive(Debug, QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }

    /// A PostgreSQL connection that answered a moment ago is handed out
    /// without a ping; one that failed a statement since, or never
    /// answered, is pinged. A server that dropped it in between costs one
    /// statement, reported as unavailable (503), and the next checkout's
    /// ping finds it dead.
    #[test]
    fn postgres_connections_are_pinged_only_after_a_pause_or_a_failure() {
        let Some(url) = postgres_url() else { return };
        let manager = DbManager { url: url.clone() };
        let mut conn = manager.connect().unwrap();
        let answered = |conn: &mut Db, window| match conn {
            Db::Pg(c) => LastAnswer::within(c, window),
            Db::Sqlite(_) => unreachable!(),
        };
        let hour = Duration::from_secs(3600);
        assert!(!answered(&mut conn, hour), "a new connection has answered nothing yet: pinged");
        let Pid { pid } = diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result(&mut conn).unwrap();
        assert!(answered(&mut conn, hour), "it answered: not pinged");
        assert!(!answered(&mut conn, Duration::ZERO), "after a pause: pinged");
        manager.is_valid(&mut conn).unwrap();

        // The server drops the connection while it sits in the pool (the
        // timeout makes pg_terminate_backend wait until the backend is gone).
        let mut admin = PgConnection::establish(&url).unwrap();
        diesel::sql_query(format!("SELECT pg_terminate_backend({pid}, 10000)")).execute(&mut admin).unwrap();
        let gone = diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result::<Pid>(&mut conn).unwrap_err();
        let error = kluis_core::DomainError::from(crate::error::TxError::from(gone));
        assert!(matches!(error, kluis_core::DomainError::Unavailable(_)), "{error:?}");
        assert!(!answered(&mut conn, hour), "a failed statement clears the last answer");
        assert!(manager.is_valid(&mut conn).is_err(), "so the next checkout pings it and finds it dead");
    }

    #[test]
    fn write_tx_rolls_back_on_error_and_nests() {
        let (_dir, pool) = sqlite_pool(PoolOptions::default());
        let mut conn = pool.get().unwrap();
        diesel::sql_query("CREATE TABLE t (x INTEGER)").execute(&mut *conn).unwrap();
        let failed: Result<(), diesel::result::Error> = write_tx(&mut conn, |c| {
            diesel::sql_query("INSERT INTO t VALUES (1)").execute(c)?;
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(failed.is_err());
        write_tx(&mut conn, |c| {
            diesel::sql_query("INSERT INTO t VALUES (2)").execute(c)?;
            write_tx(c, |c| diesel::sql_query("INSERT INTO t VALUES (3)").execute(c))
        })
        .unwrap();
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let count: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM t").get_result(&mut *conn).unwrap();
        assert_eq!(count.n, 2);
    }
}
