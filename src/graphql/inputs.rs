//! Text that no column can hold is refused before anything runs: a NUL character in any string the
//! client sends, in variables or in literals, at any depth, is `BAD_USER_INPUT` naming the argument path
//! (`filter.text`, `input.ingredients.0.item`), the way resolvers name their own refusals. PostgreSQL
//! refuses NUL in text, so without this every text argument was an `INTERNAL` waiting to happen; being
//! structural, it covers arguments added later too.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Value as ConstValue, Variables};
use async_graphql_value::Value;

use crate::error::{AppError, AppResult};

/// Checks every string of the document's literals and of the variables.
pub fn check_strings(document: &ExecutableDocument, variables: &Variables) -> AppResult<()> {
    let mut walk = Walk::default();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(default) = &definition.node.default_value {
                const_value(&format!("${}", definition.node.name.node), &default.node)?;
            }
        }
        walk.selections(&operation.node.selection_set.node)?;
    }
    for fragment in document.fragments.values() {
        walk.selections(&fragment.node.selection_set.node)?;
    }
    for (name, value) in variables.iter() {
        let path = walk
            .used_at
            .get(name.as_str())
            .cloned()
            .unwrap_or_else(|| format!("${name}"));
        const_value(&path, value)?;
    }
    Ok(())
}

#[derive(Default)]
struct Walk<'a> {
    /// Where each variable is first used, as an argument path: its errors are reported there.
    used_at: HashMap<&'a str, String>,
}

impl<'a> Walk<'a> {
    fn selections(&mut self, set: &'a SelectionSet) -> AppResult<()> {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let directives = field.node.directives.iter().flat_map(|d| &d.node.arguments);
                    for (name, value) in field.node.arguments.iter().chain(directives) {
                        self.value(name.node.to_string(), &value.node)?;
                    }
                    self.selections(&field.node.selection_set.node)?;
                }
                Selection::InlineFragment(inline) => self.selections(&inline.node.selection_set.node)?,
                Selection::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }

    fn value(&mut self, path: String, value: &'a Value) -> AppResult<()> {
        match value {
            Value::Variable(name) => {
                self.used_at.entry(name.as_str()).or_insert(path);
                Ok(())
            }
            Value::String(text) => nul_free(&path, text),
            Value::List(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| self.value(format!("{path}.{i}"), item)),
            Value::Object(fields) => fields
                .iter()
                .try_for_each(|(key, item)| self.value(format!("{path}.{key}"), item)),
            _ => Ok(()),
        }
    }
}

fn const_value(path: &str, value: &ConstValue) -> AppResult<()> {
    match value {
        ConstValue::String(text) => nul_free(path, text),
        ConstValue::List(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| const_value(&format!("{path}.{i}"), item)),
        ConstValue::Object(fields) => fields.iter().try_for_each(|(key, item)| {
            nul_free(path, key)?;
            const_value(&format!("{path}.{key}"), item)
        }),
        _ => Ok(()),
    }
}

fn nul_free(path: &str, text: &str) -> AppResult<()> {
    if text.contains('\0') {
        return Err(AppError::bad_input(path, "text may not contain NUL characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(query: &str, variables: serde_json::Value) -> Option<String> {
        let document = async_graphql::parser::parse_query(query).ok()?;
        match check_strings(&document, &Variables::from_json(variables)) {
            Err(AppError::BadUserInput { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn nul_is_found_in_literals_and_variables_at_any_depth() {
        assert_eq!(
            field(
                "{ recipes(filter: { text: \"a\\u0000b\" }) { totalCount } }",
                serde_json::json!({})
            ),
            Some("filter.text".into())
        );
        assert_eq!(
            field(
                "query($i: CreateRecipeInput!) { createRecipe(input: $i) { id } }",
                serde_json::json!({ "i": { "title": "t", "ingredients": [{ "item": "ok" }, { "item": "x\u{0}" }] } })
            ),
            Some("input.ingredients.1.item".into())
        );
        assert_eq!(
            field(
                "query($a: String) { recipes(after: $a) { totalCount } }",
                serde_json::json!({ "a": "\u{0}" })
            ),
            Some("after".into())
        );
        assert_eq!(
            field(
                "query($u: String) { health { status } }",
                serde_json::json!({ "u": "\u{0}" })
            ),
            Some("$u".into()),
            "an unused variable is still refused"
        );
        assert_eq!(
            field(
                "{ recipes(filter: { text: \"tomato\" }) { totalCount } }",
                serde_json::json!({})
            ),
            None
        );
    }
}
