//! Clerk session tokens: real RS256 keys generated here, a real JWKS server on 127.0.0.1.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rocket::http::Status;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{EncodePublicKey as _, LineEnding};
use rsa::traits::PublicKeyParts as _;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::{error_code, TestApp};

pub const ISSUER: &str = "https://clerk.test.example";
pub const FRONTEND: &str = "https://app.test.example";
const ME: &str = "{ me { name email } }";

pub struct TestKey {
    pub kid: &'static str,
    private_pem: String,
    pub public_pem: String,
    jwk: Value,
}

/// Two RSA-2048 keys, generated once per test run.
pub fn keys() -> &'static [TestKey; 2] {
    static KEYS: OnceLock<[TestKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| ["key-1", "key-2"].map(generate))
}

fn generate(kid: &'static str) -> TestKey {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let public = private.to_public_key();
    let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    TestKey {
        kid,
        private_pem: private.to_pkcs1_pem(LineEnding::LF).unwrap().to_string(),
        public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
        jwk: json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64(public.n().to_bytes_be()), "e": b64(public.e().to_bytes_be()),
        }),
    }
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims of a good Clerk session token for `sub`.
pub fn claims(sub: &str) -> Value {
    let now = now();
    json!({
        "sub": sub, "iss": ISSUER, "azp": FRONTEND, "iat": now - 10, "nbf": now - 10, "exp": now + 60,
        "email": format!("{sub}@example.com"), "first_name": "Ada", "last_name": "Lovelace", "sid": "sess_1",
    })
}

pub fn sign(key: &TestKey, claims: &Value) -> String {
    sign_with_header(key, claims, |_| {})
}

/// A JWKS endpoint on 127.0.0.1 whose key set can be swapped, counting fetches.
pub struct JwksServer {
    pub url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    hits: Arc<AtomicUsize>,
    /// While set, requests are read and never answered.
    hang: Arc<std::sync::atomic::AtomicBool>,
}

impl JwksServer {
    pub async fn start(initial: &[&TestKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        let keys = Arc::new(Mutex::new(initial.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()));
        let hits = Arc::new(AtomicUsize::new(0));
        let hang = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (served, counted, hanging) = (keys.clone(), hits.clone(), hang.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                if hanging.load(Ordering::SeqCst) {
                    counted.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(async move {
                        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                        drop(stream);
                    });
                    continue;
                }
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let body = json!({ "keys": *served.lock().unwrap() }).to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            }
        });
        Self { url, keys, hits, hang }
    }

    pub fn hang(&self, hang: bool) {
        self.hang.store(hang, Ordering::SeqCst);
    }

    pub fn serve(&self, keys: &[&TestKey]) {
        *self.keys.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// An app that trusts the JWKS at `jwks_url`.
pub async fn clerk_app(jwks_url: &str) -> TestApp {
    TestApp::spawn_with(&[
        ("clerk_jwks_url", jwks_url),
        ("clerk_issuer", ISSUER),
        ("allowed_origins", FRONTEND),
    ])
    .await
}

async fn status_with(app: &TestApp, token: &str) -> Status {
    app.gql_with(&[("Authorization", &format!("Bearer {token}"))], ME, json!({}))
        .await
        .status
}

#[tokio::test]
async fn a_valid_session_token_signs_in_with_claims_as_profile() {
    let jwks = JwksServer::start(&[&keys()[0]]).await;
    let app = clerk_app(&jwks.url).await;
    let me = app
        .gql_as(&sign(&keys()[0], &claims("user_valid")), ME, json!({}))
        .await;
    assert_eq!(
        me,
        json!({"data": {"me": {"name": "Ada Lovelace", "email": "user_valid@example.com"}}})
    );
    assert_eq!(jwks.hits(), 1);
    app.gql_as(&sign(&keys()[0], &claims("user_valid")), ME, json!({}))
        .await;
    assert_eq!(jwks.hits(), 1, "keys are cached");
}

#[tokio::test]
async fn expiry_allows_five_seconds_of_skew_and_no_more() {
    let jwks = JwksServer::start(&[&keys()[0]]).await;
    let app = clerk_app(&jwks.url).await;
    // Warm the key cache and the user row first, so the 4 s case is measured right after signing.
    assert_eq!(
        status_with(&app, &sign(&keys()[0], &claims("user_skew"))).await,
        Status::Ok
    );
    let mut late = claims("user_skew");
    late["exp"] = json!(now() - 4);
    assert_eq!(status_with(&app, &sign(&keys()[0], &late)).await, Status::Ok);
    late["exp"] = json!(now() - 6);
    assert_eq!(status_with(&app, &sign(&keys()[0], &late)).await, Status::Unauthorized);
}

#[tokio::test]
async fn every_bad_claim_is_refused() {
    let jwks = JwksServer::start(&[&keys()[0]]).await;
    let app = clerk_app(&jwks.url).await;
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut c = claims("user_claims");
        f(&mut c);
        sign(&keys()[0], &c)
    };
    let cases = [
        ("nbf in the future", mutate(&|c| c["nbf"] = json!(now() + 30))),
        ("iat in the future", mutate(&|c| c["iat"] = json!(now() + 30))),
        ("wrong issuer", mutate(&|c| c["iss"] = json!("https://evil.example"))),
        (
            "missing azp",
            mutate(&|c| drop(c.as_object_mut().unwrap().remove("azp"))),
        ),
        ("foreign azp", mutate(&|c| c["azp"] = json!("https://evil.example"))),
        (
            "missing sub",
            mutate(&|c| drop(c.as_object_mut().unwrap().remove("sub"))),
        ),
        (
            "missing exp",
            mutate(&|c| drop(c.as_object_mut().unwrap().remove("exp"))),
        ),
        (
            "missing nbf",
            mutate(&|c| drop(c.as_object_mut().unwrap().remove("nbf"))),
        ),
    ];
    for (case, token) in cases {
        assert_eq!(status_with(&app, &token).await, Status::Unauthorized, "{case}");
    }
    assert_eq!(
        status_with(&app, &mutate(&|_| ())).await,
        Status::Ok,
        "the control token is valid"
    );
}

