//! What an import checks in the catalogue: the user's recipes it may duplicate.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::recipes;
use crate::recipes::RecipeSummaryRow;

diesel::define_sql_function! {
    /// pg_trgm's similarity of two texts, 0 to 1.
    fn similarity(a: diesel::sql_types::Text, b: diesel::sql_types::Text) -> diesel::sql_types::Float4;
}

/// How alike two titles must be to count as the same recipe (pg_trgm similarity).
const SAME_TITLE: f32 = 0.6;

/// The recipes the viewer may see (their own and their households') from the same address or with a
/// near-identical title, at most five.
pub async fn similar(
    conn: &mut AsyncPgConnection,
    owner_id: Uuid,
    source_url: Option<&str>,
    title: Option<&str>,
) -> QueryResult<Vec<RecipeSummaryRow>> {
    if source_url.is_none() && title.is_none() {
        return Ok(Vec::new());
    }
    recipes::table
        .filter(crate::households::shared_scope!(recipes, owner_id))
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

/// A recipe the viewer may see that was imported from exactly this address.
pub async fn from_address(conn: &mut AsyncPgConnection, viewer: Uuid, url: &str) -> QueryResult<Option<Uuid>> {
    recipes::table
        .filter(crate::households::shared_scope!(recipes, viewer))
        .filter(recipes::source_url.eq(url))
        .select(recipes::id)
        .first(conn)
        .await
        .optional()
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    n: i32,
}

/// Counts one import by address in the owner's current calendar month (UTC) unless `limit` is reached:
/// whether it was counted. One statement, so concurrent imports cannot both take the last one.
pub async fn take_monthly(conn: &mut AsyncPgConnection, owner_id: Uuid, limit: i32) -> QueryResult<bool> {
    let counted: Vec<Counted> = diesel::sql_query(
        "insert into import_counts (owner_id, month, n)
         values ($1, (date_trunc('month', now() at time zone 'utc'))::date, 1)
         on conflict (owner_id, month) do update set n = import_counts.n + 1 where import_counts.n < $2
         returning n",
    )
    .bind::<diesel::sql_types::Uuid, _>(owner_id)
    .bind::<diesel::sql_types::Integer, _>(limit)
    .load(conn)
    .await?;
    Ok(counted.iter().any(|c| c.n > 0))
}
