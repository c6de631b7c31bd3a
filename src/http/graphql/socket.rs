//! `GET /graphql/ws`: subscriptions over WebSocket, in the `graphql-transport-ws` protocol that the
//! `graphql-ws` library (Apollo's `GraphQLWsLink`, urql, GraphiQL) speaks. The upgrade request passes the
//! same gateway and rate limit as any request; the socket then answers to its own rules:
//!
//! - `Origin`, when sent (browsers always send it), must be an allowed origin or this server's own
//!   (cross-site WebSocket hijacking); the protocol must be offered.
//! - The token comes in `connection_init` (`{"authorization": "Bearer …"}`), never in the URL, within
//!   `INIT_DEADLINE` (else 4408); it is checked like any request's (else 4403) and the socket is closed with
//!   4401 when it expires or when its user leaves or is removed from a household.
//! - Only subscriptions (queries and mutations go to `POST /graphql`), each document bounded like any other;
//!   at most `MAX_SUBSCRIPTIONS` per socket and `MAX_SOCKETS_PER_USER` per user on this instance; messages
//!   up to `MAX_MESSAGE_BYTES`, at most `MESSAGE_BURST` at once and `MESSAGES_PER_SECOND` after that (4429).
//! - The server pings every `PING_EVERY`; a client silent for `SILENCE` is gone.
//!
//! Every refusal is a security event.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use async_graphql::parser::types::OperationType;
use futures_util::{SinkExt as _, StreamExt as _};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder};
use rocket_ws::frame::{CloseCode, CloseFrame};
use rocket_ws::Message;
use serde_json::{json, Value};
use tokio::time::Instant;
use uuid::Uuid;

use super::admit::operation_type;
use super::gateway::Gateway;
use crate::auth::{Viewer, ViewerError};
use crate::error::AppError;
use crate::graphql::limits;
use crate::http::rate_limit::{GraphqlQuota, RouteLimit};
use crate::http::response::JsonResponse;
use crate::live::{Event, Hub};
use crate::security_log::Severity;

/// The one subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";
pub const INIT_DEADLINE: Duration = Duration::from_secs(10);
pub const MAX_SOCKETS_PER_USER: usize = 16;
pub const MAX_SUBSCRIPTIONS: usize = 32;
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
pub const MESSAGE_BURST: f64 = 50.0;
pub const MESSAGES_PER_SECOND: f64 = 20.0;
pub const PING_EVERY: Duration = Duration::from_secs(30);
pub const SILENCE: Duration = Duration::from_secs(75);
/// How long a closing socket waits for the client's Close.
const CLOSING: Duration = Duration::from_secs(2);
/// Messages accepted but not yet taken by the executor: above a burst, so that only a stuck executor (a
/// client flooding it faster than it can start what it asks) fills it.
const IN_FLIGHT: usize = 64;
/// Longest subscription id accepted.
const MAX_ID_CHARS: usize = 128;

/// The sockets each user has open on this instance.
#[derive(Default)]
pub struct Sockets(Mutex<HashMap<Uuid, usize>>);

/// One user's place among `Sockets`, given back when the socket ends.
struct Seat<'a> {
    sockets: &'a Sockets,
    user: Uuid,
}

impl Sockets {
    fn seat(&self, user: Uuid) -> Option<Seat<'_>> {
        let mut open = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(user).or_default();
        (*count < MAX_SOCKETS_PER_USER).then(|| {
            *count += 1;
            Seat { sockets: self, user }
        })
    }
}

impl Drop for Seat<'_> {
    fn drop(&mut self) {
        let mut open = self.sockets.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

/// What the upgrade request says about where it comes from and what it speaks.
pub struct Upgrade {
    origin: Option<String>,
    host: Option<String>,
    offers_protocol: bool,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Upgrade {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let headers = req.headers();
        Outcome::Success(Self {
            origin: headers.get_one("Origin").map(|o| o.chars().take(200).collect()),
            host: req.host().map(|h| h.to_string()),
            offers_protocol: headers
                .get("Sec-WebSocket-Protocol")
                .flat_map(|v| v.split(','))
                .any(|p| p.trim() == PROTOCOL),
        })
    }
}

impl Upgrade {
    /// No `Origin` (not a browser), an allowed one, or this server's own (GraphiQL).
    fn origin_allowed(&self, allowed: &[String]) -> bool {
        let Some(origin) = self.origin.as_deref() else {
            return true;
        };
        let own = self
            .host
            .as_deref()
            .is_some_and(|host| origin.split_once("://").is_some_and(|(_, h)| h == host));
        own || (origin != "null" && allowed.iter().any(|o| o == origin))
    }
}

/// The answer to an upgrade request: the socket, speaking `PROTOCOL`, or a refusal.
pub enum SocketReply<'r> {
    Open(rocket_ws::Channel<'r>),
    Refused(JsonResponse),
}

impl<'r, 'o: 'r> Responder<'r, 'o> for SocketReply<'o> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'o> {
        match self {
            Self::Open(channel) => {
                let mut response = channel.respond_to(req)?;
                response.set_raw_header("Sec-WebSocket-Protocol", PROTOCOL);
                Ok(response)
            }
            Self::Refused(refusal) => refusal.respond_to(req),
        }
    }
}