#[tokio::test]
async fn forged_algorithms_and_tampering_are_refused() {
    let jwks = JwksServer::start(&[&keys()[0]]).await;
    let app = clerk_app(&jwks.url).await;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let good = sign(&keys()[0], &claims("user_alg"));

    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims("user_alg"))
    );
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("key-1".into());
    let hs256_with_public_key = jsonwebtoken::encode(
        &hs_header,
        &claims("user_alg"),
        &EncodingKey::from_secret(keys()[0].public_pem.as_bytes()),
    )
    .unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let mut other = claims("user_admin");
    other["exp"] = json!(now() + 3600);
    let tampered = format!("{}.{}.{}", parts[0], b64(&other), parts[2]);
    let no_kid = {
        let header = Header::new(Algorithm::RS256);
        jsonwebtoken::encode(
            &header,
            &claims("user_alg"),
            &EncodingKey::from_rsa_pem(keys()[0].private_pem.as_bytes()).unwrap(),
        )
        .unwrap()
    };
    for (case, token) in [
        ("alg none", none),
        ("HS256 keyed with the public key", hs256_with_public_key),
        ("tampered payload", tampered),
        ("no kid", no_kid),
    ] {
        assert_eq!(status_with(&app, &token).await, Status::Unauthorized, "{case}");
    }
    assert_eq!(status_with(&app, &good).await, Status::Ok);
}

#[tokio::test]
async fn an_unknown_kid_triggers_one_refetch_then_is_refused() {
    let jwks = JwksServer::start(&[&keys()[0]]).await;
    let app = clerk_app(&jwks.url).await;
    assert_eq!(
        status_with(&app, &sign(&keys()[0], &claims("user_kid"))).await,
        Status::Ok
    );
    assert_eq!(jwks.hits(), 1);
    let unknown = sign(&keys()[1], &claims("user_kid"));
    assert_eq!(status_with(&app, &unknown).await, Status::Unauthorized);
    assert_eq!(jwks.hits(), 2, "one refetch for the unknown kid");
    assert_eq!(status_with(&app, &unknown).await, Status::Unauthorized);
    assert_eq!(jwks.hits(), 2, "no second refetch within the cooldown");
}

