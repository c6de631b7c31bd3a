//! Live changes over `GET /graphql/ws` (`graphql-transport-ws`) as a client speaks it: a real WebSocket to a
//! launched server, two instances on one database, real tokens, and the refusals a hostile client meets.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{dev_token, SocketApp, TestDatabase, TEST_SECRET_KEY};
use crate::households::{household, join, ok, shared_list};

type Stream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Socket(Stream);

/// How long a test waits for what must come (longer than the server's 10 s for `connection_init`).
const PATIENCE: Duration = Duration::from_secs(15);

impl Socket {
    /// Opens a socket; the HTTP status when the upgrade is refused.
    pub async fn open(app: &SocketApp, headers: &[(&str, &str)]) -> Result<Self, u16> {
        let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request().unwrap();
        for (name, value) in headers {
            let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            request.headers_mut().insert(name, value.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, response)) => {
                assert_eq!(response.headers()["sec-websocket-protocol"], "graphql-transport-ws");
                Ok(Self(stream))
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(e) => panic!("{e}"),
        }
    }

    pub async fn speaking(app: &SocketApp) -> Self {
        Self::open(app, &[("Sec-WebSocket-Protocol", "graphql-transport-ws")])
            .await
            .unwrap()
    }

    /// A socket past `connection_init` with `token`.
    pub async fn signed_in(app: &SocketApp, token: &str) -> Self {
        let mut socket = Self::speaking(app).await;
        socket
            .send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }))
            .await;
        assert_eq!(socket.next().await["type"], "connection_ack");
        socket
    }

    pub async fn send(&mut self, message: Value) {
        self.0.send(Message::Text(message.to_string())).await.unwrap();
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next protocol message (pings of the WebSocket itself are skipped).
    pub async fn next(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.0.next())
                .await
                .expect("a message in time");
            match frame {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// Nothing arrives for `quiet`.
    pub async fn silent_for(&mut self, quiet: Duration) -> bool {
        tokio::time::timeout(quiet, async {
            loop {
                match self.0.next().await {
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    other => return other,
                }
            }
        })
        .await
        .is_err()
    }

    /// The close code and reason the server ends the socket with.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.0.next())
                .await
                .expect("closed in time");
            match frame {
                Some(Ok(Message::Close(Some(frame)))) => return (frame.code.into(), frame.reason.into_owned()),
                Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }
}

const WATCH_LIST: &str = "subscription($l: UUID!) { shoppingListChanged(listId: $l) { action version itemIds list { version items { item checked } } } }";

#[tokio::test]
async fn a_tick_on_one_instance_reaches_a_member_on_another_and_nobody_else() {
    let db = TestDatabase::create().await;
    let shop = SocketApp::spawn_on(db.shared(), &[]).await;
    let home_instance = SocketApp::spawn_on(db, &[]).await;
    let [alice, bob, carol] = ["live-alice", "live-bob", "live-carol"].map(dev_token);
    let home = household(&shop.app, &alice, "Home").await;
    join(&shop.app, &alice, &home, &bob).await;
    let (list, item) = shared_list(&shop.app, &alice, &home).await;

    // Bob watches the list through the other instance; carol, in no household, tries to.
    let mut bobs = Socket::signed_in(&home_instance, &bob).await;
    bobs.subscribe("1", WATCH_LIST, json!({ "l": list })).await;
    let mut carols = Socket::signed_in(&home_instance, &carol).await;
    carols.subscribe("1", WATCH_LIST, json!({ "l": list })).await;
    let refused = carols.next().await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    assert_eq!(carols.next().await["type"], "complete");
    let mut carols_own = Socket::signed_in(&home_instance, &carol).await;
    carols_own
        .subscribe("h", "subscription { householdChanged { householdId } }", json!({}))
        .await;

    // Alice ticks the item in the shop (through the first instance): bob sees it, with the list's version.
    let before = ok(
        &shop.app,
        &alice,
        "query($l: UUID!) { savedShoppingList(id: $l) { version } }",
        json!({ "l": list }),
    )
    .await;
    let version = before["savedShoppingList"]["version"].as_i64().unwrap();
    ok(
        &shop.app,
        &alice,
        "mutation($i: UUID!) { checkShoppingListItem(id: $i) { checked } }",
        json!({ "i": item }),
    )
    .await;
    let seen = bobs.next().await;
    assert_eq!(seen["type"], "next", "{seen}");
    let change = &seen["payload"]["data"]["shoppingListChanged"];
    assert_eq!(change["action"], "CHECKED", "{seen}");
    assert_eq!(change["itemIds"], json!([item]));
    assert_eq!(change["version"], version + 1);
    assert_eq!(change["list"]["items"], json!([{ "item": "lemons", "checked": true }]));
    // Ticking again changes nothing, so nothing is sent; adding an item is ADDED.
    ok(
        &shop.app,
        &alice,
        "mutation($i: UUID!) { checkShoppingListItem(id: $i) { checked } }",
        json!({ "i": item }),
    )
    .await;
    ok(
        &shop.app,
        &alice,
        "mutation($l: UUID!) { addShoppingListItem(listId: $l, text: \"salt\") { id } }",
        json!({ "l": list }),
    )
    .await;
    let next = bobs.next().await;
    let change = &next["payload"]["data"]["shoppingListChanged"];
    assert_eq!(change["action"], "ADDED", "{next}");
    assert_eq!(change["version"], version + 2, "the second tick wrote nothing");
    assert!(
        carols.silent_for(Duration::from_millis(500)).await,
        "carol's socket hears nothing"
    );
    assert!(
        carols_own.silent_for(Duration::from_millis(100)).await,
        "nor does her household watch"
    );

    // Alice removes bob: his socket is closed with 4401, and his watch is over.
    let members = ok(
        &shop.app,
        &alice,
        "query($h: UUID!) { household(id: $h) { members { userId } } }",
        json!({ "h": home }),
    )
    .await;
    let bob_id = members["household"]["members"][1]["userId"].clone();
    ok(
        &shop.app,
        &alice,
        "mutation($h: UUID!, $u: UUID!) { removeHouseholdMember(householdId: $h, userId: $u) }",
        json!({ "h": home, "u": bob_id }),
    )
    .await;
    assert_eq!(bobs.closed().await.0, 4401);
}

#[tokio::test]
async fn the_socket_checks_origin_protocol_token_document_and_its_own_limits() {
    let app = SocketApp::spawn_with(&[("allowed_origins", "https://app.example.com")]).await;
    let protocol = ("Sec-WebSocket-Protocol", "graphql-transport-ws");

    // A page of another site cannot open one (cross-site WebSocket hijacking); the PWA's origin can.
    assert_eq!(
        Socket::open(&app, &[protocol, ("Origin", "https://evil.example")])
            .await
            .err(),
        Some(403)
    );
    assert!(Socket::open(&app, &[protocol, ("Origin", "https://app.example.com")])
        .await
        .is_ok());
    assert_eq!(
        Socket::open(&app, &[]).await.err(),
        Some(400),
        "the protocol must be offered"
    );

    // The token comes in connection_init and is checked like any request's.
    let mut anonymous = Socket::speaking(&app).await;
    anonymous.send(json!({ "type": "connection_init" })).await;
    assert_eq!(anonymous.closed().await.0, 4403);
    let mut forged = Socket::speaking(&app).await;
    forged
        .send(json!({ "type": "connection_init", "payload": { "authorization": "Bearer eyJhbGciOiJub25lIn0.e30." } }))
        .await;
    assert_eq!(forged.closed().await.0, 4403);
    let mut early = Socket::speaking(&app).await;
    early
        .subscribe("1", "subscription { householdChanged { householdId } }", json!({}))
        .await;
    assert_eq!(early.closed().await.0, 4401, "subscribing before connection_init");

    // Only subscriptions, bounded like any document; ids unique; at most 32 at once.
    let token = dev_token("live-limits");
    let mut socket = Socket::signed_in(&app, &token).await;
    socket.subscribe("q", "{ health { status } }", json!({})).await;
    assert_eq!(socket.next().await["payload"][0]["extensions"]["code"], "BAD_REQUEST");
    let long = format!(
        "subscription {{ householdChanged {{ {} }} }}",
        "householdId ".repeat(1_200)
    );
    socket.subscribe("d", &long, json!({})).await;
    let refused = socket.next().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"], "QUERY_LIMIT_EXCEEDED",
        "{refused}"
    );
    for n in 0..32 {
        socket
            .subscribe(
                &n.to_string(),
                "subscription { householdChanged { householdId } }",
                json!({}),
            )
            .await;
    }
    socket
        .subscribe("33", "subscription { householdChanged { householdId } }", json!({}))
        .await;
    let over = socket.next().await;
    assert_eq!(over["payload"][0]["extensions"]["code"], "QUOTA_EXCEEDED", "{over}");
    socket
        .subscribe("0", "subscription { householdChanged { householdId } }", json!({}))
        .await;
    assert_eq!(socket.closed().await.0, 4409, "an id already running");

    // A flood of messages closes the socket.
    let mut flood = Socket::signed_in(&app, &token).await;
    for _ in 0..200 {
        if flood
            .0
            .send(Message::Text(json!({ "type": "ping" }).to_string()))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(flood.closed().await.0, 4429);

    let events = app.app.security_events();
    for kind in ["websocket_origin_rejected", "websocket_auth_failed", "websocket_limit"] {
        assert!(events.iter().any(|e| e["event_type"] == kind), "{kind} in {events:?}");
    }
    assert!(
        !app.app.security_log_text().contains("eyJhbGciOiJub25lIn0"),
        "never the token"
    );
}

#[tokio::test]
async fn a_socket_is_closed_when_its_token_expires_or_it_never_signs_in() {
    let app = SocketApp::spawn_with(&[]).await;
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "sub": "dev_live-expiring", "iss": homechef::auth::dev_token::ISSUER,
        "iat": now, "nbf": now, "exp": now + 3,
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET_KEY.as_bytes()),
    )
    .unwrap();
    let mut expiring = Socket::signed_in(&app, &token).await;
    expiring
        .subscribe("1", "subscription { householdChanged { householdId } }", json!({}))
        .await;
    let started = std::time::Instant::now();
    let (code, reason) = expiring.closed().await;
    assert_eq!(code, 4401, "{reason}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "closed at expiry, not later"
    );

    let mut silent = Socket::speaking(&app).await;
    assert_eq!(silent.closed().await.0, 4408, "no connection_init within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adversarial_documents_are_decided_on_the_socket_too() {
    let app = SocketApp::spawn_with(&[]).await;
    let mut socket = Socket::signed_in(&app, &dev_token("live-adversary")).await;
    for (n, (name, document, operation_name)) in crate::adversarial::shapes().into_iter().enumerate() {
        let started = std::time::Instant::now();
        socket
            .send(json!({ "id": n.to_string(), "type": "subscribe",
                          "payload": { "query": document, "operationName": operation_name } }))
            .await;
        let answer = socket.next().await;
        let took = started.elapsed();
        let errors = match answer["type"].as_str() {
            Some("error") => &answer["payload"],
            _ => &answer["payload"]["errors"],
        };
        let code = errors[0]["extensions"]["code"].as_str().unwrap_or("-");
        println!("{name:<42} {:>8.2}ms  {code}", took.as_secs_f64() * 1e3);
        assert!(took < Duration::from_secs(2), "{name} took {took:?}");
        assert!(errors.is_array(), "{name}: refused, not run: {answer}");
        assert_ne!(code, "INTERNAL", "{name}");
        if answer["type"] == "next" {
            assert_eq!(socket.next().await["type"], "complete", "{name}");
        }
    }
    // The socket still answers.
    socket.send(json!({ "type": "ping" })).await;
    assert_eq!(socket.next().await["type"], "pong");
}

