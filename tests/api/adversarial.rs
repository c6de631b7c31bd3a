//! Hostile GraphQL documents from a generator: every shape is decided (refused or answered) in bounded
//! time without a 5xx, and liveness keeps answering while they arrive. The worst case is printed, so
//! `cargo test --test api adversarial -- --nocapture` doubles as the benchmark the README quotes.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{parse_http, SocketApp, TestResponse};

/// `levels` fragments on `HealthReport`, each spreading the previous one `fan_out` times.
pub fn fan_out_chain(levels: usize, fan_out: usize) -> String {
    let mut doc = format!("{{ health {{ ...F{levels} }} }}\nfragment F1 on HealthReport {{ status }}\n");
    for level in 2..=levels {
        let spreads = format!("...F{} ", level - 1).repeat(fan_out);
        doc.push_str(&format!("fragment F{level} on HealthReport {{ {spreads}}}\n"));
    }
    doc
}

/// Every shape the generator makes: (name, document, operation name).
pub fn shapes() -> Vec<(String, String, Option<String>)> {
    let mut shapes = Vec::new();
    let mut add = |name: String, doc: String, op: Option<&str>| shapes.push((name, doc, op.map(str::to_owned)));
    // Fan-out chains: deep and narrow to shallow and wide, around and far past the bound.
    for (levels, fan_out) in [(13, 10), (10, 4), (11, 4), (30, 2), (60, 2), (4, 40), (6, 12), (3, 10)] {
        add(
            format!("fan-out chain {levels}x{fan_out}"),
            fan_out_chain(levels, fan_out),
            None,
        );
    }
    // One wide fragment spread many times, and the same through a second level.
    let wide = format!("fragment W on HealthReport {{ {}}}", "status ".repeat(300));
    add(
        "wide fragment x300".into(),
        format!("{{ health {{ {}}} }} {wide}", "...W ".repeat(300)),
        None,
    );
    add(
        "wide fragment x5 (under the bound)".into(),
        format!("{{ health {{ {}}} }} {wide}", "...W ".repeat(5)),
        None,
    );
    add(
        "wide fragment, two levels".into(),
        format!(
            "{{ health {{ ...V }} }} fragment V on HealthReport {{ {}}} {wide}",
            "...W ".repeat(200)
        ),
        None,
    );
    // Nested inline fragments, alone and wrapping spreads of a fan-out chain.
    let nest = |inner: &str, depth: usize| {
        format!(
            "{}{inner}{}",
            "... on HealthReport { ".repeat(depth),
            " }".repeat(depth)
        )
    };
    add(
        "inline fragments 180 deep".into(),
        format!("{{ health {{ {} }} }}", nest("status", 180)),
        None,
    );
    let chain = fan_out_chain(12, 4);
    let fragments = chain.split_once('\n').unwrap_or_default().1;
    add(
        "inline fragments around a fan-out chain".into(),
        format!("{{ health {{ {} }} }}\n{fragments}", nest(&"...F12 ".repeat(4), 50)),
        None,
    );
    // Fragment cycles: self, pair, long ring, and a cycle behind a fan-out.
    add(
        "self cycle".into(),
        "{ health { ...A } } fragment A on HealthReport { status ...A }".into(),
        None,
    );
    add(
        "pair cycle".into(),
        "{ health { ...A } } fragment A on HealthReport { ...B } fragment B on HealthReport { ...A }".into(),
        None,
    );
    let ring: String = (0..40)
        .map(|i| {
            format!(
                "fragment R{i} on HealthReport {{ status ...R{} ...R{} }} ",
                (i + 1) % 40,
                (i + 1) % 40
            )
        })
        .collect();
    add(
        "ring of 40 with fan-out 2".into(),
        format!("{{ health {{ ...R0 }} }} {ring}"),
        None,
    );
    // Many operations in one document, with and without a name to pick one.
    let many_ops = |n: usize| -> String {
        let ops: String = (0..n)
            .map(|i| format!("query Q{i} {{ health {{ ...F6 }} }} "))
            .collect();
        let chain = fan_out_chain(6, 4);
        format!("{ops}\n{}", chain.split_once('\n').map(|(_, f)| f).unwrap_or_default())
    };
    add("60 operations + operationName".into(), many_ops(60), Some("Q7"));
    add("2 operations + operationName".into(), many_ops(2), Some("Q1"));
    let small_ops: String = (0..100)
        .map(|i| format!("query Q{i} {{ health {{ status }} }} "))
        .collect();
    add(
        "100 small operations + operationName".into(),
        small_ops.clone(),
        Some("Q99"),
    );
    add("100 small operations, no name".into(), small_ops, None);
    // Unused fragments only.
    add(
        "unused fan-out chain".into(),
        format!(
            "{{ health {{ status }} }} {}",
            fan_out_chain(13, 10).split_once('\n').unwrap_or_default().1
        ),
        None,
    );
    // Many errors from a short document, and many directives and variables.
    add(
        "900 unknown fields".into(),
        format!(
            "{{ {} }}",
            (0..900).map(|i| format!("f{i}")).collect::<Vec<_>>().join(" ")
        ),
        None,
    );
    add(
        "overlapping fields x900".into(),
        format!("{{ health {{ {} }} }}", "status ".repeat(900)),
        None,
    );
    add(
        "200 unused variables".into(),
        format!(
            "query Q({}) {{ health {{ status }} }}",
            (0..200).map(|i| format!("$v{i}: Int")).collect::<Vec<_>>().join(" ")
        ),
        None,
    );
    add(
        "nesting 300 deep".into(),
        format!("{{ {}status{} }}", "health { ".repeat(300), " }".repeat(300)),
        None,
    );
    shapes
}

