//! The images' slice of the schema: uploads (GraphQL multipart request spec), order, cover, deletion, and
//! the admins' quarantine review.

use std::sync::Arc;

use async_graphql::{Context, Object, ResultExt as _, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::model::{Media, StoredImage};
use super::scan::{Finding, Outcome};
use super::service::{MediaService, SpooledFile, SpooledFiles, UploadOutcome};
use crate::error::{AppError, AppResult, GqlResult as _};
use crate::recipes::Recipe;
use crate::resolver::{conn, viewer, viewer_id};
use crate::security_log::{RequestMeta, Severity};

/// Files per `uploadRecipeImages` call (the multipart reader refuses more before storing any).
pub const MAX_FILES: usize = 5;
/// Quarantined files per review page.
const MAX_REVIEW_PAGE: i32 = 100;

/// One re-encoded size of an image.
#[derive(SimpleObject)]
#[graphql(name = "ImageVariant")]
pub struct ImageVariantView {
    /// `150`, `300`, `600` or `1200`: the square the image fits in.
    pub name: String,
    pub width: i32,
    pub height: i32,
    pub content_type: String,
    /// Relative to the API's origin. Signed and expiring unless the recipe is `PUBLIC`.
    pub url: String,
}

/// A recipe photo. Only re-encoded copies are ever served, without the original's metadata.
#[derive(SimpleObject)]
#[graphql(name = "Image")]
pub struct ImageView {
    pub id: Uuid,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// A tiny placeholder for the grid while the image loads (https://blurha.sh).
    pub blurhash: Option<String>,
    pub position: i32,
    /// Whether this is the image `Recipe.coverImage` shows: the one chosen with `setRecipeCoverImage`,
    /// else the first.
    pub is_cover: bool,
    /// Smallest first.
    pub variants: Vec<ImageVariantView>,
    pub created_at: DateTime<Utc>,
}

impl ImageView {
    /// A recipe's images in order, `is_cover` on the one its cover resolves to (chosen, else the first).
    pub fn all(images: &[StoredImage], public: bool, service: &MediaService) -> Vec<Self> {
        let cover = images
            .iter()
            .find(|i| i.media.is_cover)
            .or_else(|| images.first())
            .map(|i| i.media.id);
        images
            .iter()
            .map(|i| Self {
                is_cover: Some(i.media.id) == cover,
                ..Self::new(i, public, service)
            })
            .collect()
    }

    pub fn new(image: &StoredImage, public: bool, service: &MediaService) -> Self {
        let now = Utc::now().timestamp();
        let m = &image.media;
        Self {
            id: m.id,
            width: m.width,
            height: m.height,
            blurhash: m.blurhash.clone(),
            position: m.position,
            is_cover: m.is_cover,
            variants: image
                .variants
                .iter()
                .map(|v| ImageVariantView {
                    name: v.name.clone(),
                    width: v.width,
                    height: v.height,
                    content_type: v.content_type.clone(),
                    url: service.signer.url(m.id, &v.name, public, now),
                })
                .collect(),
            created_at: m.created_at,
        }
    }
}

/// What became of one uploaded file. The client's file name is never echoed.
#[derive(SimpleObject)]
pub struct UploadResult {
    pub id: Uuid,
    pub status: Outcome,
    /// 100 minus the findings' penalties (the README has the table).
    pub score: i32,
    pub findings: Vec<Finding>,
    /// The stored image when `PROMOTED`.
    pub image: Option<ImageView>,
}

impl UploadResult {
    fn new(outcome: UploadOutcome, image: Option<ImageView>) -> Self {
        Self {
            id: outcome.media.id,
            status: outcome.media.outcome(),
            score: outcome.media.score,
            findings: outcome.findings,
            image,
        }
    }
}

/// One of your uploads held for review: what the scanner found, never the file itself.
#[derive(SimpleObject)]
pub struct HeldImage {
    pub id: Uuid,
    pub score: i32,
    pub findings: Vec<Finding>,
    /// True while the antivirus could not be asked yet; the file is retried automatically.
    pub scan_pending: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Media> for HeldImage {
    fn from(m: Media) -> Self {
        Self {
            findings: m.findings(),
            id: m.id,
            score: m.score,
            scan_pending: m.scan_pending,
            created_at: m.created_at,
        }
    }
}

/// A file held in quarantine, for admins.
#[derive(SimpleObject)]
pub struct QuarantinedImage {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub recipe_id: Uuid,
    pub score: i32,
    pub findings: Vec<Finding>,
    /// True while the antivirus could not be asked; such a file is retried, never released unscanned.
    pub scan_pending: bool,
    pub declared_type: Option<String>,
    pub sniffed_type: Option<String>,
    pub size_bytes: i64,
    pub sha256: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub created_at: DateTime<Utc>,
}

impl From<Media> for QuarantinedImage {
    fn from(m: Media) -> Self {
        Self {
            findings: m.findings(),
            id: m.id,
            owner_id: m.owner_id,
            recipe_id: m.recipe_id,
            score: m.score,
            scan_pending: m.scan_pending,
            declared_type: m.declared_type,
            sniffed_type: m.sniffed_type,
            size_bytes: m.size_bytes,
            sha256: m.sha256,
            width: m.width,
            height: m.height,
            created_at: m.created_at,
        }
    }
}

fn service<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Arc<MediaService>> {
    ctx.data::<Arc<MediaService>>()
}

/// The viewer, if an admin (`ADMIN_USER_IDS`); anyone else gets `FORBIDDEN` and an `access_denied` event.
fn require_admin(ctx: &Context<'_>) -> async_graphql::Result<Uuid> {
    let viewer = viewer(ctx).user().extend()?;
    let media = service(ctx)?;
    if media.is_admin(&viewer.clerk_id) {
        return Ok(viewer.id);
    }
    if let Some(meta) = ctx.data_opt::<RequestMeta>() {
        media.security().record(
            "access_denied",
            Severity::Medium,
            meta,
            Some(&viewer.id.to_string()),
            serde_json::json!({ "resource": "quarantine" }),
        );
    }
    Err(AppError::Forbidden).extend()
}

#[derive(Default)]
pub struct MediaQuery;

#[Object]
impl MediaQuery {
    /// Files held in quarantine, oldest first (admins only).
    async fn quarantined_images(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
    ) -> async_graphql::Result<Vec<QuarantinedImage>> {
        require_admin(ctx)?;
        let mut conn = conn(ctx).await?;
        let limit = i64::from(first.unwrap_or(50).clamp(1, MAX_REVIEW_PAGE));
        let rows = Media::quarantined(&mut conn, limit).await.gql()?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

/// Hands spooled files to the upload pipeline for one of the viewer's recipes (`NOT_FOUND` for anyone else's)
/// and says what became of each.
pub async fn upload_files(
    ctx: &Context<'_>,
    owner: Uuid,
    recipe_id: Uuid,
    files: Vec<SpooledFile>,
) -> async_graphql::Result<Vec<UploadResult>> {
    let media = service(ctx)?;
    let mut conn = conn(ctx).await?;
    let recipe = Recipe::find(&mut conn, owner, recipe_id).await.gql()?;
    let meta = ctx.data_opt::<RequestMeta>().cloned().unwrap_or_default();
    let outcomes = media
        .upload_all(&mut conn, &meta, owner, recipe_id, files)
        .await
        .extend()?;
    // The promoted images as the recipe now shows them: `isCover` says which one its cover resolves to.
    let mut shown = if outcomes.iter().any(|o| o.media.outcome() == Outcome::Promoted) {
        let images = Media::for_recipes(&conn, &[recipe_id]).await.gql()?;
        ImageView::all(&images, recipe.visibility == "PUBLIC", media)
    } else {
        Vec::new()
    };
    Ok(outcomes
        .into_iter()
        .map(|outcome| {
            let image = shown
                .iter()
                .position(|i| i.id == outcome.media.id)
                .map(|at| shown.swap_remove(at));
            UploadResult::new(outcome, image)
        })
        .collect())
}

/// The file a multipart request sent for `upload`, taken from the request's spool (at most once), or
/// `BAD_USER_INPUT` on `field` when none was sent for that variable.
pub fn spooled_part(ctx: &Context<'_>, upload: &Upload, field: impl Into<String>) -> AppResult<SpooledFile> {
    ctx.data_opt::<SpooledFiles>()
        .and_then(|spooled| spooled.take(upload.0))
        .ok_or_else(|| AppError::bad_input(field, "no file was sent for this variable (multipart request)"))
}

#[derive(Default)]
pub struct MediaMutation;

#[Object]
impl MediaMutation {
    /// Uploads up to 5 photos to one of your recipes (multipart request). Each file is quarantined, scanned
    /// and scored, and only a re-encoded copy of a safe file is kept; the result says what became of each.
    async fn upload_recipe_images(
        &self,
        ctx: &Context<'_>,
        recipe_id: Uuid,
        files: Vec<Upload>,
    ) -> async_graphql::Result<Vec<UploadResult>> {
        let owner = viewer_id(ctx).extend()?;
        if files.is_empty() || files.len() > MAX_FILES {
            return Err(AppError::bad_input("files", format!("send 1 to {MAX_FILES} files"))).extend();
        }
        let mut parts = Vec::with_capacity(files.len());
        for (i, upload) in files.iter().enumerate() {
            parts.push(spooled_part(ctx, upload, format!("files.{i}")).extend()?);
        }
        upload_files(ctx, owner, recipe_id, parts).await
    }

    /// Deletes one of your uploads, or an image of a recipe you share in a household (its files go with it).
    async fn delete_recipe_image(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<bool> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let deleted = Media::delete_visible(&mut conn, owner, id, Recipe::visible(owner))
            .await
            .gql()?;
        if !deleted {
            return Err(AppError::NotFound).extend();
        }
        service(ctx)?.collect_garbage(&mut conn).await;
        Ok(true)
    }

    /// Puts a recipe's images in this order; `imageIds` must list each of them exactly once.
    async fn reorder_recipe_images(
        &self,
        ctx: &Context<'_>,
        recipe_id: Uuid,
        image_ids: Vec<Uuid>,
    ) -> async_graphql::Result<Vec<ImageView>> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let recipe = Recipe::find(&mut conn, owner, recipe_id).await.gql()?;
        let images = Media::reorder(&mut conn, recipe_id, &image_ids)
            .await
            .gql()?
            .ok_or_else(|| AppError::bad_input("imageIds", "list each of the recipe's images exactly once"))
            .extend()?;
        let media = service(ctx)?;
        let public = recipe.visibility == "PUBLIC";
        Ok(ImageView::all(&images, public, media))
    }

    /// Makes one of a recipe's images its cover (`Recipe.coverImage`).
    async fn set_recipe_cover_image(
        &self,
        ctx: &Context<'_>,
        recipe_id: Uuid,
        image_id: Uuid,
    ) -> async_graphql::Result<ImageView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let recipe = Recipe::find(&mut conn, owner, recipe_id).await.gql()?;
        Media::set_cover(&mut conn, recipe_id, image_id)
            .await
            .gql()?
            .ok_or(AppError::NotFound)
            .extend()?;
        let images = Media::for_recipes(&conn, &[recipe_id]).await.gql()?;
        ImageView::all(&images, recipe.visibility == "PUBLIC", service(ctx)?)
            .into_iter()
            .find(|i| i.id == image_id)
            .ok_or(AppError::NotFound)
            .extend()
    }

    /// Re-scans a quarantined file and promotes it unless the scan now finds something critical or the
    /// antivirus still cannot be asked (admins only).
    async fn release_quarantined_image(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<UploadResult> {
        let admin = require_admin(ctx)?;
        let mut conn = conn(ctx).await?;
        let row = Media::find_quarantined(&mut conn, id).await.gql()?;
        let media = service(ctx)?;
        let meta = ctx.data_opt::<RequestMeta>().cloned().unwrap_or_default();
        let outcome = media.rescan(&mut conn, &meta, row, true).await.extend()?;
        let details = serde_json::json!({ "upload_id": id, "outcome": outcome.media.outcome().as_db() });
        media.security().record(
            "quarantine_released",
            Severity::Low,
            &meta,
            Some(&admin.to_string()),
            details,
        );
        Ok(UploadResult::new(outcome, None))
    }

    /// Deletes a quarantined file for good (admins only).
    async fn delete_quarantined_image(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<bool> {
        require_admin(ctx)?;
        let mut conn = conn(ctx).await?;
        if !Media::delete_quarantined(&mut conn, id).await.gql()? {
            return Err(AppError::NotFound).extend();
        }
        service(ctx)?.collect_garbage(&mut conn).await;
        Ok(true)
    }
}
