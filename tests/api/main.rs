//! Integration tests: the real application over HTTP (Rocket's local client, or a real socket where the
//! test needs one), each test on its own PostgreSQL database cloned from a migrated template.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adversarial;
mod auth;
mod bodies;
mod bulk_imports;
mod clamav;
mod clerk;
mod cli;
mod collections;
mod db_schema;
mod graphql_transport;
mod health;
mod helpers;
mod household_catalogue;
mod households;
mod imports;
mod inputs;
mod live;
mod meal_plans;
mod perimeter;
mod recipes;
mod reliability;
mod scale_out;
mod sync;
mod tags;
mod uploads;
mod webhooks;
