//! homechef: the GraphQL backend of HomeChef Companion.
//!
//! `rocket(config)` builds the whole application; `main.rs` and the tests both use it.

pub mod auth;
pub mod checks;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod graphql;
pub mod health;
pub mod http;
pub mod telemetry;
pub mod users;

use rocket::{Build, Rocket};

use crate::auth::Authenticator;
use crate::config::AppConfig;

/// Connections per process: enough for 2 cores with headroom for slow queries.
const POOL_SIZE: usize = 16;

/// Builds the application for a resolved configuration (`database_url` set).
pub fn rocket(config: AppConfig) -> anyhow::Result<Rocket<Build>> {
    let pool = db::build_pool(config.database_url()?, POOL_SIZE)?;
    let schema = graphql::build(&config, pool.clone());
    let authenticator = Authenticator::new(&config);
    Ok(http::mount(rocket::custom(config.rocket.clone()))
        .manage(pool)
        .manage(schema)
        .manage(authenticator)
        .manage(config))
}
