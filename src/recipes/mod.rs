//! The recipe catalogue. So far: the ingredient-line parser and exact quantities, exposed as the
//! `parseIngredients` query; recipes, tags and collections come with the rest of the catalogue issue.

mod graphql;
pub mod parser;
pub mod quantity;

pub use graphql::RecipeQuery;
