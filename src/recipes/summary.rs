//! A recipe, briefly: what a meal plan's entry and an import draft's similar recipes show of a recipe (the
//! whole recipe is one `recipe(id)` away).

use async_graphql::SimpleObject;
use bigdecimal::BigDecimal;
use diesel::Queryable;
use uuid::Uuid;

use super::views::decimal_text;

/// The columns a summary reads.
#[derive(Clone, Debug, Queryable)]
pub struct RecipeSummaryRow {
    pub id: Uuid,
    pub title: String,
    pub servings: Option<BigDecimal>,
    pub total_minutes: Option<i32>,
}

/// A recipe, briefly (the whole recipe is `recipe(id)`).
#[derive(SimpleObject)]
pub struct RecipeSummary {
    pub id: Uuid,
    pub title: String,
    /// The recipe's own servings (decimal text).
    pub servings: Option<String>,
    pub total_minutes: Option<i32>,
}

impl From<&RecipeSummaryRow> for RecipeSummary {
    fn from(r: &RecipeSummaryRow) -> Self {
        Self {
            id: r.id,
            title: r.title.clone(),
            servings: r.servings.as_ref().map(decimal_text),
            total_minutes: r.total_minutes,
        }
    }
}
