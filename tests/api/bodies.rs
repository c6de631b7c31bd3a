//! Bodies on real sockets: every route that reads one has a deadline and a cap, a declared size over the
//! cap is refused before a byte is read, and an early refusal reaches a client that is still streaming
//! its body (Node's fetch saw only `EPIPE` before).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::{parse_http, SocketApp, TestResponse};

const WEBHOOK_SECRET: &str = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5YWI=";

/// Connects from `source` (a loopback address of the test's own, for per-address limits).
async fn connect(app: &SocketApp, source: [u8; 4]) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((source, 0).into()).unwrap();
    socket.connect(app.addr).await.unwrap()
}

/// Writes `head`, then streams `body_len` bytes of body in 64 KiB chunks, like a browser or undici would;
/// then reads the answer. Panics if the server cut the connection before the client could read it.
async fn stream_upload(app: &SocketApp, source: [u8; 4], head: &str, body_len: usize) -> TestResponse {
    let mut stream = connect(app, source).await;
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < body_len {
        let n = chunk.len().min(body_len - sent);
        stream
            .write_all(&chunk[..n])
            .await
            .unwrap_or_else(|e| panic!("the server cut the upload after {sent} bytes: {e}"));
        sent += n;
    }
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .unwrap_or_else(|e| panic!("the answer was lost: {e}"));
    parse_http(&answer)
}

fn multipart_head(app: &SocketApp, body_len: usize, preflight: bool) -> String {
    format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {body_len}\r\n{}Connection: close\r\n\r\n",
        app.addr,
        if preflight { "GraphQL-Require-Preflight: 1\r\n" } else { "" }
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_upload_without_the_preflight_header_receives_the_415() {
    let app = SocketApp::spawn_with(&[]).await;
    let len = 5 * 1024 * 1024;
    let response = stream_upload(&app, [127, 0, 0, 4], &multipart_head(&app, len, false), len).await;
    assert_eq!(response.status.code, 415, "{}", response.body);
    assert_eq!(
        response.json()["errors"][0]["extensions"]["code"],
        "UNSUPPORTED_MEDIA_TYPE"
    );
    let message = response.json()["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("GraphQL-Require-Preflight"),
        "names the missing header: {message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_over_the_rate_limit_receives_the_429_with_retry_after() {
    let app = SocketApp::spawn_with(&[]).await;
    let len = 6 * 1024 * 1024;
    let mut last = None;
    for _ in 0..5 {
        let response = stream_upload(&app, [127, 0, 0, 5], &multipart_head(&app, len, true), len).await;
        assert!(response.status.code < 500, "{}", response.body);
        last = Some(response);
    }
    let last = last.unwrap();
    assert_eq!(last.status.code, 429, "{}", last.body);
    assert!(last.header("Retry-After").is_some());
    assert_eq!(last.json()["errors"][0]["extensions"]["code"], "RATE_LIMITED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_cap_is_refused_before_the_body_is_sent() {
    let app = SocketApp::spawn_with(&[("clerk_webhook_secret", WEBHOOK_SECRET)]).await;
    for (path, content_type, extra) in [
        ("/graphql", "application/json", ""),
        (
            "/graphql",
            "multipart/form-data; boundary=b",
            "GraphQL-Require-Preflight: 1\r\n",
        ),
        ("/webhooks/clerk", "application/json", ""),
    ] {
        let mut stream = connect(&app, [127, 0, 0, 6]).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: 10000000000\r\n{extra}Connection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        // Rocket peeks at the first 14 body bytes of every request before routing (its `_method` form
        // override); past those, nothing more is sent, and the answer must come anyway, at once.
        stream.write_all(&[b' '; 14]).await.unwrap();
        let started = Instant::now();
        let mut answer = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("{path} {content_type}: no answer without the body"))
            .unwrap();
        let response = parse_http(&answer[..n]);
        assert_eq!(response.status.code, 413, "{path} {content_type}: {}", response.body);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_webhook_body_gets_408() {
    let app = SocketApp::spawn_with(&[
        ("request_body_timeout_secs", "1"),
        ("clerk_webhook_secret", WEBHOOK_SECRET),
    ])
    .await;
    let mut stream = connect(&app, [127, 0, 0, 7]).await;
    let head = "POST /webhooks/clerk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"type\": \"user.created\",";
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("answered")
        .unwrap();
    let response = parse_http(&answer[..n]);
    assert_eq!(response.status.code, 408, "{}", response.body);
    assert!(started.elapsed() < Duration::from_secs(5));
}
