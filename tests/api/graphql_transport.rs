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
