//! Tags: per-user labels on recipes, unique by name regardless of case, with an optional colour.

mod graphql;
mod model;

pub use graphql::{tag_name, TagMutation, TagQuery, TagView};
pub use model::Tag;