#[tokio::test]
async fn a_rotated_key_is_accepted_after_a_refetch() {
    let jwks = JwksServer::start(&[&keys()[0]]).await;
    let app = clerk_app(&jwks.url).await;
    assert_eq!(
        status_with(&app, &sign(&keys()[0], &claims("user_rot"))).await,
        Status::Ok
    );
    jwks.serve(&[&keys()[0], &keys()[1]]);
    assert_eq!(
        status_with(&app, &sign(&keys()[1], &claims("user_rot"))).await,
        Status::Ok
    );
    assert_eq!(jwks.hits(), 2);
}

#[tokio::test]
async fn with_the_key_server_down_authenticated_calls_get_503_and_anonymous_ones_work() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = clerk_app(&format!("http://{closed}/.well-known/jwks.json")).await;
    let response = app
        .gql_with(
            &[(
                "Authorization",
                &format!("Bearer {}", sign(&keys()[0], &claims("user_down"))),
            )],
            ME,
            json!({}),
        )
        .await;
    assert_eq!(response.status, Status::ServiceUnavailable);
    assert_eq!(error_code(&response.json()), "SERVICE_UNAVAILABLE");
    assert_eq!(
        app.gql("{ health { status } me { name } }", json!({})).await["data"]["me"],
        Value::Null
    );
}

/// A key server that accepts connections and never answers: signed-in requests get 503 within the 5 s
/// bound, together (one fetch), and the next ones at once (back-off); anonymous requests never wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_key_server_costs_one_fetch_and_at_most_five_seconds() {
    let jwks = JwksServer::start(&[&keys()[0]]).await;
    jwks.hang(true);
    let app = std::sync::Arc::new(clerk_app(&jwks.url).await);
    let started = std::time::Instant::now();
    let requests: Vec<_> = (0..4)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { status_with(&app, &sign(&keys()[0], &claims(&format!("user_hang{i}")))).await })
        })
        .collect();
    let anonymous = app.gql("{ health { status } }", json!({})).await;
    assert!(anonymous["errors"].is_null(), "anonymous requests do not wait for keys");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    for request in requests {
        assert_eq!(request.await.unwrap(), Status::ServiceUnavailable);
    }
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_millis(6_500), "waited {took:?}");
    assert_eq!(jwks.hits(), 1, "one fetch for everybody");
    let again = std::time::Instant::now();
    assert_eq!(
        status_with(&app, &sign(&keys()[0], &claims("user_hang9"))).await,
        Status::ServiceUnavailable
    );
    assert!(
        again.elapsed() < std::time::Duration::from_secs(1),
        "backing off, not waiting again"
    );
    assert_eq!(jwks.hits(), 1);
}

#[tokio::test]
async fn a_networkless_pem_key_verifies_without_any_jwks() {
    let pem = keys()[0].public_pem.replace('\n', "\\n");
    let app = TestApp::spawn_with(&[
        ("clerk_jwt_key", &pem),
        ("clerk_issuer", ISSUER),
        ("allowed_origins", FRONTEND),
    ])
    .await;
    assert_eq!(
        status_with(&app, &sign(&keys()[0], &claims("user_pem"))).await,
        Status::Ok
    );
    assert_eq!(
        status_with(&app, &sign(&keys()[1], &claims("user_pem"))).await,
        Status::Unauthorized
    );
}

