//! The recipe catalogue: recipes with structured ingredients and steps, exact quantities, and the
//! ingredient-line parser. Listing, search, tags and collections come with the rest of the catalogue issue.

mod graphql;
mod input;
mod model;
pub mod parser;
pub mod quantity;

pub use graphql::{RecipeMutation, RecipeQuery};
