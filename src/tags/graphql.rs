//! The tags slice of the GraphQL schema.

use async_graphql::{Context, MaybeUndefined, Object, ResultExt as _, SimpleObject};
use uuid::Uuid;

use super::model::{Tag, TagChangeset};
use crate::error::{deleted, AppError, AppResult, GqlResult as _};
use crate::resolver::{conn, viewer_id};

pub const MAX_TAG_NAME: usize = 50;

#[derive(Clone, SimpleObject)]
#[graphql(name = "Tag")]
pub struct TagView {
    pub id: Uuid,
    pub name: String,
    /// `#rrggbb`.
    pub colour: Option<String>,
    /// The household whose recipes it tags; null for the user's own.
    pub household_id: Option<Uuid>,
}

impl From<&Tag> for TagView {
    fn from(tag: &Tag) -> Self {
        Self {
            id: tag.id,
            name: tag.name.clone(),
            colour: tag.colour.clone(),
            household_id: tag.household_id,
        }
    }
}

/// A tag name: trimmed, 1 to 50 characters, no control characters.
pub fn tag_name(field: &str, name: &str) -> AppResult<String> {
    crate::text::required(field, name, MAX_TAG_NAME, crate::text::Lines::Single)
}

/// `#rrggbb`, stored in lower case.
fn colour(value: &str) -> AppResult<String> {
    let lower = value.trim().to_ascii_lowercase();
    let valid = lower.len() == 7 && lower.starts_with('#') && lower[1..].chars().all(|c| c.is_ascii_hexdigit());
    valid
        .then_some(lower)
        .ok_or_else(|| AppError::bad_input("colour", "colour must be #rrggbb"))
}

#[derive(Default)]
pub struct TagQuery;

#[Object]
impl TagQuery {
    /// The signed-in user's own tags, or with `householdId` those of one of their households, by name.
    async fn tags(&self, ctx: &Context<'_>, household_id: Option<Uuid>) -> async_graphql::Result<Vec<TagView>> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        crate::households::check_set(&mut conn, owner, household_id)
            .await
            .gql()?;
        let tags = Tag::list(&mut conn, owner, household_id).await.gql()?;
        Ok(tags.iter().map(TagView::from).collect())
    }
}

#[derive(Default)]
pub struct TagMutation;

#[Object]
impl TagMutation {
    /// Renames and/or recolours a tag (`colour: null` removes the colour). A name its set (the user's own tags,
    /// or its household's) already has, in any case, is a `CONFLICT`.
    async fn update_tag(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        name: Option<String>,
        colour: MaybeUndefined<String>,
    ) -> async_graphql::Result<TagView> {
        let owner = viewer_id(ctx).extend()?;
        let changes = TagChangeset {
            name: name.as_deref().map(|n| tag_name("name", n)).transpose().extend()?,
            colour: match colour {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(c) => Some(Some(self::colour(&c).extend()?)),
            },
        };
        if changes.name.is_none() && changes.colour.is_none() {
            return Err(AppError::bad_input("name", "give a new name or colour")).extend();
        }
        let mut conn = conn(ctx).await?;
        match Tag::update(&mut conn, owner, id, changes).await {
            Ok(tag) => Ok(TagView::from(&tag)),
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info))
                if matches!(
                    info.constraint_name(),
                    Some("tags_owner_name_key" | "tags_household_name_key")
                ) =>
            {
                Err(AppError::Conflict("a tag with this name already exists".into())).extend()
            }
            Err(e) => Err(AppError::from(e)).extend(),
        }
    }

    /// Deletes a tag; it disappears from every recipe. Returns true.
    async fn delete_tag(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<bool> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        deleted(Tag::delete(&mut conn, owner, id).await.gql()?)
    }
}
