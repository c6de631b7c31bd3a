//! `POST /webhooks/clerk` with real Svix signatures.

use homechef::auth::svix::SvixVerifier;
use rocket::http::{ContentType, Header, Status};
use serde_json::{json, Value};

use crate::clerk::now;
use crate::helpers::{dev_token, TestApp, TestResponse};

/// `whsec_` + base64 of 32 bytes.
const SECRET: &str = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5YWI=";

async fn webhook_app() -> TestApp {
    TestApp::spawn_with(&[("clerk_webhook_secret", SECRET)]).await
}

fn user_event(kind: &str, id: &str, first_name: &str) -> String {
    json!({
        "type": kind,
        "object": "event",
        "data": {
            "id": id,
            "object": "user",
            "first_name": first_name,
            "last_name": "Hopper",
            "primary_email_address_id": "idn_2",
            "email_addresses": [
                {"id": "idn_1", "email_address": "old@example.com"},
                {"id": "idn_2", "email_address": "grace@example.com"}
            ]
        }
    })
    .to_string()
}

async fn deliver(app: &TestApp, svix_id: &str, timestamp: i64, signature: &str, body: &str) -> TestResponse {
    let response = app
        .client
        .post("/webhooks/clerk")
        .header(ContentType::JSON)
        .header(Header::new("svix-id", svix_id.to_owned()))
        .header(Header::new("svix-timestamp", timestamp.to_string()))
        .header(Header::new("svix-signature", signature.to_owned()))
        .body(body)
        .dispatch()
        .await;
    crate::helpers::read_local(response).await
}

async fn deliver_signed(app: &TestApp, svix_id: &str, body: &str) -> TestResponse {
    let ts = now();
    let signature = SvixVerifier::new(SECRET).unwrap().sign(svix_id, ts, body.as_bytes());
    deliver(app, svix_id, ts, &signature, body).await
}

async fn user_row(app: &TestApp, clerk_id: &str) -> Option<(Option<String>, Option<String>)> {
    let count = app.count("users", &format!("clerk_id = '{clerk_id}'")).await;
    if count == 0 {
        return None;
    }
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        email: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        name: Option<String>,
    }
    let mut conn = app.db_conn().await;
    let row: Row = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(format!("select email, name from users where clerk_id = '{clerk_id}'")),
        &mut conn,
    )
    .await
    .unwrap();
    Some((row.email, row.name))
}

#[tokio::test]
async fn created_updated_and_deleted_events_are_applied() {
    let app = webhook_app().await;
    let created = deliver_signed(&app, "msg_1", &user_event("user.created", "user_grace", "Grace")).await;
    assert_eq!(created.status, Status::Ok, "{}", created.body);
    assert_eq!(created.json(), json!({"received": true, "outcome": "applied"}));
    assert_eq!(
        user_row(&app, "user_grace").await,
        Some((Some("grace@example.com".into()), Some("Grace Hopper".into())))
    );

    deliver_signed(
        &app,
        "msg_2",
        &user_event("user.updated", "user_grace", "Rear Admiral Grace"),
    )
    .await;
    assert_eq!(
        user_row(&app, "user_grace").await.unwrap().1.as_deref(),
        Some("Rear Admiral Grace Hopper")
    );

    let deleted =
        json!({"type": "user.deleted", "data": {"id": "user_grace", "deleted": true, "object": "user"}}).to_string();
    assert_eq!(
        deliver_signed(&app, "msg_3", &deleted).await.json()["outcome"],
        "applied"
    );
    assert_eq!(user_row(&app, "user_grace").await, None);
    let again = json!({"type": "user.deleted", "data": {"id": "user_grace", "deleted": true}}).to_string();
    assert_eq!(
        deliver_signed(&app, "msg_4", &again).await.status,
        Status::Ok,
        "deleting a missing user is fine"
    );
}

#[tokio::test]
async fn redelivery_is_idempotent() {
    let app = webhook_app().await;
    let body = user_event("user.created", "user_twice", "Twice");
    assert_eq!(
        deliver_signed(&app, "msg_dup", &body).await.json()["outcome"],
        "applied"
    );
    // The user renames themselves in our app; a redelivered old event must not undo that.
    let mut conn = app.db_conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("update users set name = 'Renamed' where clerk_id = 'user_twice'"),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(
        deliver_signed(&app, "msg_dup", &body).await.json()["outcome"],
        "duplicate"
    );
    assert_eq!(
        user_row(&app, "user_twice").await.unwrap().1.as_deref(),
        Some("Renamed")
    );
    assert_eq!(app.count("users", "clerk_id = 'user_twice'").await, 1);
}