#[tokio::test]
async fn a_member_watching_a_shared_plan_sees_the_other_plan_a_dinner() {
    let app = SocketApp::spawn_with(&[]).await;
    let [alice, bob] = ["live-plan-alice", "live-plan-bob"].map(dev_token);
    let home = household(&app.app, &alice, "Home").await;
    join(&app.app, &alice, &home, &bob).await;
    let created = ok(
        &app.app,
        &alice,
        r#"mutation($h: UUID!) { createMealPlan(input: { name: "Our week", startDate: "2027-01-04", householdId: $h }) { id } }"#,
        json!({ "h": home }),
    )
    .await;
    let plan = created["createMealPlan"]["id"].as_str().unwrap().to_owned();
    let mut bobs = Socket::signed_in(&app, &bob).await;
    bobs.subscribe(
        "p",
        "subscription($p: UUID!) { mealPlanChanged(planId: $p) { action plan { entries { note } } } }",
        json!({ "p": plan }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    ok(
        &app.app,
        &alice,
        r#"mutation($p: UUID!) { addMealPlanEntry(planId: $p, input: { date: "2027-01-05", meal: DINNER, note: "Pizza night" }) { id } }"#,
        json!({ "p": plan }),
    )
    .await;
    let seen = bobs.next().await;
    let change = &seen["payload"]["data"]["mealPlanChanged"];
    assert_eq!(change["action"], "ADDED", "{seen}");
    assert_eq!(change["plan"]["entries"], json!([{ "note": "Pizza night" }]));
    ok(
        &app.app,
        &alice,
        "mutation($p: UUID!) { deleteMealPlan(id: $p) }",
        json!({ "p": plan }),
    )
    .await;
    let deleted = bobs.next().await;
    assert_eq!(
        deleted["payload"]["data"]["mealPlanChanged"],
        json!({ "action": "DELETED", "plan": null })
    );
    assert_eq!(bobs.next().await["type"], "complete");
}
