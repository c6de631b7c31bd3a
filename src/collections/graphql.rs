//! The collections slice of the GraphQL schema.

use async_graphql::{ComplexObject, Context, InputObject, MaybeUndefined, Object, ResultExt as _, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::model::{Collection, CollectionChangeset};
use crate::error::{deleted, AppError, AppResult, GqlResult as _};
use crate::recipes::{list_recipes, page_cost, CollectionScope, RecipeConnection, RecipeFilter, RecipeSort};
use crate::resolver::{conn, viewer_id};
use crate::text::{self, Lines};

pub const MAX_NAME: usize = 255;
pub const MAX_DESCRIPTION: usize = 1_000;
/// Recipe ids per add/remove call.
pub const MAX_IDS: usize = 200;

#[derive(SimpleObject)]
#[graphql(name = "Collection", complex)]
pub struct CollectionView {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub recipe_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The household it belongs to; null for the user's own.
    pub household_id: Option<Uuid>,
}

impl CollectionView {
    fn new(c: Collection, recipe_count: i64) -> Self {
        Self {
            id: c.id,
            name: c.name,
            description: c.description,
            recipe_count,
            created_at: c.created_at,
            updated_at: c.updated_at,
            household_id: c.household_id,
        }
    }
}

#[ComplexObject]
impl CollectionView {
    /// The collection's recipes, paged like `recipes`.
    #[graphql(complexity = "page_cost(first) * child_complexity")]
    async fn recipes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        sort: Option<RecipeSort>,
    ) -> async_graphql::Result<RecipeConnection> {
        let scope = Some(CollectionScope::In(self.id));
        list_recipes(
            ctx,
            first,
            after,
            RecipeFilter::default(),
            sort.unwrap_or_default(),
            (self.household_id, scope),
        )
        .await
    }
}

#[derive(InputObject)]
pub struct CollectionInput {
    /// 1 to 255 characters, unique among the user's collections (or the household's).
    pub name: String,
    /// At most 1 000 characters.
    pub description: Option<String>,
    /// A household the user is in, to share it there (it then holds the household's recipes); the user's own when
    /// omitted.
    pub household_id: Option<Uuid>,
}

fn name(field: &str, value: &str) -> AppResult<String> {
    text::required(field, value, MAX_NAME, Lines::Single)
}

fn description(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    text::optional(field, value, MAX_DESCRIPTION, Lines::Multi)
}

/// The named unique constraint, as the client sees it.
fn named(e: diesel::result::Error) -> AppError {
    match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
            if matches!(
                info.constraint_name(),
                Some("collections_owner_name_key" | "collections_household_name_key")
            ) =>
        {
            AppError::Conflict("a collection with this name already exists".into())
        }
        other => AppError::from(other),
    }
}

async fn view(conn: &mut diesel_async::AsyncPgConnection, c: Collection) -> AppResult<CollectionView> {
    let count = Collection::recipe_counts(conn, &[c.id])
        .await?
        .first()
        .map_or(0, |(_, n)| *n);
    Ok(CollectionView::new(c, count))
}

#[derive(Default)]
pub struct CollectionQuery;

#[Object]
impl CollectionQuery {
    /// The signed-in user's own collections, or with `householdId` those of one of their households, by name,
    /// with recipe counts.
    async fn collections(
        &self,
        ctx: &Context<'_>,
        household_id: Option<Uuid>,
    ) -> async_graphql::Result<Vec<CollectionView>> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        crate::households::check_set(&mut conn, owner, household_id)
            .await
            .gql()?;
        let list = Collection::list(&mut conn, owner, household_id).await.gql()?;
        let ids: Vec<Uuid> = list.iter().map(|c| c.id).collect();
        let counts = Collection::recipe_counts(&mut conn, &ids).await.gql()?;
        Ok(list
            .into_iter()
            .map(|c| {
                let count = counts.iter().find(|(id, _)| *id == c.id).map_or(0, |(_, n)| *n);
                CollectionView::new(c, count)
            })
            .collect())
    }

    /// One of the signed-in user's collections or of their households'; any other is `NOT_FOUND`.
    async fn collection(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<CollectionView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let c = Collection::find(&mut conn, owner, id).await.gql()?;
        view(&mut conn, c).await.extend()
    }
}

