//! The recipe catalogue: recipes with structured ingredients and steps, listing and search, exact
//! quantities and scaling, and the ingredient-line parser. Tags and collections have their own folders.

mod connection;
mod graphql;
mod input;
mod listing;
mod model;
pub mod parser;
pub mod quantity;
mod summary;
mod views;

pub use connection::{list_recipes, page_cost, PageInfo, RecipeConnection};
pub use graphql::{RecipeMutation, RecipeQuery};
pub use input::{
    decimal, validate, CreateRecipeInput, IngredientInput, RecipeFilter, RecipeSort, SourceType, StepInput,
    MAX_DESCRIPTION, MAX_STEP_TEXT, MAX_TITLE,
};
pub use listing::CollectionScope;
pub use model::Recipe;
pub use summary::{RecipeSummary, RecipeSummaryRow};
pub use views::{decimal_text, ParsedIngredientView};