#[rocket::get("/graphql/ws")]
pub fn graphql_ws<'r>(
    ws: rocket_ws::WebSocket,
    gateway: Gateway<'r>,
    limit: RouteLimit<GraphqlQuota>,
    upgrade: Upgrade,
    sockets: &'r rocket::State<Sockets>,
    hub: &'r rocket::State<Arc<Hub>>,
) -> SocketReply<'r> {
    if let Err(limited) = limit.0 {
        return SocketReply::Refused(limited.respond(gateway.log, &gateway.meta, None));
    }
    if !upgrade.origin_allowed(&gateway.config.allowed_origins) {
        gateway.event(
            "websocket_origin_rejected",
            Severity::Medium,
            json!({ "origin": upgrade.origin }),
        );
        return SocketReply::Refused(JsonResponse::error(
            Status::Forbidden,
            "FORBIDDEN",
            "this origin may not open a socket",
        ));
    }
    if !upgrade.offers_protocol {
        return SocketReply::Refused(JsonResponse::error(
            Status::BadRequest,
            "BAD_REQUEST",
            "offer the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol)",
        ));
    }
    let ws = ws.config(rocket_ws::Config {
        max_message_size: Some(MAX_MESSAGE_BYTES),
        max_frame_size: Some(MAX_MESSAGE_BYTES),
        ..Default::default()
    });
    SocketReply::Open(ws.channel(move |stream| {
        Box::pin(async move {
            Session::new(&gateway, sockets).run(stream, hub).await;
            Ok(())
        })
    }))
}

/// Why the socket is being closed: a code of `graphql-transport-ws` (or WebSocket's own) and a reason.
struct Close(u16, String);

impl Close {
    fn new(code: u16, reason: &str) -> Self {
        Self(code, reason.to_owned())
    }
}

/// What to do with a client's message.
enum Verdict {
    Forward,
    Answer(Value),
    Close(Close),
}

/// One socket's state.
struct Session<'a, 'r> {
    gw: &'a Gateway<'r>,
    sockets: &'a Sockets,
    seat: Option<Seat<'a>>,
    expires: Option<Instant>,
    /// Subscriptions running, by the client's id.
    running: HashSet<String>,
    /// Token bucket of messages.
    allowance: f64,
    refilled: Instant,
    /// What `connection_init` resolved, for async-graphql's connection data.
    prepared: Arc<Mutex<Option<async_graphql::Data>>>,
}

impl<'a, 'r> Session<'a, 'r> {
    fn new(gw: &'a Gateway<'r>, sockets: &'a Sockets) -> Self {
        Self {
            gw,
            sockets,
            seat: None,
            expires: None,
            running: HashSet::new(),
            allowance: MESSAGE_BURST,
            refilled: Instant::now(),
            prepared: Arc::default(),
        }
    }

    fn user(&self) -> Option<String> {
        self.seat.as_ref().map(|s| s.user.to_string())
    }

    fn event(&self, event_type: &str, severity: Severity, details: Value) {
        self.gw
            .log
            .record(event_type, severity, &self.gw.meta, self.user().as_deref(), details);
    }

