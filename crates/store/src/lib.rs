//! kluis-store: the one place that talks to the database. It holds the diesel
//! schema, the [`Db`] connection over SQLite or PostgreSQL, the r2d2 pool, the
//! embedded migrations of both backends, transactions, the crypto for secrets
//! at rest, and the platform tables every domain stands on: tenants, their
//! API clients, the operator's clients and the token signing keys.

pub mod crypto;
pub mod db;
pub mod dump;
pub mod error;
pub mod idempotency;
pub mod migrate;
pub mod outbox;
pub mod personal;
pub mod schema;
pub mod tenancy;
pub mod worker;

pub use crypto::MasterKey;
pub use db::{Backend, Db, DbPool, PoolOptions, build_pool, write_tx};
