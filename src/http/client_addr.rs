//! The client address every later stage sees (`Request::client_ip`): the socket peer, or the
//! `X-Forwarded-For` client when the peer is one of `TRUSTED_PROXIES`. Rocket's own `ip_header` is off, so
//! `X-Real-IP` and friends from a client are never believed. The first request that carries
//! `X-Forwarded-For` from a peer that is not trusted is logged once: a proxy missing from `TRUSTED_PROXIES`
//! makes every client share its address, and so one rate limit.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Data, Request};

use crate::net::{client_address, Cidr};

pub struct ClientAddress {
    pub trusted: Vec<Cidr>,
    /// Whether the untrusted-proxy warning was logged.
    pub warned: AtomicBool,
}

#[rocket::async_trait]
impl Fairing for ClientAddress {
    fn info(&self) -> Info {
        Info {
            name: "client address",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let Some(peer) = req.remote() else {
            return;
        };
        let forwarded: Vec<String> = req.headers().get("X-Forwarded-For").map(str::to_owned).collect();
        if !forwarded.is_empty()
            && !self.trusted.iter().any(|c| c.contains(peer.ip()))
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                peer = %peer.ip(),
                "a request from an address not in TRUSTED_PROXIES carried X-Forwarded-For: if that is your reverse \
                 proxy, add it, or every client behind it shares one address and one rate limit (logged once)"
            );
        }
        if self.trusted.is_empty() {
            return;
        }
        let forwarded: Vec<&str> = forwarded.iter().map(String::as_str).collect();
        let client = client_address(peer.ip(), &forwarded, &self.trusted);
        if client != peer.ip() {
            req.set_remote(SocketAddr::new(client, peer.port()));
        }
    }
}
