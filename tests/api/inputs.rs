//! Every argument of every query and mutation, read from the schema itself, gets hostile values: a NUL
//! character, an empty string, a 1 MB and a 60 KB string, and instants far outside what PostgreSQL can
//! store. None may answer 5xx or `INTERNAL`, and every error must carry a code. Fields added later are
//! covered without touching this file.

use std::collections::HashMap;

use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
use serde_json::{json, Value};

use crate::helpers::{create_recipe, dev_token, TestApp};

/// The schema's types by name, as the committed SDL declares them.
struct Types(HashMap<String, TypeKind>);

impl Types {
    fn load() -> Self {
        let document = async_graphql::parser::parse_schema(homechef::graphql::sdl()).unwrap();
        Self(
            document
                .definitions
                .into_iter()
                .filter_map(|d| match d {
                    TypeSystemDefinition::Type(t) => Some((t.node.name.node.to_string(), t.node.kind)),
                    _ => None,
                })
                .collect(),
        )
    }

    fn fields_of(&self, root: &str) -> Vec<async_graphql::parser::types::FieldDefinition> {
        match self.0.get(root) {
            Some(TypeKind::Object(object)) => object.fields.iter().map(|f| f.node.clone()).collect(),
            _ => Vec::new(),
        }
    }
}

fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named(inner),
    }
}

const TEXT_SCALARS: [&str; 5] = ["String", "ID", "DateTime", "Date", "UUID"];

/// Real objects of the signed-in user, so that ids point somewhere and inputs reach deeper code.
struct Ids {
    recipe: String,
    tag: String,
    collection: String,
    plan: String,
    entry: String,
    list: String,
    item: String,
}

impl Ids {
    /// The id a UUID argument most likely wants, guessed from its own name, else from its field's.
    fn for_name(&self, name: &str, field: &str) -> &str {
        for hint in [name.to_lowercase(), field.to_lowercase()] {
            if hint.contains("collection") {
                return &self.collection;
            }
            if hint.contains("tag") {
                return &self.tag;
            }
            if hint.contains("entry") {
                return &self.entry;
            }
            if hint.contains("item") {
                return &self.item;
            }
            if hint.contains("list") {
                return &self.list;
            }
            if hint.contains("plan") {
                return &self.plan;
            }
            if hint.contains("recipe") {
                return &self.recipe;
            }
        }
        &self.recipe
    }
}

/// A valid value of `ty` with only the required parts filled in; `target` (a path of input field names)
/// gets `hostile` instead.
fn value(types: &Types, ids: &Ids, field: &str, name: &str, ty: &Type, target: &[String], hostile: &Value) -> Value {
    if let BaseType::List(inner) = &ty.base {
        return json!([value(types, ids, field, name, inner, target, hostile)]);
    }
    if target.is_empty() && !hostile.is_null() {
        return hostile.clone();
    }
    match named(ty) {
        "String" | "ID" => json!("x"),
        "Int" => json!(1),
        "Float" => json!(1.0),
        "Boolean" => json!(false),
        "UUID" => json!(ids.for_name(name, field)),
        "DateTime" => json!("2026-01-01T00:00:00Z"),
        "Date" => json!("2027-01-04"),
        other => match types.0.get(other) {
            Some(TypeKind::Enum(e)) => json!(e.values[0].node.value.node.as_str()),
            Some(TypeKind::InputObject(input)) => {
                let mut object = serde_json::Map::new();
                for f in &input.fields {
                    let f_name = f.node.name.node.as_str();
                    let targeted = target.first().is_some_and(|t| t == f_name);
                    if targeted {
                        let v = value(types, ids, field, f_name, &f.node.ty.node, &target[1..], hostile);
                        object.insert(f_name.to_owned(), v);
                    } else if !f.node.ty.node.nullable && f.node.default_value.is_none() {
                        let v = value(types, ids, field, f_name, &f.node.ty.node, &[], &Value::Null);
                        object.insert(f_name.to_owned(), v);
                    }
                }
                Value::Object(object)
            }
            _ => Value::Null,
        },
    }
}

/// Paths to every text-like leaf under an argument of type `ty` (input objects followed 3 levels deep).
fn targets(types: &Types, ty: &Type, depth: usize) -> Vec<Vec<String>> {
    let name = named(ty);
    if TEXT_SCALARS.contains(&name) {
        return vec![Vec::new()];
    }
    let Some(TypeKind::InputObject(input)) = types.0.get(name) else {
        return Vec::new();
    };
    if depth == 0 {
        return Vec::new();
    }
    input
        .fields
        .iter()
        .flat_map(|f| {
            targets(types, &f.node.ty.node, depth - 1).into_iter().map(|mut path| {
                path.insert(0, f.node.name.node.to_string());
                path
            })
        })
        .collect()
}

