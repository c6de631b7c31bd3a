use serde_json::json;

use crate::helpers::TestApp;

const PARSE: &str = "query($lines: [String!]!) { parseIngredients(lines: $lines) { quantity quantityMax quantityDisplay unit unitDisplay item note originalText } }";

#[tokio::test]
async fn parse_ingredients_structures_lines_and_keeps_the_original() {
    let app = TestApp::spawn().await;
    let lines = [
        "1 1/2 cups flour, sifted",
        "2–3 cloves garlic",
        "12 fl oz beer",
        "salt to taste",
    ];
    let response = app.gql(PARSE, json!({ "lines": lines })).await;
    assert_eq!(
        response,
        json!({"data": {"parseIngredients": [
            {"quantity": "1.5", "quantityMax": null, "quantityDisplay": "1½", "unit": "cup", "unitDisplay": "cup",
             "item": "flour", "note": "sifted", "originalText": "1 1/2 cups flour, sifted"},
            {"quantity": "2", "quantityMax": "3", "quantityDisplay": "2–3", "unit": "clove", "unitDisplay": "clove",
             "item": "garlic", "note": null, "originalText": "2–3 cloves garlic"},
            {"quantity": "12", "quantityMax": null, "quantityDisplay": "12", "unit": "fl_oz", "unitDisplay": "fl oz",
             "item": "beer", "note": null, "originalText": "12 fl oz beer"},
            {"quantity": null, "quantityMax": null, "quantityDisplay": null, "unit": null, "unitDisplay": null,
             "item": "salt", "note": "to taste", "originalText": "salt to taste"}
        ]}})
    );
}

#[tokio::test]
async fn parse_ingredients_bounds_its_input() {
    let app = TestApp::spawn().await;
    let too_many = vec!["1 egg"; 201];
    let response = app.gql(PARSE, json!({ "lines": too_many })).await;
    assert_eq!(
        response["errors"][0]["extensions"],
        json!({"code": "BAD_USER_INPUT", "field": "lines"})
    );
    let long = vec!["1 egg".to_owned(), "x".repeat(501)];
    let response = app.gql(PARSE, json!({ "lines": long })).await;
    assert_eq!(
        response["errors"][0]["extensions"],
        json!({"code": "BAD_USER_INPUT", "field": "lines.1"})
    );
}
