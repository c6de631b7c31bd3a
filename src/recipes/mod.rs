//! The recipe catalogue: recipes with structured ingredients and steps, exact quantities, and the
//! ingredient-line parser. Listing, search, tags and collections come with the rest of the catalogue issue.

mod graphql;
mod input;
mod model;
pub mod parser;
pub mod quantity;

pub use graphql::{list_recipes, page_cost, RecipeConnection, RecipeMutation, RecipeQuery};
pub use input::{RecipeFilter, RecipeSort};
pub use model::CollectionScope;
