//! The integration suite: every test starts the real server on 127.0.0.1:0 and talks
//! HTTP to it like a client. On SQLite by default; with `DATABASE_URL=postgres://...`
//! the same tests run on PostgreSQL.

mod common;
mod node;

mod adapters;
mod agents;
mod auth;
mod batch;
mod cancel_wait;
mod config_boot;
mod config_defaults;
mod enums;
mod errors;
mod gates;
mod graphql;
mod graphql_http_audit;
mod hardening_graphql;
mod hardening_outbound;
mod hardening_scopes;
mod hardening_storage;
mod hardening_streams;
mod hardening_templates;
mod hardening_validation;
mod idempotency;
mod knowledge;
mod liveness;
mod module_order;
mod openapi_contract;
mod pagination;
mod plan_limits;
mod rate_limits;
mod rest_graphql_parity;
mod run_pages;
mod run_queue;
mod runs;
mod scale_out;
mod schema_drift;
mod server;
mod streaming;
mod webhook_delivery;
mod webhooks;