    async fn run(mut self, stream: rocket_ws::stream::DuplexStream, hub: &Hub) {
        let (mut sink, mut source) = stream.split();
        let (to_graphql, from_client) = tokio::sync::mpsc::channel::<String>(IN_FLIGHT);
        let prepared = Arc::clone(&self.prepared);
        let mut graphql = Box::pin(
            WebSocket::new(
                self.gw.schemas.data.clone(),
                futures_util::stream::unfold(from_client, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) }),
                WebSocketProtocols::GraphQLWS,
            )
            .on_connection_init(move |_| async move {
                prepared
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take()
                    .ok_or_else(|| async_graphql::Error::new("Forbidden"))
            }),
        );
        let mut departures = hub.subscribe();
        let init_deadline = Instant::now() + INIT_DEADLINE;
        let mut heard = Instant::now();
        let mut pings = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        let mut shutdown = self.gw.shutdown.clone();
        let close: Close = loop {
            let expires = self.expires.unwrap_or(init_deadline);
            tokio::select! {
                incoming = source.next() => {
                    let Some(Ok(message)) = incoming else { return };
                    heard = Instant::now();
                    let text = match message {
                        Message::Text(text) => text,
                        Message::Binary(_) => break Close::new(4400, "binary messages are not graphql-transport-ws"),
                        Message::Close(_) => return,
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                    };
                    if !self.allowed() {
                        self.event("websocket_limit", Severity::Medium, json!({ "limit": "messages_per_second" }));
                        break Close::new(4429, "too many messages");
                    }
                    match self.inspect(&text).await {
                        Verdict::Forward => {
                            if to_graphql.try_send(text).is_err() {
                                self.event("websocket_limit", Severity::Medium, json!({ "limit": "messages_in_flight" }));
                                break Close::new(4429, "too many messages");
                            }
                        }
                        Verdict::Answer(answer) => {
                            if sink.send(Message::Text(answer.to_string())).await.is_err() {
                                return;
                            }
                        }
                        Verdict::Close(close) => break close,
                    }
                }
                outgoing = graphql.next() => match outgoing {
                    Some(WsMessage::Text(text)) => {
                        self.finished(&text);
                        if sink.send(Message::Text(text)).await.is_err() {
                            return;
                        }
                    }
                    Some(WsMessage::Close(code, reason)) => break Close(code, reason),
                    None => return,
                },
                () = tokio::time::sleep_until(expires) => match self.seat {
                    None => {
                        self.event("websocket_init_timeout", Severity::Low, json!({}));
                        break Close::new(4408, "Connection initialisation timeout");
                    }
                    Some(_) => break Close::new(4401, "Unauthorized: the token expired"),
                },
                event = Hub::next(&mut departures) => {
                    if let (Some(Event::Household { departed: Some(user), .. }), Some(seat)) = (event, &self.seat) {
                        if user == seat.user {
                            break Close::new(4401, "Unauthorized: no longer in a household");
                        }
                    }
                }
                _ = pings.tick() => {
                    if heard.elapsed() > SILENCE {
                        return;
                    }
                    if sink.send(Message::Ping(Vec::new())).await.is_err() {
                        return;
                    }
                }
                () = &mut shutdown => break Close::new(1001, "the server is stopping"),
            }
        };
        let frame = CloseFrame {
            code: CloseCode::from(close.0),
            reason: close.1.into(),
        };
        if sink.send(Message::Close(Some(frame))).await.is_ok() {
            // The closing handshake: what the client still sends is read (and dropped) until its Close, so that
            // closing the connection with unread data does not reset it before the client reads ours.
            let _ = tokio::time::timeout(CLOSING, async {
                while let Some(Ok(message)) = source.next().await {
                    if matches!(message, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }

    /// Takes one message from the token bucket.
    fn allowed(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.refilled).as_secs_f64() * MESSAGES_PER_SECOND;
        self.allowance = (self.allowance + refill).min(MESSAGE_BURST);
        self.refilled = now;
        if self.allowance < 1.0 {
            return false;
        }
        self.allowance -= 1.0;
        true
    }

    /// A subscription the server ended (completed or failed) is no longer running.
    fn finished(&mut self, text: &str) {
        if let Ok(message) = serde_json::from_str::<Value>(text) {
            if matches!(message["type"].as_str(), Some("complete" | "error")) {
                if let Some(id) = message["id"].as_str() {
                    self.running.remove(id);
                }
            }
        }
    }

    async fn inspect(&mut self, text: &str) -> Verdict {
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            return Verdict::Close(Close::new(4400, "Invalid message received"));
        };
        match message["type"].as_str() {
            Some("connection_init") if self.seat.is_none() => self.init(&message["payload"]).await,
            Some("subscribe") => self.subscribe(&message),
            Some("complete") => {
                if let Some(id) = message["id"].as_str() {
                    self.running.remove(id);
                }
                Verdict::Forward
            }
            Some("connection_init" | "ping" | "pong") => Verdict::Forward,
            _ => Verdict::Close(Close::new(4400, "Invalid message received")),
        }
    }

    async fn init(&mut self, payload: &Value) -> Verdict {
        let authorization = payload
            .get("authorization")
            .or_else(|| payload.get("Authorization"))
            .and_then(Value::as_str);
        let Some(authorization) = authorization else {
            self.event(
                "websocket_auth_failed",
                Severity::Medium,
                json!({ "reason": "no token" }),
            );
            return Verdict::Close(Close::new(4403, "Forbidden: send {\"authorization\": \"Bearer …\"}"));
        };
        let user = match self.gw.authenticator.viewer(Some(authorization), self.gw.pool).await {
            Ok(Viewer::User(user)) => user,
            Ok(Viewer::Anonymous) => return Verdict::Close(Close::new(4403, "Forbidden")),
            Err(ViewerError::Auth(e)) => {
                self.event(
                    "websocket_auth_failed",
                    Severity::Medium,
                    json!({ "reason": e.to_string() }),
                );
                return Verdict::Close(Close::new(4403, "Forbidden"));
            }
            Err(ViewerError::App(_)) => return Verdict::Close(Close::new(1011, "try again later")),
        };
        let Some(seat) = self.sockets.seat(user.id) else {
            self.gw.log.record(
                "websocket_limit",
                Severity::Medium,
                &self.gw.meta,
                Some(&user.id.to_string()),
                json!({ "limit": "sockets_per_user", "max": MAX_SOCKETS_PER_USER }),
            );
            return Verdict::Close(Close::new(4429, "too many sockets"));
        };
        let remaining = crate::auth::bearer_token(authorization)
            .and_then(crate::auth::expires_at)
            .map(|exp| exp.saturating_sub(jsonwebtoken::get_current_timestamp()));
        self.expires = Some(Instant::now() + Duration::from_secs(remaining.unwrap_or(0)));
        self.seat = Some(seat);
        let mut data = async_graphql::Data::default();
        data.insert(Viewer::User(user));
        *self.prepared.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(data);
        Verdict::Forward
    }

    fn subscribe(&mut self, message: &Value) -> Verdict {
        if self.seat.is_none() {
            return Verdict::Close(Close::new(4401, "Unauthorized"));
        }
        let Some(id) = message["id"]
            .as_str()
            .filter(|id| !id.is_empty() && id.chars().count() <= MAX_ID_CHARS)
        else {
            return Verdict::Close(Close::new(4400, "Invalid message received"));
        };
        if self.running.contains(id) {
            return Verdict::Close(Close(4409, format!("Subscriber for {id} already exists")));
        }
        let refuse = |error: AppError| {
            let message = error.to_string();
            Verdict::Answer(json!({
                "id": id, "type": "error",
                "payload": [{ "message": message, "extensions": { "code": error.code() } }],
            }))
        };
        if self.running.len() >= MAX_SUBSCRIPTIONS {
            self.event(
                "websocket_limit",
                Severity::Medium,
                json!({ "limit": "subscriptions_per_socket" }),
            );
            return refuse(AppError::QuotaExceeded(format!(
                "at most {MAX_SUBSCRIPTIONS} subscriptions per socket"
            )));
        }
        let query = message["payload"]["query"].as_str().unwrap_or_default();
        let checked = match limits::check(query, false) {
            Ok(checked) => checked,
            Err(limits::Refusal::Limit { kind, message }) => {
                self.event(
                    "limit_violation",
                    Severity::Medium,
                    json!({ "limit": kind, "transport": "websocket" }),
                );
                return refuse(AppError::QueryLimit { limit: kind, message });
            }
            Err(limits::Refusal::Introspection) => {
                return refuse(AppError::BadRequest("introspect over POST /graphql".into()));
            }
            // Malformed and cyclic documents: async-graphql's own validation answers them, in its words.
            Err(limits::Refusal::Parse(_) | limits::Refusal::FragmentCycle(_)) => return Verdict::Forward,
        };
        let name = message["payload"]["operationName"].as_str();
        if operation_type(&checked.document, name) != Some(OperationType::Subscription) {
            return refuse(AppError::BadRequest(
                "only subscriptions over the socket; send queries and mutations to POST /graphql".into(),
            ));
        }
        self.running.insert(id.to_owned());
        Verdict::Forward
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade(origin: Option<&str>) -> Upgrade {
        Upgrade {
            origin: origin.map(str::to_owned),
            host: Some("api.example.com".into()),
            offers_protocol: true,
        }
    }

    #[test]
    fn only_allowed_or_own_origins_open_a_socket() {
        let allowed = vec!["https://app.example.com".to_owned()];
        assert!(upgrade(None).origin_allowed(&allowed));
        assert!(upgrade(Some("https://app.example.com")).origin_allowed(&allowed));
        assert!(upgrade(Some("https://api.example.com")).origin_allowed(&allowed));
        assert!(!upgrade(Some("https://evil.example")).origin_allowed(&allowed));
        assert!(!upgrade(Some("null")).origin_allowed(&allowed));
    }

    #[test]
    fn a_user_has_at_most_so_many_sockets_and_gets_them_back() {
        let sockets = Sockets::default();
        let user = Uuid::now_v7();
        let seats: Vec<_> = (0..MAX_SOCKETS_PER_USER).map_while(|_| sockets.seat(user)).collect();
        assert_eq!(seats.len(), MAX_SOCKETS_PER_USER);
        assert!(sockets.seat(user).is_none());
        assert!(sockets.seat(Uuid::now_v7()).is_some(), "another user is not affected");
        drop(seats);
        assert!(sockets.seat(user).is_some());
    }
}
