//! The catalogue's slice of the GraphQL schema.

use async_graphql::{Context, Object, ResultExt as _};
use std::sync::Arc;
use uuid::Uuid;

use super::connection::{list_recipes, page_cost, RecipeConnection, MAX_TAGS};
use super::input::{validate, validate_patch, CreateRecipeInput, RecipeFilter, RecipePatch, RecipeSort};
use super::model::Recipe;
use super::parser::{parse_line, MAX_LINE_CHARS};
use super::views::{ParsedIngredientView, RecipeView, MAX_LINES};
use crate::error::{AppError, GqlResult as _};
use crate::media::MediaService;
use crate::resolver::{conn, viewer_id};
use crate::tags::Tag;

#[derive(Default)]
pub struct RecipeQuery;

#[Object]
impl RecipeQuery {
    /// A recipe its owner shared (`PUBLIC` or `UNLISTED`); no sign-in needed. Private ones are `NOT_FOUND`.
    async fn public_recipe(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<RecipeView> {
        let mut conn = conn(ctx).await?;
        let full = Recipe::find_shared(&mut conn, id).await.gql()?;
        Ok(full.into())
    }

    /// The signed-in user's own recipes, or with `householdId` those of one of their households (any other id is
    /// `NOT_FOUND`), a page at a time, in a stable order (ties broken by id).
    /// Complexity: the selection below costs once per 10 recipes requested, so a 20-recipe page of full
    /// recipes fits the budget of 200 and a 100-recipe page of full recipes does not.
    #[graphql(complexity = "page_cost(first) * child_complexity")]
    async fn recipes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        filter: Option<RecipeFilter>,
        sort: Option<RecipeSort>,
        household_id: Option<Uuid>,
    ) -> async_graphql::Result<RecipeConnection> {
        list_recipes(
            ctx,
            first,
            after,
            filter.unwrap_or_default(),
            sort.unwrap_or_default(),
            (household_id, None),
        )
        .await
    }

    /// One of the signed-in user's recipes or of their households'. Any other recipe is `NOT_FOUND`, exactly like
    /// a missing one.
    async fn recipe(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<RecipeView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let full = Recipe::find_full(&mut conn, owner, id).await.gql()?;
        Ok(full.into())
    }

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

#[derive(Default)]
pub struct RecipeMutation;

#[Object]
impl RecipeMutation {
    /// Creates a recipe for the signed-in user (or, with `input.householdId`, for one of their households).
    /// Ingredients may be raw lines (parsed here) or structured.
    async fn create_recipe(&self, ctx: &Context<'_>, input: CreateRecipeInput) -> async_graphql::Result<RecipeView> {
        let owner = viewer_id(ctx).extend()?;
        let (recipe, ingredients, steps) = validate(owner, &input).extend()?;
        let mut conn = conn(ctx).await?;
        let full = Recipe::create(&mut conn, recipe, ingredients, steps).await.gql()?;
        Ok(full.into())
    }

    /// Changes a recipe if it is still at `expectedVersion`; otherwise `CONFLICT` and nothing is written, so a
    /// stale offline edit never overwrites a newer one.
    async fn update_recipe(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        expected_version: i32,
        patch: RecipePatch,
    ) -> async_graphql::Result<RecipeView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let current = Recipe::find(&mut conn, owner, id).await.gql()?;
        let valid = validate_patch(&current, &patch).extend()?;
        match Recipe::update(&mut conn, owner, id, expected_version, valid)
            .await
            .gql()?
        {
            Some(full) => Ok(full.into()),
            None => Err(AppError::Conflict(format!(
                "the recipe has changed since version {expected_version}; reload it and apply your change again"
            )))
            .extend(),
        }
    }

    /// Replaces a recipe's tags with those named (at most 50), creating tags its set (the user's own tags, or its
    /// household's) does not have yet; names match existing tags regardless of case.
    async fn set_recipe_tags(
        &self,
        ctx: &Context<'_>,
        recipe_id: Uuid,
        names: Vec<String>,
    ) -> async_graphql::Result<RecipeView> {
        let owner = viewer_id(ctx).extend()?;
        if names.len() > MAX_TAGS {
            return Err(AppError::bad_input("names", format!("at most {MAX_TAGS} tags"))).extend();
        }
        let mut unique: Vec<String> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let name = crate::tags::tag_name(&format!("names.{i}"), name).extend()?;
            if !unique.iter().any(|u| u.to_lowercase() == name.to_lowercase()) {
                unique.push(name);
            }
        }
        let mut conn = conn(ctx).await?;
        Tag::set_for_recipe(&mut conn, owner, recipe_id, &unique).await.gql()?;
        let full = Recipe::find_full(&mut conn, owner, recipe_id).await.gql()?;
        Ok(full.into())
    }

    /// A private copy of a recipe the signed-in user can see, ingredients, steps and tags included: theirs, in the
    /// original's household (or their own when the original is).
    async fn duplicate_recipe(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<RecipeView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let copy = Recipe::duplicate(&mut conn, owner, id).await.gql()?;
        Ok(copy.into())
    }

    /// Moves a recipe into one of the signed-in user's households (`householdId`) or to their own recipes (`null`).
    /// The user becomes its owner; its tags become the target's tags of the same names (made when missing), it
    /// leaves its collections, and its version moves on. Members of its household who cannot see it where it goes
    /// find it in `changes` as deleted. A recipe or household the user cannot see is `NOT_FOUND`; moving it where
    /// it is changes nothing.
    async fn move_recipe(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        household_id: Option<Uuid>,
    ) -> async_graphql::Result<RecipeView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let moved = Recipe::move_to(&mut conn, owner, id, household_id).await.gql()?;
        Ok(moved.into())
    }

    /// Deletes a recipe the signed-in user can see (their own, or one of their households') with its ingredients
    /// and steps. Returns true.
    async fn delete_recipe(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<bool> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        if !Recipe::delete(&mut conn, owner, id).await.gql()? {
            return Err(AppError::NotFound).extend();
        }
        // The recipe's images went with it; their files go now rather than at the next maintenance run.
        ctx.data::<Arc<MediaService>>()?.collect_garbage(&mut conn).await;
        Ok(true)
    }
}