#[tokio::test]
async fn no_argument_of_any_field_turns_hostile_text_into_an_internal_error() {
    let app = TestApp::spawn_with(&[("rate_limit_enabled", "false")]).await;
    let token = dev_token("fuzzed");
    let recipe = create_recipe(&app, &token, "Target").await;
    let (tag, collection) = crate::helpers::tag_and_collection(&app, &token, &recipe).await;
    let planned = app
        .gql_as(
            &token,
            "mutation { createMealPlan(input: { name: \"Plan\", startDate: \"2027-01-04\", active: true }) { id } }",
            json!({}),
        )
        .await;
    let plan = planned["data"]["createMealPlan"]["id"].as_str().unwrap().to_owned();
    let entry = app
        .gql_as(
            &token,
            "mutation($p: UUID!, $r: UUID!) { addMealPlanEntry(planId: $p, input: { date: \"2027-01-04\", meal: DINNER, recipeId: $r }) { id } }",
            json!({ "p": plan, "r": recipe }),
        )
        .await["data"]["addMealPlanEntry"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = app
        .gql_as(
            &token,
            "mutation { createShoppingList(from: \"2027-01-04\", to: \"2027-01-10\") { id } }",
            json!({}),
        )
        .await["data"]["createShoppingList"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let item = app
        .gql_as(
            &token,
            "mutation($l: UUID!) { addShoppingListItem(listId: $l, text: \"2 lemons\") { id } }",
            json!({ "l": list }),
        )
        .await["data"]["addShoppingListItem"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids = Ids {
        recipe,
        tag,
        collection,
        plan,
        entry,
        list,
        item,
    };
    let hostile = [
        json!("a\u{0}b"),
        json!(""),
        json!("x".repeat(1 << 20)),
        json!("x".repeat(60_000)),
        json!("-5000-01-01T00:00:00Z"),
        json!("+300000-01-01T00:00:00Z"),
    ];
    let types = Types::load();
    let auth = format!("Bearer {token}");
    let (mut sent, mut failures) = (0, Vec::new());
    for (operation, root) in [("query", "QueryRoot"), ("mutation", "MutationRoot")] {
        for field in types.fields_of(root) {
            let args = &field.arguments;
            if args.iter().any(|a| named(&a.node.ty.node) == "Upload") {
                continue; // multipart only: the upload tests send hostile files and names
            }
            let field_name = field.name.node.as_str();
            let returns_object = matches!(
                types.0.get(named(&field.ty.node)),
                Some(TypeKind::Object(_) | TypeKind::Interface(_) | TypeKind::Union(_))
            );
            let selection = if returns_object { " { __typename }" } else { "" };
            let definitions: Vec<String> = args
                .iter()
                .map(|a| format!("${}: {}", a.node.name.node, a.node.ty.node))
                .collect();
            let uses: Vec<String> = args.iter().map(|a| format!("{0}: ${0}", a.node.name.node)).collect();
            let document = format!(
                "{operation}({}) {{ {field_name}({}){selection} }}",
                definitions.join(", "),
                uses.join(", ")
            );
            for (i, arg) in args.iter().enumerate() {
                for path in targets(&types, &arg.node.ty.node, 3) {
                    for bad in &hostile {
                        let variables: serde_json::Map<String, Value> = args
                            .iter()
                            .enumerate()
                            .filter(|(j, a)| *j == i || !a.node.ty.node.nullable)
                            .map(|(j, a)| {
                                let name = a.node.name.node.as_str();
                                let (target, bad) = if j == i {
                                    (&path[..], bad)
                                } else {
                                    (&[][..], &Value::Null)
                                };
                                (
                                    name.to_owned(),
                                    value(&types, &ids, field_name, name, &a.node.ty.node, target, bad),
                                )
                            })
                            .collect();
                        let body = json!({ "query": document, "variables": variables });
                        let response = app
                            .gql_with(&[("Authorization", &auth)], &document, body["variables"].clone())
                            .await;
                        sent += 1;
                        let what = format!(
                            "{field_name}.{}{} = {:.40}",
                            arg.node.name.node,
                            path.iter().map(|p| format!(".{p}")).collect::<String>(),
                            bad.to_string()
                        );
                        if response.status.code >= 500 {
                            failures.push(format!("{what}: HTTP {}", response.status.code));
                            continue;
                        }
                        let json: Value = serde_json::from_str(&response.body).unwrap_or_default();
                        for error in json["errors"].as_array().into_iter().flatten() {
                            match error["extensions"]["code"].as_str() {
                                None => failures.push(format!("{what}: no code: {error}")),
                                Some("INTERNAL") => failures.push(format!("{what}: INTERNAL")),
                                Some(_) => {}
                            }
                        }
                    }
                }
            }
        }
    }
    println!("{sent} hostile requests sent");
    assert!(sent > 300, "the schema walk found too few arguments ({sent} requests)");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn forged_cursors_and_instants_postgresql_cannot_hold_are_bad_input() {
    use base64::Engine as _;
    let app = TestApp::spawn().await;
    let token = dev_token("forger");
    create_recipe(&app, &token, "Soup").await;
    let forge = |v: Value| {
        let cursor = json!({ "v": v, "i": uuid::Uuid::nil() }).to_string();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(cursor)
    };
    let page = "query($a: String, $s: RecipeSort, $f: RecipeFilter) {
        recipes(after: $a, sort: $s, filter: $f) { totalCount edges { cursor } } }";
    for (variables, field) in [
        (
            json!({ "a": forge(json!({ "Time": "-5000-01-01T00:00:00Z" })) }),
            "after",
        ),
        (
            json!({ "a": forge(json!({ "Time": "-4714-12-31T00:00:00Z" })) }),
            "after",
        ),
        (
            json!({ "a": forge(json!({ "Text": "a\u{0}b" })), "s": { "field": "TITLE" } }),
            "after",
        ),
        (
            json!({ "f": { "updatedSince": "-5000-01-01T00:00:00Z" } }),
            "filter.updatedSince",
        ),
    ] {
        let response = app.gql_as(&token, page, variables.clone()).await;
        assert_eq!(
            crate::helpers::error_code(&response),
            "BAD_USER_INPUT",
            "{variables}: {response}"
        );
        assert_eq!(response["errors"][0]["extensions"]["field"], field, "{variables}");
    }
}

/// A NUL is refused before execution: a request error, so `application/graphql-response+json` gets 400
/// without `data`, and `application/json` 200, both with the argument path.
#[tokio::test]
async fn nul_in_text_is_a_request_error_in_either_media_type() {
    let app = TestApp::spawn().await;
    let token = format!("Bearer {}", dev_token("nul"));
    let query = "query($t: String) { recipes(filter: { text: $t }) { totalCount } }";
    for (accept, status) in [("application/graphql-response+json", 400), ("application/json", 200)] {
        let response = app
            .gql_with(
                &[("Authorization", &token), ("Accept", accept)],
                query,
                json!({ "t": "a\u{0}b" }),
            )
            .await;
        assert_eq!(response.status.code, status, "{accept}: {}", response.body);
        let body = response.json();
        assert!(body.get("data").is_none(), "{accept}: {body}");
        assert_eq!(crate::helpers::error_code(&body), "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], "filter.text");
    }
}

/// Variables are coerced before anything runs: a value that is not of its type, or a required variable
/// left out, is a request error (400 without `data` under `application/graphql-response+json`, 200 without
/// `data` under `application/json`) naming the variable, and no field of the operation has run.
#[tokio::test]
async fn variables_that_do_not_coerce_are_request_errors_and_nothing_runs() {
    let app = TestApp::spawn().await;
    let token = format!("Bearer {}", dev_token("coercion"));
    let create_then_delete =
        "mutation($t: String!, $id: UUID!) { a: createRecipe(input: { title: $t }) { id } b: deleteRecipe(id: $id) }";
    let since = "query($s: DateTime!) { recipes(filter: { updatedSince: $s }) { totalCount } }";
    for (query, variables, field) in [
        (create_then_delete, json!({ "t": "Soup", "id": "not-a-uuid" }), "$id"),
        (create_then_delete, json!({ "t": "Soup" }), "$id"),
        (since, json!({ "s": "yesterday" }), "$s"),
    ] {
        for (accept, status) in [("application/graphql-response+json", 400), ("application/json", 200)] {
            let response = app
                .gql_with(
                    &[("Authorization", &token), ("Accept", accept)],
                    query,
                    variables.clone(),
                )
                .await;
            assert_eq!(response.status.code, status, "{variables} {accept}: {}", response.body);
            let body = response.json();
            assert!(body.get("data").is_none(), "{variables} {accept}: {body}");
            assert_eq!(crate::helpers::error_code(&body), "BAD_USER_INPUT", "{body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
        }
    }
    assert_eq!(
        app.count("recipes", "true").await,
        0,
        "the first field of a refused operation ran"
    );
}
