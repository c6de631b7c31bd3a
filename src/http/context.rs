//! Per-request context: a request id (echoed as `X-Request-Id`), the start time, and the GraphQL
//! operation name, plus the fairing that logs one event per request.

use std::sync::Mutex;
use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::request::{FromRequest, Outcome};
use rocket::{Data, Request, Response};

use crate::security_log::RequestMeta;

pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// What we know about the request in flight.
pub struct RequestContext {
    pub id: String,
    started: Instant,
    operation: Mutex<Option<String>>,
    sql_statements: std::sync::atomic::AtomicU32,
}

impl RequestContext {
    fn new(incoming: Option<&str>) -> Self {
        // A proxy's id is kept so logs line up across hops, but only if it is short and plain.
        let id = incoming
            .filter(|id| {
                (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            })
            .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
        Self {
            id,
            started: Instant::now(),
            operation: Mutex::new(None),
            sql_statements: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// Records the GraphQL operation name for the request log (truncated: it is client text).
    pub fn set_operation(&self, name: Option<&str>) {
        if let (Some(name), Ok(mut slot)) = (name, self.operation.lock()) {
            *slot = Some(name.chars().take(100).collect());
        }
    }

    /// Records how many SQL statements the request ran, for the request log.
    pub fn set_sql_statements(&self, count: u32) {
        self.sql_statements.store(count, std::sync::atomic::Ordering::Relaxed);
    }

    fn operation(&self) -> Option<String> {
        self.operation.lock().ok().and_then(|slot| slot.clone())
    }

    pub fn of<'r>(req: &'r Request<'_>) -> &'r Self {
        req.local_cache(|| Self::new(None))
    }
}

/// Request facts for security events (client text is truncated by the log itself).
#[rocket::async_trait]
impl<'r> FromRequest<'r> for RequestMeta {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(RequestMeta {
            request_id: RequestContext::of(req).id.clone(),
            client_ip: req.client_ip().map(|ip| ip.to_string()),
            route: format!("{} {}", req.method(), req.uri().path()),
            user_agent: req.headers().get_one("User-Agent").map(str::to_owned),
        })
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for &'r RequestContext {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(RequestContext::of(req))
    }
}

/// Assigns the request id first thing and logs the request last thing.
pub struct RequestLog;

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "request id and request log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let incoming = req.headers().get_one(REQUEST_ID_HEADER).map(str::to_owned);
        req.local_cache(|| RequestContext::new(incoming.as_deref()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let ctx = RequestContext::of(req);
        res.set_raw_header(REQUEST_ID_HEADER, ctx.id.clone());
        tracing::info!(
            target: "homechef::request",
            request_id = %ctx.id,
            method = %req.method(),
            path = %crate::security_log::truncate(req.uri().path().as_str()),
            status = res.status().code,
            duration_ms = ctx.started.elapsed().as_micros() as f64 / 1000.0,
            operation = ctx.operation().as_deref().unwrap_or(""),
            sql_statements = ctx.sql_statements.load(std::sync::atomic::Ordering::Relaxed),
            "request"
        );
    }
}
