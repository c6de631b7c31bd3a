//! The catalogue's slice of the GraphQL schema.

use async_graphql::{Object, ResultExt as _, SimpleObject};

use super::parser::{parse_line, ParsedIngredient, MAX_LINE_CHARS};
use crate::error::AppError;

/// Lines per `parseIngredients` call (the catalogue's own per-recipe limit).
pub const MAX_LINES: usize = 200;

/// One ingredient line, structured. `originalText` is always the line as given.
#[derive(SimpleObject)]
#[graphql(name = "ParsedIngredient")]
pub struct ParsedIngredientView {
    /// Exact decimal text ("1.5"; non-terminating fractions to four places, "0.3333"); null when none.
    pub quantity: Option<String>,
    /// Upper end of a range ("2–3 cloves" → 3).
    pub quantity_max: Option<String>,
    /// How a cook writes the quantity: "1½", "⅓", "2–3".
    pub quantity_display: Option<String>,
    /// Canonical unit code (`tsp`, `tbsp`, `cup`, `fl_oz`, `ml`, `g`, `kg`, `oz`, `lb`, `clove`, …).
    pub unit: Option<String>,
    /// Unit as displayed ("fl oz").
    pub unit_display: Option<String>,
    pub item: String,
    pub note: Option<String>,
    pub original_text: String,
}

impl From<ParsedIngredient> for ParsedIngredientView {
    fn from(p: ParsedIngredient) -> Self {
        let display = p.quantity.map(|q| match p.quantity_max {
            Some(max) => format!("{q}–{max}"),
            None => q.to_string(),
        });
        Self {
            quantity: p.quantity.map(|q| q.to_decimal()),
            quantity_max: p.quantity_max.map(|q| q.to_decimal()),
            quantity_display: display,
            unit: p.unit.map(|u| u.code.to_owned()),
            unit_display: p.unit.map(|u| u.display.to_owned()),
            item: p.item,
            note: p.note,
            original_text: p.original_text,
        }
    }
}

#[derive(Default)]
pub struct RecipeQuery;

#[Object]
impl RecipeQuery {
    /// Turns free-text ingredient lines ("1 1/2 cups flour, sifted") into structured ingredients,
    /// in order. At most 200 lines of 500 characters.
    async fn parse_ingredients(&self, lines: Vec<String>) -> async_graphql::Result<Vec<ParsedIngredientView>> {
        if lines.len() > MAX_LINES {
            return Err(AppError::bad_input("lines", format!("at most {MAX_LINES} lines"))).extend();
        }
        if let Some(i) = lines.iter().position(|l| l.chars().count() > MAX_LINE_CHARS) {
            return Err(AppError::bad_input(
                format!("lines.{i}"),
                format!("a line may have at most {MAX_LINE_CHARS} characters"),
            ))
            .extend();
        }
        Ok(lines.iter().map(|l| parse_line(l).into()).collect())
    }
}
