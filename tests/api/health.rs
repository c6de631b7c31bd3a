use rocket::http::Status;
use serde_json::json;

use crate::helpers::{test_config, TestApp};

#[tokio::test]
async fn ready_reports_a_reachable_migrated_database() {
    let app = TestApp::spawn().await;
    let response = app.get("/health/ready").await;
    assert_eq!(response.status, Status::Ok);
    assert_eq!(
        response.json(),
        json!({"status": "ready", "database": "up", "migrations": "up", "antivirus": "disabled", "storage": "up"})
    );
}

#[tokio::test]
async fn liveness_and_summary_answer_without_the_database() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/health/live").await.json(), json!({"status": "alive"}));
    assert_eq!(
        app.get("/health").await.json(),
        json!({"status": "healthy", "antivirus": "disabled", "rate_limit_store": "disabled", "storage": "up"})
    );
}

#[tokio::test]
async fn ready_is_503_when_the_database_is_unreachable() {
    let rocket = homechef::rocket(test_config("postgres://nobody:pw@127.0.0.1:1/none", &[])).unwrap();
    let client = rocket::local::asynchronous::Client::tracked(rocket).await.unwrap();
    let response = client.get("/health/ready").dispatch().await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    let body: serde_json::Value = serde_json::from_str(&response.into_string().await.unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"status": "unavailable", "database": "down", "migrations": "down", "antivirus": "disabled", "storage": "up"})
    );
}

#[tokio::test]
async fn ready_is_503_while_migrations_are_pending() {
    let app = TestApp::spawn().await;
    let mut conn = homechef::db::connect(&app.db.url).await.unwrap();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("delete from __diesel_schema_migrations where version = (select max(version) from __diesel_schema_migrations)"),
        &mut conn,
    )
    .await
    .unwrap();
    let response = app.get("/health/ready").await;
    assert_eq!(response.status, Status::ServiceUnavailable);
    assert_eq!(response.json()["migrations"], "pending");
}

#[tokio::test]
async fn graphql_health_query_reports_status() {
    let app = TestApp::spawn().await;
    let response = app.gql("{ health { status database migrations } }", json!({})).await;
    assert_eq!(
        response,
        json!({"data": {"health": {"status": "OK", "database": "UP", "migrations": "UP"}}})
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_safe_incoming_one_is_kept() {
    let app = TestApp::spawn().await;
    let generated = app.get("/health").await;
    let id = generated.header("X-Request-Id").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

    let kept = app
        .client
        .get("/health")
        .header(rocket::http::Header::new("X-Request-Id", "edge-1234.abc"))
        .dispatch()
        .await;
    assert_eq!(kept.headers().get_one("X-Request-Id"), Some("edge-1234.abc"));

    let hostile = app
        .client
        .get("/nope")
        .header(rocket::http::Header::new("X-Request-Id", "evil\" id<script>"))
        .dispatch()
        .await;
    let id = hostile.headers().get_one("X-Request-Id").unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
}
