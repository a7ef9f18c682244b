//! The black-box suite: every test runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failure should panic")]

mod audit;
mod clients;
mod consent;
mod contract;
mod http;
mod people;
mod schema;
mod tenants;
mod tokens;
