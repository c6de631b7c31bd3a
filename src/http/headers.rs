//! Security headers on every response (errors, 404/413/415/429, preflights, assets included) and CORS
//! from the exact-origin allow-list. Rocket's default Shield is replaced: its `X-Frame-Options: SAMEORIGIN`
//! is weaker than what we send.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Method, Status};
use rocket::{Request, Response};
use serde_json::json;

use crate::security_log::Severity;

pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
pub const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=()";
pub const CORS_METHODS: &str = "GET, POST, OPTIONS";
/// Apollo Client sends `apollographql-client-name`/`-version` by default; a preflight refusing them would
/// block every request of an unmodified Apollo setup.
pub const CORS_HEADERS: &str = "authorization, content-type, graphql-require-preflight, apollo-require-preflight, \
                                apollographql-client-name, apollographql-client-version, idempotency-key, if-none-match";
const CORS_EXPOSE: &str = "x-request-id, retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, \
                           idempotent-replayed, etag";

/// The per-response nonce of the GraphiQL page: generated when its route asks for it, empty otherwise.
pub struct CspNonce(pub String);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for &'r CspNonce {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        let nonce = req.local_cache(|| {
            CspNonce(crate::config::generate_secret_key(
                16,
                crate::config::KeyFormat::Urlsafe,
            ))
        });
        rocket::request::Outcome::Success(nonce)
    }
}

/// GraphiQL's own policy: scripts only with the page's nonce; its editor needs inline styles.
pub fn graphiql_csp(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
}

/// The headers every answer carries; once a stop has begun (`on_shutdown`), also `Connection: close`.
#[derive(Default)]
pub struct SecurityHeaders {
    stopping: std::sync::atomic::AtomicBool,
}

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response | Kind::Shutdown,
        }
    }

    async fn on_shutdown(&self, _: &rocket::Rocket<rocket::Orbit>) {
        self.stopping.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let csp = match req.local_cache(|| CspNonce(String::new())) {
            CspNonce(nonce) if !nonce.is_empty() => graphiql_csp(nonce),
            _ => API_CSP.to_owned(),
        };
        // A route may send a stricter policy of its own (media: `sandbox`).
        if !res.headers().contains("Content-Security-Policy") {
            res.set_raw_header("Content-Security-Policy", csp);
        }
        res.set_raw_header("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
        res.set_raw_header("X-Content-Type-Options", "nosniff");
        res.set_raw_header("X-Frame-Options", "DENY");
        res.set_raw_header("Referrer-Policy", "no-referrer");
        res.set_raw_header("Cross-Origin-Opener-Policy", "same-origin");
        // Media opt in to `cross-origin` so the PWA on another origin can show them in <img>.
        if !res.headers().contains("Cross-Origin-Resource-Policy") {
            res.set_raw_header("Cross-Origin-Resource-Policy", "same-origin");
        }
        res.set_raw_header("Permissions-Policy", PERMISSIONS_POLICY);
        if !res.headers().contains("Cache-Control") {
            res.set_raw_header("Cache-Control", "no-store");
        }
        res.remove_header("Server");
        // Once a stop has begun, a keep-alive connection carries no further request: the client opens its
        // next one elsewhere instead of writing into a connection about to close.
        if self.stopping.load(std::sync::atomic::Ordering::Relaxed) {
            res.set_raw_header("Connection", "close");
        }
    }
}

pub struct Cors {
    pub allowed_origins: Vec<String>,
}

#[rocket::async_trait]
impl Fairing for Cors {
    fn info(&self) -> Info {
        Info {
            name: "CORS",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        // Every response varies by Origin, with one or without: a cache (the browser's included) that kept
        // an answer to a request without Origin (an <img>) must not hand it to a later fetch() from the PWA.
        res.adjoin_header(Header::new("Vary", "Origin"));
        let Some(origin) = req.headers().get_one("Origin") else {
            return;
        };
        if origin != "null" && self.allowed_origins.iter().any(|o| o == origin) {
            res.set_raw_header("Access-Control-Allow-Origin", origin.to_owned());
            res.set_raw_header("Access-Control-Expose-Headers", CORS_EXPOSE);
            if req.method() == Method::Options {
                res.set_raw_header("Access-Control-Allow-Methods", CORS_METHODS);
                res.set_raw_header("Access-Control-Allow-Headers", CORS_HEADERS);
                res.set_raw_header("Access-Control-Max-Age", "600");
            }
            return;
        }
        // A page on our own origin (GraphiQL) needs no CORS; anything else is refused, and noted.
        let same_origin = req
            .host()
            .is_some_and(|host| origin.split_once("://").is_some_and(|(_, h)| *host == h));
        if !same_origin {
            let origin: String = origin.chars().take(200).collect();
            super::threats::record(req, "cors_rejected", Severity::Low, json!({ "origin": origin })).await;
        }
    }
}

/// Preflights for any path: the CORS fairing adds the headers when the origin is allowed.
#[rocket::options("/<_..>")]
pub fn preflight() -> Status {
    Status::NoContent
}