#[tokio::test]
async fn auth_failures_are_logged_with_a_fingerprint_never_the_token() {
    let jwks = JwksServer::start(&[&keys()[0]]).await;
    let app = clerk_app(&jwks.url).await;
    let mut bad = claims("user_log");
    bad["iss"] = json!("https://evil.example");
    let token = sign(&keys()[0], &bad);
    assert_eq!(status_with(&app, &token).await, Status::Unauthorized);
    let events = app.security_events();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["event_type"], "auth_failure");
    assert_eq!(event["severity"], "medium");
    assert!(
        event["details"]["reason"].as_str().unwrap().contains("Issuer"),
        "{event}"
    );
    assert_eq!(
        event["details"]["token_fingerprint"],
        homechef::security_log::fingerprint(&token)
    );
    assert!(event["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(event["time"].as_str().unwrap().ends_with('Z'));
    assert!(!app.security_log_text().contains(&token));
    assert!(!app.security_log_text().contains(token.split('.').nth(2).unwrap()));
}

/// A token signed by `key`, its header edited by `edit` first.
fn sign_with_header(key: &TestKey, claims: &Value, edit: impl Fn(&mut Header)) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.to_owned());
    edit(&mut header);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(key.private_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn pem_app(extra: &[(&str, &str)]) -> TestApp {
    let pem = keys()[0].public_pem.replace('\n', "\\n");
    let mut overrides = vec![
        ("clerk_jwt_key", pem.as_str()),
        ("clerk_issuer", ISSUER),
        ("allowed_origins", FRONTEND),
    ];
    overrides.extend_from_slice(extra);
    TestApp::spawn_with(&overrides).await
}

#[tokio::test]
async fn kid_is_required_and_typ_must_say_jwt_in_pem_mode_too() {
    let app = pem_app(&[]).await;
    let good = claims("user_rules");
    let cases = [
        (
            "no kid",
            sign_with_header(&keys()[0], &good, |h| h.kid = None),
            Status::Unauthorized,
        ),
        (
            "typ at+jwt",
            sign_with_header(&keys()[0], &good, |h| h.typ = Some("at+jwt".into())),
            Status::Unauthorized,
        ),
        (
            "typ JOSE",
            sign_with_header(&keys()[0], &good, |h| h.typ = Some("JOSE".into())),
            Status::Unauthorized,
        ),
        (
            "no typ",
            sign_with_header(&keys()[0], &good, |h| h.typ = None),
            Status::Ok,
        ),
        ("typ JWT", sign(&keys()[0], &good), Status::Ok),
    ];
    for (case, token, expected) in cases {
        assert_eq!(status_with(&app, &token).await, expected, "{case}");
    }
}

#[tokio::test]
async fn an_audience_is_required_when_configured_and_refused_when_not() {
    let with_aud = |aud: Value| {
        let mut c = claims("user_aud");
        c["aud"] = aud;
        sign(&keys()[0], &c)
    };
    let unset = pem_app(&[]).await;
    assert_eq!(
        status_with(&unset, &with_aud(json!("homechef-api"))).await,
        Status::Unauthorized,
        "minted for something else"
    );
    assert_eq!(
        status_with(&unset, &sign(&keys()[0], &claims("user_aud"))).await,
        Status::Ok
    );

    let set = pem_app(&[("clerk_audience", "homechef-api")]).await;
    for (aud, expected) in [
        (json!("homechef-api"), Status::Ok),
        (json!(["other", "homechef-api"]), Status::Ok),
        (json!("other-api"), Status::Unauthorized),
    ] {
        assert_eq!(status_with(&set, &with_aud(aud.clone())).await, expected, "{aud}");
    }
    assert_eq!(
        status_with(&set, &sign(&keys()[0], &claims("user_aud"))).await,
        Status::Unauthorized,
        "no aud"
    );
}

/// Huge attacker-chosen header fields, user agents and operation names cannot grow the security log by
/// more than 2 KB per refused request.
#[tokio::test]
async fn a_refused_request_adds_at_most_two_kilobytes_to_the_security_log() {
    let jwks = JwksServer::start(&[&keys()[0]]).await;
    let app = clerk_app(&jwks.url).await;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let body = b64(claims("user_logs"));
    let huge = "A".repeat(100_000);
    let tokens = [
        format!("{}.{body}.c2ln", b64(json!({ "alg": huge, "typ": "JWT" }))),
        format!(
            "{}.{body}.c2ln",
            b64(json!({ "alg": "RS256", "typ": "JWT", "kid": huge }))
        ),
        format!(
            "{}.{body}.c2ln",
            b64(json!({ "alg": "RS256", "typ": huge, "kid": "key-1" }))
        ),
        format!("{huge}.{body}.c2ln"),
    ];
    let log_size = || std::fs::metadata(app.log_dir.join(homechef::security_log::FILE_NAME)).map_or(0, |m| m.len());
    for token in tokens {
        let before = log_size();
        let query = format!("query {} {{ me {{ name }} }}", "Op".repeat(5_000));
        let response = app
            .gql_with(
                &[("Authorization", &format!("Bearer {token}")), ("User-Agent", &huge)],
                &query,
                json!({}),
            )
            .await;
        assert_eq!(response.status, Status::Unauthorized);
        let grown = log_size() - before;
        assert!(grown > 0 && grown <= 2_048, "{grown} bytes for one refused request");
    }
}
