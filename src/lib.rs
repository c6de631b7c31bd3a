//! homechef: the GraphQL backend of HomeChef Companion.
//!
//! `rocket(config)` builds the whole application; `main.rs` and the tests both use it.

pub mod auth;
pub mod checks;
pub mod cli;
pub mod collections;
pub mod config;
pub mod db;
pub mod deadlines;
pub mod error;
pub mod graphql;
pub mod health;
pub mod households;
pub mod http;
pub mod idempotency;
pub mod imports;
pub mod live;
pub mod log_file;
pub mod maintenance;
pub mod meal_plans;
pub mod media;
pub mod net;
pub mod recipes;
pub mod resolver;
pub mod security_log;
pub mod shopping_lists;
pub mod sync;
pub mod tags;
pub mod telemetry;
pub mod text;
pub mod threats;
pub mod users;

use std::sync::Arc;

use rocket::{Build, Rocket};

use secrecy::ExposeSecret as _;

use crate::auth::svix::SvixVerifier;
use crate::auth::Authenticator;
use crate::config::AppConfig;
use crate::maintenance::Maintenance;
use crate::media::MediaService;
use crate::security_log::SecurityLog;

/// Builds the application for a resolved configuration (`database_url` set).
pub fn rocket(config: AppConfig) -> anyhow::Result<Rocket<Build>> {
    let pool = db::build_pool(config.database_url()?, config.database_pool_size)?;
    let security_log = SecurityLog::open(&config.log_dir)?;
    let media = Arc::new(MediaService::new(&config, security_log.clone())?);
    let authenticator = Authenticator::new(&config)?;
    let hub = Arc::new(live::Hub::default());
    let schema = graphql::build(
        &config,
        pool.clone(),
        Arc::clone(&media),
        authenticator.viewers(),
        Arc::clone(&hub),
    )?;
    let webhook_secret = config
        .clerk
        .webhook_secret
        .as_ref()
        .map(|s| s.expose_secret().to_owned());
    let webhook = http::ClerkWebhook(webhook_secret.as_deref().map(SvixVerifier::new).transpose()?);
    let shared_limits = config
        .redis_url
        .as_ref()
        .map(|url| http::SharedLimiter::new(url.expose_secret(), security_log.clone()))
        .transpose()?;
    let rate_limits = http::RateLimits::new(config.rate_limit_enabled, shared_limits);
    let maintenance = Arc::new(Maintenance::new(
        Arc::clone(&media),
        pool.clone(),
        config.database_url()?,
        config.tombstone_retention(),
    ));
    let imports = Arc::new(imports::ImportRunner::new(
        pool.clone(),
        imports::ImportSettings::new(&config),
        Arc::clone(&media),
    ));
    Ok(http::mount(rocket::custom(config.rocket.clone()), &config)
        .attach(Arc::clone(&maintenance).fairing())
        .attach(imports.fairing())
        .attach(Arc::clone(&hub).fairing(config.database_url()?.to_owned()))
        .manage(hub)
        .manage(maintenance)
        .manage(media)
        .manage(pool)
        .manage(rate_limits)
        .manage(schema)
        .manage(authenticator)
        .manage(security_log)
        .manage(webhook)
        .manage(config))
}
