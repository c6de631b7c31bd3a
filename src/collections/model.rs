//! The `collections` and `collection_recipes` tables; every query is scoped by owner here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{collection_recipes, collections, recipes};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = collections, check_for_backend(diesel::pg::Pg))]
pub struct Collection {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = collections)]
pub struct CollectionChangeset {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
}

impl Collection {
    pub async fn find(conn: &mut AsyncPgConnection, owner_id: Uuid, id: Uuid) -> QueryResult<Collection> {
        collections::table
            .filter(collections::id.eq(id).and(collections::owner_id.eq(owner_id)))
            .select(Collection::as_select())
            .first(conn)
            .await
    }

    pub async fn list(conn: &mut AsyncPgConnection, owner_id: Uuid) -> QueryResult<Vec<Collection>> {
        collections::table
            .filter(collections::owner_id.eq(owner_id))
            .order((collections::name, collections::id))
            .select(Collection::as_select())
            .load(conn)
            .await
    }

    /// `collections_owner_name_key` is violated by a name the owner already uses.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        owner_id: Uuid,
        name: String,
        description: Option<String>,
    ) -> QueryResult<Collection> {
        diesel::insert_into(collections::table)
            .values((
                collections::id.eq(Uuid::now_v7()),
                collections::owner_id.eq(owner_id),
                collections::name.eq(name),
                collections::description.eq(description),
            ))
            .returning(Collection::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        owner_id: Uuid,
        id: Uuid,
        changes: CollectionChangeset,
    ) -> QueryResult<Collection> {
        diesel::update(collections::table.filter(collections::id.eq(id).and(collections::owner_id.eq(owner_id))))
            .set(changes)
            .returning(Collection::as_returning())
            .get_result(conn)
            .await
    }

    /// Deletes the collection, never its recipes; false when there was none.
    pub async fn delete(conn: &mut AsyncPgConnection, owner_id: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted =
            diesel::delete(collections::table.filter(collections::id.eq(id).and(collections::owner_id.eq(owner_id))))
                .execute(conn)
                .await?;
        Ok(deleted > 0)
    }

    /// Appends the owner's recipes among `recipe_ids` not yet in the collection, keeping the given order;
    /// returns how many of the ids are the owner's (the caller refuses the rest).
    pub async fn add_recipes(&self, conn: &mut AsyncPgConnection, recipe_ids: &[Uuid]) -> QueryResult<usize> {
        let owned: Vec<Uuid> = recipes::table
            .filter(recipes::owner_id.eq(self.owner_id).and(recipes::id.eq_any(recipe_ids)))
            .select(recipes::id)
            .load(conn)
            .await?;
        let next: Option<i32> = collection_recipes::table
            .filter(collection_recipes::collection_id.eq(self.id))
            .select(diesel::dsl::max(collection_recipes::position))
            .first(conn)
            .await?;
        let start = next.map_or(0, |p| p + 1);
        let rows: Vec<_> = recipe_ids
            .iter()
            .filter(|id| owned.contains(id))
            .enumerate()
            .map(|(i, id)| {
                (
                    collection_recipes::collection_id.eq(self.id),
                    collection_recipes::recipe_id.eq(*id),
                    collection_recipes::position.eq(start + i32::try_from(i).unwrap_or(0)),
                )
            })
            .collect();
        diesel::insert_into(collection_recipes::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(owned.len())
    }

    pub async fn remove_recipes(&self, conn: &mut AsyncPgConnection, recipe_ids: &[Uuid]) -> QueryResult<()> {
        diesel::delete(
            collection_recipes::table.filter(
                collection_recipes::collection_id
                    .eq(self.id)
                    .and(collection_recipes::recipe_id.eq_any(recipe_ids)),
            ),
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Recipe counts for several collections in one statement.
    pub async fn recipe_counts(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<(Uuid, i64)>> {
        collection_recipes::table
            .filter(collection_recipes::collection_id.eq_any(ids))
            .group_by(collection_recipes::collection_id)
            .select((collection_recipes::collection_id, diesel::dsl::count_star()))
            .load(conn)
            .await
    }
}
