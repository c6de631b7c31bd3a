//! What an import checks in the catalogue: the user's recipes it may duplicate.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::recipes;
use crate::meal_plans::PlannedRecipe;

diesel::define_sql_function! {
    /// pg_trgm's similarity of two texts, 0 to 1.
    fn similarity(a: diesel::sql_types::Text, b: diesel::sql_types::Text) -> diesel::sql_types::Float4;
}

/// How alike two titles must be to count as the same recipe (pg_trgm similarity).
const SAME_TITLE: f32 = 0.6;

/// The owner's recipes from the same address or with a near-identical title, at most five.
pub async fn similar(
    conn: &mut AsyncPgConnection,
    owner_id: Uuid,
    source_url: Option<&str>,
    title: Option<&str>,
) -> QueryResult<Vec<PlannedRecipe>> {
    if source_url.is_none() && title.is_none() {
        return Ok(Vec::new());
    }
    recipes::table
        .filter(recipes::owner_id.eq(owner_id))
        .filter(
            recipes::source_url
                .eq(source_url.unwrap_or_default())
                .and(source_url.is_some().into_sql::<diesel::sql_types::Bool>())
                .or(similarity(recipes::title, title.unwrap_or_default()).gt(SAME_TITLE)),
        )
        .order(recipes::id.desc())
        .limit(5)
        .select((recipes::id, recipes::title, recipes::servings, recipes::total_minutes))
        .load(conn)
        .await
}
