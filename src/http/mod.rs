//! The HTTP edge: routes, guards, fairings and catchers. The only module that knows Rocket.

mod body;
mod client_addr;
mod context;
mod graphiql;
mod graphql;
mod headers;
mod health;
mod media;
mod multipart;
mod operation;
mod persisted_queries;
mod rate_limit;
mod response;
mod shared_limits;
mod threats;
mod webhooks;

use rocket::{Build, Rocket};

pub use context::{RequestContext, REQUEST_ID_HEADER};
pub use rate_limit::{RateLimits, AUTH_FAILURES_PER_HOUR};
pub use shared_limits::SharedLimiter;
pub use webhooks::ClerkWebhook;

use crate::config::AppConfig;

/// Attaches every route, fairing and catcher. Fairings run in this order: request id, client address,
/// threat watch, CORS, security headers (last, so every response, errors included, gets them).
pub fn mount(rocket: Rocket<Build>, config: &AppConfig) -> Rocket<Build> {
    rocket
        .attach(rocket::shield::Shield::new())
        // The line a script waits for to know that this process, not another on the same port, serves.
        .attach(rocket::fairing::AdHoc::on_liftoff("listening", |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                tracing::info!(
                    pid = std::process::id(),
                    "listening on http://{}:{}",
                    config.address,
                    config.port
                );
            })
        }))
        .attach(context::RequestLog)
        .attach(client_addr::ClientAddress {
            trusted: config.trusted_proxies.clone(),
            warned: Default::default(),
        })
        .attach(threats::ThreatWatch::default())
        .attach(headers::Cors {
            allowed_origins: config.allowed_origins.clone(),
        })
        .attach(headers::SecurityHeaders::default())
        .manage(persisted_queries::PersistedQueries::default())
        .manage(graphql::Sockets::default())
        .mount(
            "/",
            rocket::routes![
                graphql::graphql_post,
                graphql::graphql_get,
                graphql::graphql_ws,
                graphiql::page,
                graphiql::asset,
                headers::preflight,
                health::summary,
                health::live,
                health::ready,
                webhooks::clerk,
                media::serve,
            ],
        )
        .register("/", rocket::catchers![response::default_catcher])
}
