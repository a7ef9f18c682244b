//! The black-box suite: every test runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failure should panic")]

mod accounts;
mod attributes;
mod audit;
mod backup;
mod backups;
mod breaches;
mod centre;
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
mod passkeys;
mod people;
mod processors;
mod proxy;
mod retention;
mod rights;
mod schema;
mod security;
mod service;
mod tenants;
mod tokens;
mod unsubscribe;
mod unverified_device;
mod webhooks;
