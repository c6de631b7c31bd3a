//! The `tags` and `recipe_tags` tables; every query is scoped by the viewer here. A tag is of one set (the
//! owner's own, or a household's) and tags that set's recipes only.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{recipe_tags, tags};
use crate::households::{shared_scope, shared_set};
use crate::recipes::Recipe;

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tags, check_for_backend(diesel::pg::Pg))]
pub struct Tag {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub colour: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub household_id: Option<Uuid>,
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = tags)]
pub struct TagChangeset {
    pub name: Option<String>,
    pub colour: Option<Option<String>>,
}

impl Tag {
    /// The tags of one set, by name: the viewer's own (`household: None`) or a household's (the caller has
    /// checked the viewer is in it).
    pub async fn list(conn: &mut AsyncPgConnection, viewer: Uuid, household: Option<Uuid>) -> QueryResult<Vec<Tag>> {
        tags::table
            .filter(shared_set!(tags, viewer, household))
            .order((lower(tags::name), tags::id))
            .select(Tag::as_select())
            .load(conn)
            .await
    }

    /// How many of `ids` are tags the viewer may see (to refuse unknown or foreign ids).
    pub async fn count_owned(conn: &mut AsyncPgConnection, viewer: Uuid, ids: &[Uuid]) -> QueryResult<i64> {
        tags::table
            .filter(shared_scope!(tags, viewer).and(tags::id.eq_any(ids)))
            .count()
            .get_result(conn)
            .await
    }

    /// Replaces the tags of a recipe the viewer may see with those named, tags of the recipe's set, creating
    /// missing ones (names matched without regard to case). `NotFound` when the viewer cannot see the recipe.
    pub async fn set_for_recipe(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        recipe_id: Uuid,
        names: &[String],
    ) -> QueryResult<()> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let household = Recipe::find(conn, viewer, recipe_id).await?.household_id;
            let new: Vec<_> = names
                .iter()
                .map(|name| {
                    (
                        tags::id.eq(Uuid::now_v7()),
                        tags::owner_id.eq(viewer),
                        tags::household_id.eq(household),
                        tags::name.eq(name),
                    )
                })
                .collect();
            diesel::insert_into(tags::table)
                .values(&new)
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            let lowered: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
            let ids: Vec<Uuid> = tags::table
                .filter(shared_set!(tags, viewer, household))
                .filter(lower(tags::name).eq_any(&lowered))
                .select(tags::id)
                .load(conn)
                .await?;
            diesel::delete(recipe_tags::table.filter(recipe_tags::recipe_id.eq(recipe_id)))
                .execute(conn)
                .await?;
            let links: Vec<_> = ids
                .iter()
                .map(|id| (recipe_tags::recipe_id.eq(recipe_id), recipe_tags::tag_id.eq(*id)))
                .collect();
            diesel::insert_into(recipe_tags::table)
                .values(&links)
                .execute(conn)
                .await?;
            Ok(())
        })
        .await
    }

    /// Renames or recolours a tag the viewer may see. A name already used in its set (case-insensitively)
    /// violates `tags_owner_name_key` or `tags_household_name_key`.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        id: Uuid,
        changes: TagChangeset,
    ) -> QueryResult<Tag> {
        diesel::update(tags::table.filter(tags::id.eq(id).and(shared_scope!(tags, viewer))))
            .set(changes)
            .returning(Tag::as_returning())
            .get_result(conn)
            .await
    }

    /// Deletes a tag the viewer may see (it disappears from every recipe); false when there was none.
    pub async fn delete(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted = diesel::delete(tags::table.filter(tags::id.eq(id).and(shared_scope!(tags, viewer))))
            .execute(conn)
            .await?;
        Ok(deleted > 0)
    }

    /// The tags of several recipes in one statement, as (recipe id, tag) pairs ordered by name.
    pub async fn for_recipes(mut conn: &AsyncPgConnection, recipe_ids: &[Uuid]) -> QueryResult<Vec<(Uuid, Tag)>> {
        recipe_tags::table
            .inner_join(tags::table)
            .filter(recipe_tags::recipe_id.eq_any(recipe_ids))
            .order((recipe_tags::recipe_id, lower(tags::name)))
            .select((recipe_tags::recipe_id, Tag::as_select()))
            .load(&mut conn)
            .await
    }
}
