use rocket::http::Status;
use serde_json::json;

use crate::helpers::{dev_token, TestApp};

const ME: &str = "{ me { id email name } }";

#[tokio::test]
async fn anonymous_requests_have_no_viewer() {
    let app = TestApp::spawn().await;
    assert_eq!(app.gql(ME, json!({})).await, json!({"data": {"me": null}}));
}

#[tokio::test]
async fn a_dev_token_signs_in_and_creates_the_user_once() {
    let app = TestApp::spawn().await;
    let token = dev_token("alice");
    let first = app.gql_as(&token, ME, json!({})).await;
    assert_eq!(first["data"]["me"]["name"], "alice");
    assert_eq!(first["data"]["me"]["email"], "alice@example.com");
    let second = app.gql_as(&token, ME, json!({})).await;
    assert_eq!(first["data"]["me"]["id"], second["data"]["me"]["id"]);
}

#[tokio::test]
async fn racing_first_requests_create_one_user() {
    let app = TestApp::spawn().await;
    let token = dev_token("racer");
    let requests = (0..8).map(|_| app.gql_as(&token, ME, json!({})));
    let responses = rocket::futures::future::join_all(requests).await;
    let ids: std::collections::BTreeSet<String> = responses
        .iter()
        .map(|r| r["data"]["me"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn invalid_tokens_get_one_generic_401() {
    let app = TestApp::spawn().await;
    let foreign = homechef::auth::dev_token::issue(
        &"another-key-0123456789-abcdefghijklmnop".to_owned().into(),
        "mallory",
        None,
    )
    .unwrap();
    for header in [
        "Bearer not-a-jwt".to_owned(),
        format!("Bearer {foreign}"),
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l".to_owned(),
        "Bearer ".to_owned(),
    ] {
        let response = app.gql_with(&[("Authorization", &header)], ME, json!({})).await;
        assert_eq!(response.status, Status::Unauthorized, "{header}");
        assert_eq!(
            response.header("WWW-Authenticate"),
            Some(r#"Bearer error="invalid_token""#)
        );
        assert_eq!(
            response.json(),
            json!({"errors": [{"message": "authentication required", "extensions": {"code": "UNAUTHENTICATED"}}]})
        );
    }
}

#[tokio::test]
async fn dev_tokens_are_rejected_in_production() {
    let app = TestApp::spawn_with(&[("app_env", "production")]).await;
    let response = app
        .gql_with(
            &[("Authorization", &format!("Bearer {}", dev_token("alice")))],
            ME,
            json!({}),
        )
        .await;
    assert_eq!(response.status, Status::Unauthorized);
}
