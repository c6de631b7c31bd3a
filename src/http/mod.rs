//! The HTTP edge: routes, guards, fairings and catchers. The only module that knows Rocket.

mod context;
mod graphql;
mod health;
mod response;
mod webhooks;

use rocket::{Build, Rocket};

pub use context::{RequestContext, REQUEST_ID_HEADER};
pub use webhooks::ClerkWebhook;

/// Attaches every route, fairing and catcher.
pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket
        .attach(context::RequestLog)
        .mount(
            "/",
            rocket::routes![
                graphql::graphql_post,
                graphql::graphql_get,
                graphql::graphiql,
                graphql::graphiql_asset,
                health::summary,
                health::live,
                health::ready,
                webhooks::clerk,
            ],
        )
        .register("/", rocket::catchers![response::default_catcher])
}