/// Sends `document` from 127.0.0.2: the route rate limiter counts per address across the whole test
/// process even where limits are switched off, and 127.0.0.1's allowance belongs to the rate-limit tests.
async fn post(app: &SocketApp, document: &str, operation_name: Option<&str>) -> TestResponse {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let body = json!({ "query": document, "operationName": operation_name }).to_string();
    let request = format!(
        "POST /graphql HTTP/1.0\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        app.addr,
        body.len()
    );
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(([127, 0, 0, 2], 0).into()).unwrap();
    let mut stream = socket.connect(app.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    parse_http(&answer)
}

/// Generous on purpose (debug build, shared CI machine): the shapes this guards against took 10 s to
/// minutes before the expanded-size bound; the benchmark output shows the real numbers.
const DECIDED_WITHIN: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_adversarial_shape_is_decided_quickly_with_a_code() {
    let app = SocketApp::spawn_with(&[("rate_limit_enabled", "false")]).await;
    let mut worst = (Duration::ZERO, String::new());
    println!("{:<42} {:>6} {:>10}  code", "shape", "status", "decided");
    for (name, document, operation_name) in shapes() {
        let started = Instant::now();
        let response = post(&app, &document, operation_name.as_deref()).await;
        let took = started.elapsed();
        let json = response.json();
        let code = json["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("-")
            .to_owned();
        let limit = json["errors"][0]["extensions"]["limit"].as_str().unwrap_or("");
        println!(
            "{name:<42} {:>6} {:>8.2}ms  {code} {limit}",
            response.status.code,
            took.as_secs_f64() * 1e3
        );
        assert!(response.status.code < 500, "{name}: {}", response.body);
        assert!(took < DECIDED_WITHIN, "{name} took {took:?}");
        assert!(
            json["errors"].is_null() || code != "-",
            "{name}: every refusal has a code: {json}"
        );
        assert_ne!(code, "INTERNAL", "{name}");
        if took > worst.0 {
            worst = (took, name);
        }
    }
    println!("worst case: {} in {:.2} ms", worst.1, worst.0.as_secs_f64() * 1e3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_answers_while_hostile_documents_are_refused() {
    let app = std::sync::Arc::new(SocketApp::spawn_with(&[("rate_limit_enabled", "false")]).await);
    let hostile = fan_out_chain(13, 10);
    let heavy_but_allowed = format!(
        "{{ health {{ ...W ...W ...W ...W ...W }} }} fragment W on HealthReport {{ {}}}",
        "status ".repeat(300)
    );
    let stop = Instant::now() + Duration::from_secs(3);
    let attackers: Vec<_> = (0..4)
        .map(|i| {
            let app = app.clone();
            let document = if i % 2 == 0 {
                hostile.clone()
            } else {
                heavy_but_allowed.clone()
            };
            tokio::spawn(async move {
                let mut sent = 0u32;
                while Instant::now() < stop {
                    let response = post(&app, &document, None).await;
                    assert!(response.status.code < 500, "{}", response.body);
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    let mut latencies = Vec::new();
    while Instant::now() < stop {
        let started = Instant::now();
        let response = app.raw(b"GET /health/live HTTP/1.0\r\n\r\n").await; // not rate limited
        assert_eq!(response.status.code, 200);
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut sent = 0;
    for attacker in attackers {
        sent += attacker.await.unwrap();
    }
    latencies.sort();
    let max = latencies.last().copied().unwrap_or_default();
    let p50 = latencies[latencies.len() / 2];
    println!(
        "/health/live under {sent} hostile documents in 3 s: {} probes, p50 {:.1} ms, max {:.1} ms",
        latencies.len(),
        p50.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    assert!(sent > 20, "the attackers were answered too ({sent})");
    // 100 ms is the target (see the benchmark output); the bound here leaves room for a loaded CI machine.
    assert!(max < Duration::from_millis(750), "liveness stalled for {max:?}");
}
