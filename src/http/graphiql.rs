//! GraphiQL, served entirely by us (no CDN), on by default in development only. Its scripts carry a
//! per-response nonce that the page's Content-Security-Policy names.

use rocket::http::ContentType;
use rocket::response::{content::RawHtml, Responder};
use rocket::State;

use super::headers::CspNonce;
use crate::config::AppConfig;

const GRAPHIQL_HTML: &str = include_str!("../../assets/graphiql/index.html");

#[rocket::get("/graphiql")]
pub fn page(config: &State<AppConfig>, nonce: &CspNonce) -> Option<RawHtml<String>> {
    config
        .graphiql_enabled
        .then(|| RawHtml(GRAPHIQL_HTML.replace("{nonce}", &nonce.0)))
}

/// A static file compiled into the binary.
#[derive(Responder)]
pub struct Asset {
    body: &'static [u8],
    content_type: ContentType,
    cache: rocket::http::Header<'static>,
}

#[rocket::get("/graphiql/<file>")]
pub fn asset(config: &State<AppConfig>, file: &str) -> Option<Asset> {
    if !config.graphiql_enabled {
        return None;
    }
    let (body, content_type): (&'static [u8], ContentType) = match file {
        "graphiql.min.js" => (
            include_bytes!("../../assets/graphiql/graphiql.min.js"),
            ContentType::JavaScript,
        ),
        "graphiql.min.css" => (
            include_bytes!("../../assets/graphiql/graphiql.min.css"),
            ContentType::CSS,
        ),
        "react.production.min.js" => (
            include_bytes!("../../assets/graphiql/react.production.min.js"),
            ContentType::JavaScript,
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
            ContentType::JavaScript,
        ),
        "init.js" => (include_bytes!("../../assets/graphiql/init.js"), ContentType::JavaScript),
        _ => return None,
    };
    Some(Asset {
        body,
        content_type,
        cache: rocket::http::Header::new("Cache-Control", "public, max-age=86400"),
    })
}
