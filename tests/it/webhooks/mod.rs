//! Issue 9: webhook endpoints and their deliveries, through HTTP (REST and GraphQL).
//! The `api*` files are the endpoints resource; the delivery engine's tests sit beside
//! them.

mod api;
mod api_access;
mod api_deliveries;
mod api_graphql;
mod api_guard;
mod api_support;
