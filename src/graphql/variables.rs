//! Variables are coerced before anything runs, as GraphQL asks (spec §6.1.2): a `UUID!` given
//! `"not-a-uuid"`, a `DateTime!` given `"yesterday"`, a required variable left out or a `null` where the type
//! forbids it is a request error (`BAD_USER_INPUT` naming the variable path, no `data`), never a field error
//! after other fields of the operation have already run. async-graphql checks a variable only where a
//! resolver parses it, so the variable types are read here from the schema's own SDL, once.

use std::collections::HashMap;

use async_graphql::parser::types::{BaseType, OperationDefinition, Type, TypeKind, TypeSystemDefinition};
use async_graphql::{Value, Variables};

use crate::error::{AppError, AppResult};

/// What a variable of each named input type may hold.
#[derive(Debug, Default)]
pub struct InputTypes(HashMap<String, InputKind>);

#[derive(Debug)]
enum InputKind {
    Enum(Vec<String>),
    /// Fields: name, type, whether it has a default.
    Object(Vec<(String, Type, bool)>),
}

impl InputTypes {
    /// The enums and input objects of a schema, from its SDL (`graphql::sdl()`).
    pub fn from_sdl(sdl: &str) -> anyhow::Result<Self> {
        let document = async_graphql::parser::parse_schema(sdl)?;
        let kinds = document.definitions.into_iter().filter_map(|definition| {
            let TypeSystemDefinition::Type(ty) = definition else {
                return None;
            };
            let name = ty.node.name.node.to_string();
            let kind = match ty.node.kind {
                TypeKind::Enum(e) => {
                    InputKind::Enum(e.values.into_iter().map(|v| v.node.value.node.to_string()).collect())
                }
                TypeKind::InputObject(o) => InputKind::Object(
                    o.fields
                        .into_iter()
                        .map(|f| {
                            (
                                f.node.name.node.to_string(),
                                f.node.ty.node,
                                f.node.default_value.is_some(),
                            )
                        })
                        .collect(),
                ),
                _ => return None,
            };
            Some((name, kind))
        });
        Ok(Self(kinds.collect()))
    }

    /// Checks the operation's variables against their declared types.
    pub fn coerce(&self, operation: &OperationDefinition, variables: &Variables) -> AppResult<()> {
        for definition in &operation.variable_definitions {
            let definition = &definition.node;
            let path = format!("${}", definition.name.node);
            match variables.get(&definition.name.node) {
                None if definition.default_value.is_some() => {}
                None if !definition.var_type.node.nullable => {
                    return Err(AppError::bad_input(
                        &path,
                        format!(
                            "variable {path} of required type {} was not provided",
                            definition.var_type.node
                        ),
                    ))
                }
                None => {}
                Some(value) => self.value(&path, &definition.var_type.node, value)?,
            }
        }
        Ok(())
    }

    fn value(&self, path: &str, ty: &Type, value: &Value) -> AppResult<()> {
        if *value == Value::Null {
            return if ty.nullable {
                Ok(())
            } else {
                Err(AppError::bad_input(
                    path,
                    format!("{path} must not be null (type {ty})"),
                ))
            };
        }
        match (&ty.base, value) {
            (BaseType::List(item), Value::List(items)) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, value)| self.value(&format!("{path}.{i}"), item, value)),
            // A single value where a list is expected is a list of one (input coercion of lists).
            (BaseType::List(item), value) => self.value(path, item, value),
            (BaseType::Named(name), value) => self.named(path, name, value),
        }
    }

    fn named(&self, path: &str, name: &str, value: &Value) -> AppResult<()> {
        let valid = match (self.0.get(name), value) {
            (Some(InputKind::Enum(values)), Value::Enum(v)) => values.iter().any(|known| known == v.as_str()),
            (Some(InputKind::Enum(values)), Value::String(v)) => values.iter().any(|known| known == v),
            (Some(InputKind::Enum(_)), _) => false,
            (Some(InputKind::Object(fields)), Value::Object(object)) => {
                if let Some(unknown) = object
                    .keys()
                    .find(|key| !fields.iter().any(|(name, ..)| name == key.as_str()))
                {
                    return Err(AppError::bad_input(
                        format!("{path}.{unknown}"),
                        format!("{path} has no field {unknown} (type {name})"),
                    ));
                }
                for (field, ty, has_default) in fields {
                    let field_path = format!("{path}.{field}");
                    match object.get(field.as_str()) {
                        Some(value) => self.value(&field_path, ty, value)?,
                        None if !ty.nullable && !has_default => {
                            return Err(AppError::bad_input(
                                &field_path,
                                format!("{field_path} of required type {ty} was not provided"),
                            ))
                        }
                        None => {}
                    }
                }
                true
            }
            (Some(InputKind::Object(_)), _) => false,
            (None, value) => scalar(name, value),
        };
        if valid {
            Ok(())
        } else {
            Err(AppError::bad_input(
                path,
                format!("{path} is not a valid {name}: {}", shown(value)),
            ))
        }
    }
}