#[tokio::test]
async fn bad_stale_and_replayed_signatures_are_refused_and_logged() {
    let app = webhook_app().await;
    let body = user_event("user.created", "user_forged", "Mallory");
    let verifier = SvixVerifier::new(SECRET).unwrap();
    let other = SvixVerifier::new("whsec_b3RoZXItc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY=").unwrap();

    let ts = now();
    let wrong_key = other.sign("msg_x", ts, body.as_bytes());
    let stale_ts = ts - 600;
    let stale = verifier.sign("msg_y", stale_ts, body.as_bytes());
    let captured = verifier.sign("msg_z", ts, body.as_bytes());
    let cases = [
        (
            "signed with another secret",
            deliver(&app, "msg_x", ts, &wrong_key, &body).await,
        ),
        ("stale timestamp", deliver(&app, "msg_y", stale_ts, &stale, &body).await),
        (
            "captured signature replayed with a fresh timestamp",
            deliver(&app, "msg_z", ts + 1, &captured, &body).await,
        ),
        (
            "captured signature on another body",
            deliver(
                &app,
                "msg_z",
                ts,
                &captured,
                &user_event("user.created", "user_forged", "Eve"),
            )
            .await,
        ),
        ("no headers", deliver(&app, "", ts, "", &body).await),
    ];
    for (case, response) in &cases {
        assert_eq!(response.status, Status::Unauthorized, "{case}");
        assert_eq!(
            response.json()["errors"][0]["extensions"]["code"],
            "UNAUTHENTICATED",
            "{case}"
        );
    }
    assert_eq!(user_row(&app, "user_forged").await, None);
    let events: Vec<Value> = app.security_events();
    assert_eq!(events.len(), cases.len());
    assert!(events
        .iter()
        .all(|e| e["event_type"] == "webhook_signature_invalid" && e["severity"] == "high"));
}

#[tokio::test]
async fn malformed_events_are_400_not_500() {
    let app = webhook_app().await;
    for body in [
        "not json",
        r#"{"type":"user.created","data":{"no_id":true}}"#,
        r#"{"type":"user.created","data":{"id":""}}"#,
    ] {
        let response = deliver_signed(&app, &format!("msg_{}", body.len()), body).await;
        assert_eq!(response.status, Status::BadRequest, "{body}: {}", response.body);
    }
    let other = json!({"type": "session.created", "data": {"id": "sess_1"}}).to_string();
    assert_eq!(
        deliver_signed(&app, "msg_other", &other).await.json()["outcome"],
        "ignored"
    );
}

#[tokio::test]
async fn webhooks_without_a_configured_secret_are_refused() {
    let app = TestApp::spawn().await;
    let response = deliver_signed(&app, "msg_1", &user_event("user.created", "user_a", "A")).await;
    assert_eq!(response.status, Status::ServiceUnavailable);
}

#[tokio::test]
async fn profile_updates_are_validated() {
    let app = TestApp::spawn().await;
    let token = dev_token("profiler");
    let mutation = "mutation($name: String!) { updateProfile(name: $name) { name } }";
    let ok = app.gql_as(&token, mutation, json!({"name": "  Chef Ada  "})).await;
    assert_eq!(ok, json!({"data": {"updateProfile": {"name": "Chef Ada"}}}));
    for bad in ["", "   ", "a\u{0007}b", &"x".repeat(201)] {
        let response = app.gql_as(&token, mutation, json!({"name": bad})).await;
        assert_eq!(
            response["errors"][0]["extensions"],
            json!({"code": "BAD_USER_INPUT", "field": "name"}),
            "{bad:?}"
        );
    }
    let anonymous = app.gql(mutation, json!({"name": "x"})).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn delete_account_removes_the_user_and_their_data() {
    let app = TestApp::spawn().await;
    let token = dev_token("leaver");
    app.gql_as(&token, "{ me { name } }", json!({})).await;
    assert_eq!(app.count("users", "clerk_id = 'dev_leaver'").await, 1);
    let response = app.gql_as(&token, "mutation { deleteAccount }", json!({})).await;
    assert_eq!(response, json!({"data": {"deleteAccount": true}}));
    assert_eq!(app.count("users", "clerk_id = 'dev_leaver'").await, 0);
}

#[tokio::test]
async fn a_deleted_users_images_and_files_go_with_them() {
    use crate::uploads::{files_under, jpeg, part, run_maintenance, upload_results};
    let app = webhook_app().await;
    let token = dev_token("zoe");
    let recipe = crate::helpers::create_recipe(&app, &token, "Zoe's").await;
    upload_results(&app, &token, &recipe, &[part("a.jpg", "image/jpeg", jpeg(400, 300))]).await;
    assert_eq!(
        files_under(&app.media_dir()).len(),
        3,
        "150, 300 and one 400 px file for 600 and 1200"
    );
    let deleted = json!({"type": "user.deleted", "data": {"id": "dev_zoe", "deleted": true}}).to_string();
    assert_eq!(
        deliver_signed(&app, "msg_zoe", &deleted).await.json()["outcome"],
        "applied"
    );
    assert_eq!(app.count("media", "true").await, 0);
    run_maintenance(&app).await;
    assert!(
        files_under(&app.media_dir()).is_empty(),
        "the maintenance run removes the files"
    );
}
