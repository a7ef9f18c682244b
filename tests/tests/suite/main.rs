//! The black-box suite: every test runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failure should panic")]

mod accounts;
mod audit;
mod backup;
mod clients;
mod conformance;
mod consent;
mod consent_self;
mod contract;
mod devices;
mod http;
mod lifecycle;
mod limits;
mod matrix;
mod people;
mod proxy;
mod retention;
mod rights;
mod schema;
mod security;
mod tenants;
mod tokens;
mod unsubscribe;
mod unverified_device;
mod webhooks;