/// Whether a value is one of the scalar's values, by the rule the scalar's own parser applies.
fn scalar(name: &str, value: &Value) -> bool {
    match (name, value) {
        ("Int", Value::Number(n)) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        ("Float", Value::Number(n)) => n.as_f64().is_some_and(f64::is_finite),
        ("String", Value::String(_)) | ("Boolean", Value::Boolean(_)) => true,
        ("ID", Value::String(_)) => true,
        ("ID", Value::Number(n)) => n.is_i64() || n.is_u64(),
        ("UUID", Value::String(s)) => uuid::Uuid::parse_str(s).is_ok(),
        ("DateTime", Value::String(s)) => s.parse::<chrono::DateTime<chrono::Utc>>().is_ok(),
        // Any text: the resolver that uses a `Date` checks it and names its argument (`resolver::date`).
        ("Date", Value::String(_)) => true,
        // Files are put in place of their variables by the multipart request, after this check.
        ("Upload", _) => true,
        _ => false,
    }
}

/// A refused value as the message shows it: short, whatever the client sent.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coerce(variables: serde_json::Value) -> Result<(), String> {
        let types = InputTypes::from_sdl(&crate::graphql::sdl()).unwrap_or_else(|e| panic!("{e}"));
        let document = async_graphql::parser::parse_query(
            "query Q($id: UUID!, $at: DateTime, $day: Date, $n: Int = 3, $input: CreateRecipeInput, \
             $ids: [UUID!]) { health { status } }",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let async_graphql::parser::types::DocumentOperations::Multiple(ops) = &document.operations else {
            panic!("one named operation");
        };
        let Some(operation) = ops.values().next() else {
            panic!("one named operation");
        };
        let operation = &operation.node;
        types
            .coerce(operation, &Variables::from_json(variables))
            .map_err(|e| match e {
                AppError::BadUserInput { field, .. } => field,
                other => panic!("{other:?}"),
            })
    }

    #[test]
    fn variables_that_cannot_coerce_are_refused_with_their_path() {
        let id = "6f1c7e9a-3b2d-4c5e-8f90-123456789abc";
        assert_eq!(coerce(serde_json::json!({ "id": id })), Ok(()));
        assert_eq!(
            coerce(
                serde_json::json!({ "id": id, "at": "2026-12-07T10:00:00Z", "day": "2028-02-29", "n": null,
                "ids": id, "input": { "title": "Soup", "prepMinutes": 2, "sourceType": "MANUAL" } })
            ),
            Ok(())
        );
        for (variables, path) in [
            (serde_json::json!({}), "$id"),
            (serde_json::json!({ "id": null }), "$id"),
            (serde_json::json!({ "id": "not-a-uuid" }), "$id"),
            (serde_json::json!({ "id": 7 }), "$id"),
            (serde_json::json!({ "id": id, "at": "yesterday" }), "$at"),
            (serde_json::json!({ "id": id, "day": 20_260_230 }), "$day"),
            (serde_json::json!({ "id": id, "n": 2_147_483_648_i64 }), "$n"),
            (serde_json::json!({ "id": id, "n": 1.5 }), "$n"),
            (serde_json::json!({ "id": id, "ids": [id, "x"] }), "$ids.1"),
            (serde_json::json!({ "id": id, "input": {} }), "$input.title"),
            (
                serde_json::json!({ "id": id, "input": { "title": "S", "nope": 1 } }),
                "$input.nope",
            ),
            (
                serde_json::json!({ "id": id, "input": { "title": "S", "prepMinutes": "two" } }),
                "$input.prepMinutes",
            ),
            (serde_json::json!({ "id": id, "input": "Soup" }), "$input"),
        ] {
            assert_eq!(coerce(variables.clone()), Err(path.to_owned()), "{variables}");
        }
    }
}
