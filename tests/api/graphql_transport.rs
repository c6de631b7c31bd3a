use rocket::http::{ContentType, Status};
use serde_json::json;

use crate::helpers::{error_code, TestApp};

fn assert_graphql_error(response: &crate::helpers::TestResponse, status: Status, code: &str) {
    assert_eq!(response.status, status, "{}", response.body);
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    let body = response.json();
    assert_eq!(error_code(&body), code, "{body}");
    assert!(body["errors"][0]["message"].is_string());
}

#[tokio::test]
async fn malformed_json_is_a_graphql_shaped_400() {
    let app = TestApp::spawn().await;
    let response = app.post_graphql_raw(ContentType::JSON, "{\"query\": ", &[]).await;
    assert_graphql_error(&response, Status::BadRequest, "BAD_REQUEST");
}

#[tokio::test]
async fn batched_requests_are_refused() {
    let app = TestApp::spawn().await;
    let body = r#"[{"query":"{ health { status } }"},{"query":"{ health { status } }"}]"#;
    let response = app.post_graphql_raw(ContentType::JSON, body, &[]).await;
    assert_graphql_error(&response, Status::BadRequest, "BAD_REQUEST");
}

#[tokio::test]
async fn non_json_content_types_are_415() {
    let app = TestApp::spawn().await;
    let body = r#"{"query":"{ health { status } }"}"#;
    for content_type in [ContentType::Plain, ContentType::Form, ContentType::HTML] {
        let response = app.post_graphql_raw(content_type, body, &[]).await;
        assert_graphql_error(&response, Status::UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE");
    }
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = TestApp::spawn().await;
    let body = json!({ "query": format!("{{ health {{ status }} }} #{}", "x".repeat(70_000)) }).to_string();
    let response = app.post_graphql_raw(ContentType::JSON, body, &[]).await;
    assert_graphql_error(&response, Status::PayloadTooLarge, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn get_runs_queries() {
    let app = TestApp::spawn().await;
    let response = app.get("/graphql?query=%7B%20health%20%7B%20status%20%7D%20%7D").await;
    assert_eq!(response.status, Status::Ok);
    assert_eq!(response.json(), json!({"data": {"health": {"status": "OK"}}}));
}

#[tokio::test]
async fn get_refuses_mutations() {
    let app = TestApp::spawn().await;
    let response = app.get("/graphql?query=mutation%20%7B%20x%20%7D").await;
    assert_graphql_error(&response, Status::MethodNotAllowed, "METHOD_NOT_ALLOWED");
    assert_eq!(response.header("Allow"), Some("POST"));
}

#[tokio::test]
async fn get_without_query_is_400() {
    let app = TestApp::spawn().await;
    assert_graphql_error(&app.get("/graphql").await, Status::BadRequest, "BAD_REQUEST");
}

#[tokio::test]
async fn invalid_documents_are_graphql_errors_not_500s() {
    let app = TestApp::spawn().await;
    let response = app.gql("{ health { nope } }", json!({})).await;
    assert!(response["errors"][0]["message"].as_str().unwrap().contains("nope"));
    let response = app.gql("{ unclosed", json!({})).await;
    assert!(response["errors"].is_array());
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let app = TestApp::spawn().await;
    assert_graphql_error(&app.get("/wp-admin").await, Status::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn graphiql_is_served_from_our_own_assets() {
    let app = TestApp::spawn().await;
    let page = app.get("/graphiql").await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("/graphiql/graphiql.min.js"));
    assert!(
        !page.body.contains("http"),
        "the page must not load anything from another host"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "init.js",
    ] {
        let response = app.get(&format!("/graphiql/{asset}")).await;
        assert_eq!(response.status, Status::Ok, "{asset}");
        assert!(response.body.len() > 100, "{asset}");
    }
    assert_eq!(app.get("/graphiql/../Cargo.toml").await.status, Status::NotFound);
}

#[tokio::test]
async fn production_turns_off_graphiql_and_introspection() {
    let app = TestApp::spawn_with(&[("app_env", "production")]).await;
    assert_eq!(app.get("/graphiql").await.status, Status::NotFound);
    let response = app
        .gql_with(&[], "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(response.status, Status::BadRequest);
}

#[tokio::test]
async fn overly_deep_queries_are_refused() {
    let app = TestApp::spawn().await;
    assert!(app.gql("{ health { status } }", json!({})).await["errors"].is_null());
    // Introspection mixed with data counts against the data limits (alone it has its own bound).
    let deep = "{ health { status } __schema { types { fields { type { \
                ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }";
    let response = app.gql_with(&[], deep, json!({})).await;
    assert_eq!(response.status.code, 400);
    assert_eq!(
        response.json()["errors"][0]["extensions"]["limit"],
        "depth",
        "{}",
        response.body
    );
}

/// Every byte but letters and digits percent-encoded: a query-string parameter.
fn query_param(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// Apollo's automatic persisted queries: a hash we do not hold is `PERSISTED_QUERY_NOT_FOUND` (the link then
/// sends the document), a document with its hash is kept, and the hash alone then runs it, by POST and GET.
#[tokio::test]
async fn persisted_queries_are_found_by_hash_after_one_full_request() {
    let app = TestApp::spawn().await;
    let query = "query Health { health { status } }";
    let hash = sha256_hex(query);
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let hash_only = json!({ "operationName": "Health", "extensions": persisted }).to_string();
    let missing = app.post_graphql_raw(ContentType::JSON, hash_only.clone(), &[]).await;
    assert_eq!(missing.status, Status::Ok, "{}", missing.body);
    let body = missing.json();
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    assert!(body.get("data").is_none(), "{body}");
    let with_accept = [("Accept", "application/graphql-response+json")];
    let missing = app
        .post_graphql_raw(ContentType::JSON, hash_only.clone(), &with_accept)
        .await;
    assert_eq!(missing.status, Status::BadRequest, "a request error: {}", missing.body);

    // A hash that is not the document's is refused, and keeps nothing.
    let forged = json!({ "query": "{ me { id } }", "extensions": persisted }).to_string();
    let refused = app.post_graphql_raw(ContentType::JSON, forged, &[]).await;
    assert_graphql_error(&refused, Status::BadRequest, "BAD_REQUEST");
    let still_missing = app.post_graphql_raw(ContentType::JSON, hash_only.clone(), &[]).await;
    assert_eq!(error_code(&still_missing.json()), "PERSISTED_QUERY_NOT_FOUND");

    let full = json!({ "query": query, "operationName": "Health", "extensions": persisted }).to_string();
    let stored = app.post_graphql_raw(ContentType::JSON, full, &[]).await;
    assert_eq!(stored.json(), json!({ "data": { "health": { "status": "OK" } } }));
    let found = app.post_graphql_raw(ContentType::JSON, hash_only, &[]).await;
    assert_eq!(found.json(), json!({ "data": { "health": { "status": "OK" } } }));
    let by_get = app
        .get(&format!(
            "/graphql?operationName=Health&extensions={}",
            query_param(&persisted.to_string())
        ))
        .await;
    assert_eq!(by_get.status, Status::Ok, "{}", by_get.body);
    assert_eq!(by_get.json(), json!({ "data": { "health": { "status": "OK" } } }));
    let bad_version = json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": hash } } });
    let refused = app
        .post_graphql_raw(ContentType::JSON, bad_version.to_string(), &[])
        .await;
    assert_graphql_error(&refused, Status::BadRequest, "BAD_REQUEST");
}

/// A query sent with GET gets a strong `ETag`; the same `If-None-Match` is 304 without a body. Anonymous
/// answers may be kept briefly by shared caches, signed-in ones only by the client, revalidated every time;
/// errors keep `no-store` and no validator.
#[tokio::test]
async fn get_answers_carry_an_etag_and_a_held_one_is_304() {
    let app = TestApp::spawn().await;
    let uri = format!("/graphql?query={}", query_param("{ health { status } }"));
    let first = app.get(&uri).await;
    assert_eq!(first.status, Status::Ok);
    let etag = first.header("ETag").expect("an ETag").to_owned();
    assert!(
        etag.starts_with('"') && etag.len() == 34 && !etag.starts_with("W/"),
        "{etag}"
    );
    assert_eq!(first.header("Cache-Control"), Some("public, max-age=5"));
    let again = app.get_with(&uri, &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, Status::NotModified);
    assert!(again.bytes.is_empty(), "a 304 has no body");
    assert_eq!(again.header("ETag"), Some(etag.as_str()));
    let other = app.get_with(&uri, &[("If-None-Match", "\"0123\", W/\"4567\"")]).await;
    assert_eq!(other.status, Status::Ok);
    assert_eq!(other.body, first.body);
    // Another media type is another representation.
    let typed = app
        .get_with(&uri, &[("Accept", "application/graphql-response+json")])
        .await;
    assert_ne!(typed.header("ETag"), Some(etag.as_str()));

    let token = format!("Bearer {}", crate::helpers::dev_token("etag"));
    let me = format!("/graphql?query={}", query_param("{ me { id } }"));
    let personal = app.get_with(&me, &[("Authorization", &token)]).await;
    assert_eq!(personal.status, Status::Ok, "{}", personal.body);
    assert_eq!(personal.header("Cache-Control"), Some("private, no-cache"));
    let tag = personal.header("ETag").expect("an ETag").to_owned();
    let held = app
        .get_with(&me, &[("Authorization", &token), ("If-None-Match", &tag)])
        .await;
    assert_eq!(held.status, Status::NotModified);
    let someone_else = format!("Bearer {}", crate::helpers::dev_token("etag-2"));
    let theirs = app
        .get_with(&me, &[("Authorization", &someone_else), ("If-None-Match", &tag)])
        .await;
    assert_eq!(
        theirs.status,
        Status::Ok,
        "another viewer's answer is another representation"
    );

    let failed = app.get(&format!("/graphql?query={}", query_param("{ nope }"))).await;
    assert_eq!(failed.header("Cache-Control"), Some("no-store"));
    assert_eq!(failed.header("ETag"), None);
}
