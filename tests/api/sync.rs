//! Delta sync as a PWA does it: read `serverTime`, go offline, come back and ask what was deleted since.

use serde_json::{json, Value};

use crate::helpers::{create_recipe, dev_token, error_code, TestApp};
use crate::uploads::{jpeg, part, upload_app, upload_results};

const CHANGES: &str =
    "query($s: DateTime!) { changes(since: $s) { serverTime fullResyncRequired deleted { kind id } } }";

async fn changes(app: &TestApp, token: &str, since: &str) -> Value {
    let response = app.gql_as(token, CHANGES, json!({ "s": since })).await;
    assert!(response["errors"].is_null(), "{response}");
    response["data"]["changes"].clone()
}

fn deleted(changes: &Value) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = changes["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_owned(),
                d["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn a_client_syncing_twice_sees_exactly_what_was_deleted_in_between() {
    let app = upload_app(&[]).await;
    let token = dev_token("syncer");
    let soup = create_recipe(&app, &token, "Soup").await;
    let stew = create_recipe(&app, &token, "Stew").await;
    let (tag, collection) = crate::helpers::tag_and_collection(&app, &token, &stew).await;
    let photo = upload_results(&app, &token, &soup, &[part("s.jpg", "image/jpeg", jpeg(32, 32))]).await;
    let image = photo[0]["id"].as_str().unwrap().to_owned();

    // First sync (after a full fetch yesterday): nothing deleted yet.
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let first = changes(&app, &token, &yesterday).await;
    assert_eq!(first["fullResyncRequired"], false);
    let since = first["serverTime"].as_str().unwrap().to_owned();
    let other = dev_token("bystander");
    let theirs = create_recipe(&app, &other, "Not yours").await;

    // Offline meanwhile: a recipe (with its photo, by cascade), a tag and a collection go, elsewhere too.
    for (mutation, id) in [
        ("mutation($i: UUID!) { deleteRecipe(id: $i) }", &soup),
        ("mutation($i: UUID!) { deleteTag(id: $i) }", &tag),
        ("mutation($i: UUID!) { deleteCollection(id: $i) }", &collection),
    ] {
        let response = app.gql_as(&token, mutation, json!({ "i": id })).await;
        assert!(response["errors"].is_null(), "{response}");
    }
    app.gql_as(
        &other,
        "mutation($i: UUID!) { deleteRecipe(id: $i) }",
        json!({ "i": theirs }),
    )
    .await;

    let second = changes(&app, &token, &since).await;
    assert_eq!(second["fullResyncRequired"], false);
    let mut expected = vec![
        ("COLLECTION".to_owned(), collection),
        ("IMAGE".to_owned(), image),
        ("RECIPE".to_owned(), soup),
        ("TAG".to_owned(), tag),
    ];
    expected.sort();
    assert_eq!(
        deleted(&second),
        expected,
        "exactly what changed, and only the viewer's"
    );

    // Nothing since the second sync; the stew is still there.
    let third = changes(&app, &token, second["serverTime"].as_str().unwrap()).await;
    assert_eq!(deleted(&third), vec![]);
    let _ = stew;
}

#[tokio::test]
async fn a_client_older_than_the_retention_must_resync_and_bad_input_is_refused() {
    let app = TestApp::spawn_with(&[("tombstone_retention_days", "30")]).await;
    let token = dev_token("late");
    let old = (chrono::Utc::now() - chrono::Duration::days(31)).to_rfc3339();
    let stale = changes(&app, &token, &old).await;
    assert_eq!(stale["fullResyncRequired"], true);
    assert_eq!(stale["deleted"], json!([]));
    let anonymous = app.gql(CHANGES, json!({ "s": old })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let ancient = app
        .gql_as(&token, CHANGES, json!({ "s": "-5000-01-01T00:00:00Z" }))
        .await;
    assert_eq!(error_code(&ancient), "BAD_USER_INPUT");
}

#[tokio::test]
async fn deleting_an_account_records_the_deletions_of_everything_it_owned() {
    let app = TestApp::spawn().await;
    let token = dev_token("leaver");
    create_recipe(&app, &token, "One").await;
    create_recipe(&app, &token, "Two").await;
    let me = app.gql_as(&token, "{ me { id } }", json!({})).await;
    let id = me["data"]["me"]["id"].as_str().unwrap().to_owned();
    app.gql_as(&token, "mutation { deleteAccount }", json!({})).await;
    assert_eq!(
        app.count("tombstones", &format!("owner_id = '{id}' and kind = 'RECIPE'"))
            .await,
        2
    );
}