/// The viewer's collection `id` and a connection, for a bounded list of recipe ids.
async fn collection_for_ids(
    ctx: &Context<'_>,
    id: Uuid,
    recipe_ids: &[Uuid],
) -> async_graphql::Result<(crate::db::Conn, Collection)> {
    let owner = viewer_id(ctx).extend()?;
    if recipe_ids.len() > MAX_IDS {
        return Err(AppError::bad_input("recipeIds", format!("at most {MAX_IDS} ids"))).extend();
    }
    let mut conn = conn(ctx).await?;
    let collection = Collection::find(&mut conn, owner, id).await.gql()?;
    Ok((conn, collection))
}

#[derive(Default)]
pub struct CollectionMutation;

#[Object]
impl CollectionMutation {
    async fn create_collection(
        &self,
        ctx: &Context<'_>,
        input: CollectionInput,
    ) -> async_graphql::Result<CollectionView> {
        let owner = viewer_id(ctx).extend()?;
        let name = name("input.name", &input.name).extend()?;
        let description = description("input.description", input.description.as_deref()).extend()?;
        let mut conn = conn(ctx).await?;
        let c = Collection::create(&mut conn, owner, input.household_id, name, description)
            .await
            .map_err(named)
            .extend()?;
        Ok(CollectionView::new(c, 0))
    }

    /// Renames or re-describes a collection (`description: null` clears it).
    async fn update_collection(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        name: Option<String>,
        description: MaybeUndefined<String>,
    ) -> async_graphql::Result<CollectionView> {
        let owner = viewer_id(ctx).extend()?;
        let changes = CollectionChangeset {
            name: name.as_deref().map(|n| self::name("name", n)).transpose().extend()?,
            description: match description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(self::description("description", Some(&d)).extend()?),
            },
        };
        if changes.name.is_none() && changes.description.is_none() {
            return Err(AppError::bad_input("name", "give a new name or description")).extend();
        }
        let mut conn = conn(ctx).await?;
        let c = Collection::update(&mut conn, owner, id, changes)
            .await
            .map_err(named)
            .extend()?;
        view(&mut conn, c).await.extend()
    }

    /// Deletes a collection; its recipes stay. Returns true.
    async fn delete_collection(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<bool> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        deleted(Collection::delete(&mut conn, owner, id).await.gql()?)
    }

    /// Adds recipes to a collection, in the order given; recipes already there stay where they are. A collection
    /// holds the recipes of its set only (the user's own, or its household's); any other id is refused.
    async fn add_recipes_to_collection(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        recipe_ids: Vec<Uuid>,
    ) -> async_graphql::Result<CollectionView> {
        let mut unique = recipe_ids.clone();
        unique.sort_unstable();
        unique.dedup();
        let (mut conn, c) = collection_for_ids(ctx, id, &recipe_ids).await?;
        let owned = c.add_recipes(&mut conn, &recipe_ids).await.gql()?;
        if owned != unique.len() {
            return Err(AppError::bad_input("recipeIds", "unknown recipe id")).extend();
        }
        view(&mut conn, c).await.extend()
    }

    /// Removes recipes from a collection (ids not in it are ignored); the recipes themselves stay.
    async fn remove_recipes_from_collection(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        recipe_ids: Vec<Uuid>,
    ) -> async_graphql::Result<CollectionView> {
        let (mut conn, c) = collection_for_ids(ctx, id, &recipe_ids).await?;
        c.remove_recipes(&mut conn, &recipe_ids).await.gql()?;
        view(&mut conn, c).await.extend()
    }
}
