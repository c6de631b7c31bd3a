//! The client address every later stage sees (`Request::client_ip`): the socket peer, or the
//! `X-Forwarded-For` client when the peer is one of `TRUSTED_PROXIES`. Rocket's own `ip_header` is off, so
//! `X-Real-IP` and friends from a client are never believed.

use std::net::SocketAddr;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Data, Request};

use crate::net::{client_address, Cidr};

pub struct ClientAddress {
    pub trusted: Vec<Cidr>,
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
        if self.trusted.is_empty() {
            return;
        }
        let forwarded: Vec<String> = req.headers().get("X-Forwarded-For").map(str::to_owned).collect();
        let forwarded: Vec<&str> = forwarded.iter().map(String::as_str).collect();
        let client = client_address(peer.ip(), &forwarded, &self.trusted);
        if client != peer.ip() {
            req.set_remote(SocketAddr::new(client, peer.port()));
        }
    }
}
