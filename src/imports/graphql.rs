//! The import slice of the GraphQL schema: drafts from a pasted page or text, never saved here. Saving is
//! `createRecipe` with the draft's fields.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::{Context, Enum, Object, ResultExt as _, SimpleObject, Upload};
use uuid::Uuid;

use super::draft::{Draft, Found};
use super::extract::from_html;
use super::guard::{address, fetch, AddressError, FetchError, Fetched, Guard, ImportSettings, Want, MAX_PAGE_BYTES};
use super::model::{similar, take_monthly};
use super::text::from_text;
use crate::error::{AppError, AppResult, GqlResult as _};
use crate::media::{spooled_part, upload_files, MediaService, UploadResult};
use crate::recipes::parser::{parse_line, MAX_LINE_CHARS};
use crate::recipes::Recipe;
use crate::recipes::RecipeSummary;
use crate::recipes::{ParsedIngredientView, SourceType, MAX_DESCRIPTION, MAX_STEP_TEXT, MAX_TITLE};
use crate::resolver::{conn, viewer_id};
use crate::security_log::{RequestMeta, SecurityLog, Severity};

/// Largest text `importRecipeFromText` reads.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Pages larger than this are parsed off the async workers.
const OFFLOAD_BYTES: usize = 16 * 1024;
/// How long reading one page may take. Reading is linear and bounded (a 5 MiB page takes milliseconds);
/// this is the backstop that turns anything slower into `IMPORT_TIMEOUT` instead of a busy worker.
const READ_DEADLINE: Duration = Duration::from_secs(2);

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DraftSource {
    /// schema.org `Recipe` in JSON-LD.
    JsonLd,
    /// schema.org `Recipe` in microdata.
    Microdata,
    /// No structured data: the lists under the page's "Ingredients" and "Method" headings (or their
    /// translations).
    Outline,
    /// Only the page's OpenGraph title, description and image.
    OpenGraph,
    /// Pasted text.
    Text,
}

#[derive(SimpleObject)]
pub struct DraftStep {
    pub section: Option<String>,
    pub text: String,
}

/// A recipe read from a page or a text, not saved: review it, then `createRecipe` with its fields.
#[derive(SimpleObject)]
#[graphql(name = "RecipeDraft")]
pub struct DraftView {
    pub title: Option<String>,
    pub description: Option<String>,
    pub prep_minutes: Option<i32>,
    pub cook_minutes: Option<i32>,
    pub total_minutes: Option<i32>,
    /// Decimal text.
    pub servings: Option<String>,
    pub yield_text: Option<String>,
    pub source_type: SourceType,
    pub source_url: Option<String>,
    /// Parsed like `parseIngredients`; `originalText` is the line as the source wrote it.
    pub ingredients: Vec<ParsedIngredientView>,
    pub steps: Vec<DraftStep>,
    /// Absolute addresses of the source's pictures, best first (`importRecipeImage` fetches one, scanned).
    pub image_urls: Vec<String>,
    /// 0 to 100: title 20, ingredients 30, steps 30, image 10, servings 5, time 5.
    pub completeness: i32,
    /// What the source did not say: `title`, `ingredients`, `steps`, `imageUrls`, `servings`, `totalMinutes`.
    pub missing_fields: Vec<String>,
    pub found_in: DraftSource,
    /// Your recipes from the same address or with a near-identical title.
    pub similar_recipes: Vec<RecipeSummary>,
}

fn cut(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].trim_end().to_owned(),
        None => text,
    }
}

/// The draft within the catalogue's limits, so that `createRecipe` accepts it as it is.
pub(super) fn view(draft: Draft, found: Found, source_url: Option<String>) -> DraftView {
    let total_minutes = draft.total();
    let parts = [
        ("title", 20, draft.title.is_some()),
        ("ingredients", 30, !draft.ingredients.is_empty()),
        ("steps", 30, !draft.steps.is_empty()),
        ("imageUrls", 10, !draft.images.is_empty()),
        ("servings", 5, draft.servings.is_some()),
        ("totalMinutes", 5, total_minutes.is_some()),
    ];
    DraftView {
        completeness: parts.iter().filter(|p| p.2).map(|p| p.1).sum(),
        missing_fields: parts.iter().filter(|p| !p.2).map(|p| p.0.to_owned()).collect(),
        title: draft.title.map(|t| cut(t, MAX_TITLE)),
        description: draft.description.map(|d| cut(d, MAX_DESCRIPTION)),
        prep_minutes: draft.prep_minutes,
        cook_minutes: draft.cook_minutes,
        total_minutes,
        servings: draft.servings,
        yield_text: draft.yield_text.map(|y| cut(y, 200)),
        source_type: match found {
            Found::Text => SourceType::Manual,
            _ => SourceType::Website,
        },
        source_url,
        ingredients: draft
            .ingredients
            .into_iter()
            .map(|line| parse_line(&cut(line, MAX_LINE_CHARS)).into())
            .collect(),
        steps: draft
            .steps
            .into_iter()
            .map(|(section, text)| DraftStep {
                section: section.map(|s| cut(s, 200)),
                text: cut(text, MAX_STEP_TEXT),
            })
            .collect(),
        image_urls: draft.images,
        found_in: match found {
            Found::JsonLd => DraftSource::JsonLd,
            Found::Microdata => DraftSource::Microdata,
            Found::Outline => DraftSource::Outline,
            Found::OpenGraph => DraftSource::OpenGraph,
            Found::Text => DraftSource::Text,
        },
        similar_recipes: Vec::new(),
    }
}

const ADDRESS_RULE: &str = "an absolute http or https address of at most 2048 characters (other characters \
                            percent-encoded, no credentials)";

/// A page's address as its base (nothing is fetched): an http(s) address, or `BAD_USER_INPUT` on `field`.
fn page_url(field: &str, url: &str) -> AppResult<String> {
    let url = url.trim();
    address(url)
        .map(|()| url.to_owned())
        .map_err(|_| AppError::bad_input(field, ADDRESS_RULE))
}

/// An address to fetch. Another scheme (`gopher:`, `file:`, …) or an IPv6 zone is what request forgery
/// tries: `IMPORT_BLOCKED_ADDRESS` and a security event, as the guard refuses a private address; a port
/// out of range or anything else that is not an address is `BAD_USER_INPUT` on `field`.
pub(super) fn address_to_fetch(ctx: &Context<'_>, field: &str, url: &str) -> AppResult<String> {
    let url = url.trim();
    match address(url) {
        Ok(()) => Ok(url.to_owned()),
        Err(AddressError::Scheme(scheme)) => Err(blocked(ctx, &format!("{scheme}:"))),
        Err(AddressError::Zone(host)) => Err(blocked(ctx, &host)),
        Err(AddressError::Port) => Err(AppError::bad_input(field, "the port must be between 1 and 65535")),
        Err(AddressError::Malformed) => Err(AppError::bad_input(field, ADDRESS_RULE)),
    }
}

fn fetch_url(ctx: &Context<'_>, url: &str) -> async_graphql::Result<String> {
    address_to_fetch(ctx, "url", url).extend()
}

/// `IMPORT_BLOCKED_ADDRESS`, written to the security log with the user who asked.
fn blocked(ctx: &Context<'_>, host: &str) -> AppError {
    let meta = ctx.data_opt::<RequestMeta>().cloned().unwrap_or_default();
    let user = viewer_id(ctx).ok().map(|id| id.to_string());
    let security = ctx.data::<Arc<MediaService>>().ok().map(|media| media.security());
    blocked_for(security, &meta, user.as_deref(), host)
}

/// `IMPORT_BLOCKED_ADDRESS`, written to `security` (when there is one) with the request and the user it was for.
fn blocked_for(security: Option<&SecurityLog>, meta: &RequestMeta, user: Option<&str>, host: &str) -> AppError {
    if let Some(security) = security {
        security.record(
            "import_blocked_address",
            Severity::Medium,
            meta,
            user,
            serde_json::json!({ "host": host }),
        );
    }
    AppError::ImportBlockedAddress
}

async fn with_similar(ctx: &Context<'_>, mut draft: DraftView) -> async_graphql::Result<DraftView> {
    let owner = viewer_id(ctx).extend()?;
    let mut conn = conn(ctx).await?;
    draft.similar_recipes = similar(&mut conn, owner, draft.source_url.as_deref(), draft.title.as_deref())
        .await
        .gql()?
        .iter()
        .map(Into::into)
        .collect();
    Ok(draft)
}

/// What `url` answers, fetched through the guard (off the async workers): at most `max_bytes` of the kind
/// `want` accepts. Refusals of the guard are security events.
async fn fetch_through_guard(
    ctx: &Context<'_>,
    url: &str,
    want: Want,
    max_bytes: u64,
) -> async_graphql::Result<Fetched> {
    let guard = &ctx.data::<ImportSettings>()?.guard;
    let meta = ctx.data_opt::<RequestMeta>().cloned().unwrap_or_default();
    let user = viewer_id(ctx).ok().map(|id| id.to_string());
    let security = ctx.data::<Arc<MediaService>>().ok().map(|media| media.security());
    fetch_guarded(guard, url, want, max_bytes, security, &meta, user.as_deref())
        .await
        .extend()
}

/// What `url` answers through `guard`, fetched off the async workers: at most `max_bytes` of the kind `want`
/// accepts, or the refusal as the client sees it (a blocked address also a security event for `user`).
pub(super) async fn fetch_guarded(
    guard: &Guard,
    url: &str,
    want: Want,
    max_bytes: u64,
    security: Option<&SecurityLog>,
    meta: &RequestMeta,
    user: Option<&str>,
) -> AppResult<Fetched> {
    let (guard, target) = (guard.clone(), url.to_owned());
    tokio::task::spawn_blocking(move || fetch(&guard, &target, want, max_bytes))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| refusal(e, want).unwrap_or_else(|host| blocked_for(security, meta, user, &host)))
}

/// What a failed fetch is to the client; a blocked address is `Err(host)`, for the caller to record.
fn refusal(error: FetchError, want: Want) -> Result<AppError, String> {
    Ok(match error {
        FetchError::Blocked(host) => return Err(host),
        FetchError::Timeout => AppError::ImportTimeout,
        FetchError::TooLarge => AppError::ImportTooLarge,
        FetchError::Status(status) => AppError::UpstreamHttpError(format!("the server answered {status}")),
        FetchError::WrongType(_) if want == Want::Page => AppError::ImportNoRecipeData("the address is not a web page"),
        FetchError::WrongType(_) => AppError::bad_input("url", "the address does not serve a JPEG, PNG or WebP image"),
        FetchError::Failed(cause) => {
            tracing::info!(%cause, "import fetch failed");
            AppError::UpstreamHttpError("the address could not be fetched".into())
        }
    })
}

/// The last segment of an address's path, as the fetched file's name (checked like an uploaded file's).
pub(super) fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let name = path.rsplit('/').next().unwrap_or_default();
    if name.is_empty() {
        "image".to_owned()
    } else {
        cut(name.to_owned(), 255)
    }
}

/// The draft a page's HTML holds, read off the async workers when it is long, within [`READ_DEADLINE`]
/// (`IMPORT_TIMEOUT` past it).
pub(super) async fn read_page(html: String, base: String) -> AppResult<(Draft, Found)> {
    let large = html.len() > OFFLOAD_BYTES;
    let deadline = Instant::now() + READ_DEADLINE;
    let parse = move || from_html(&html, Some(&base), deadline);
    let found = if large {
        tokio::task::spawn_blocking(parse)
            .await
            .map_err(|e| AppError::Internal(e.into()))?
    } else {
        parse()
    };
    found
        .map_err(|_| AppError::ImportTimeout)?
        .ok_or(AppError::ImportNoRecipeData("the page has no recipe data"))
}

/// The text of a page sent as a file part: at most `MAX_PAGE_BYTES` (the spool is removed when the request
/// ends, like any upload's), bytes that are not UTF-8 read as U+FFFD.
async fn uploaded_page(ctx: &Context<'_>, page: &Upload) -> AppResult<String> {
    let file = spooled_part(ctx, page, "page")?;
    if file.too_large || file.size > MAX_PAGE_BYTES {
        return Err(AppError::ImportTooLarge);
    }
    let path = file.spool.path().ok_or(AppError::ImportTooLarge)?;
    let bytes = tokio::fs::read(path).await.map_err(AppError::internal)?;
    Ok(page_text(bytes))
}

/// A page's bytes as text without a second copy when they are UTF-8; other bytes read as U+FFFD.
pub(super) fn page_text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// A draft from the page at `url` (http or https), fetched through the outbound guard: public addresses
    /// only (`IMPORT_BLOCKED_ADDRESS` for loopback, private, link-local and other special ranges, checked again
    /// on every redirect), 8 s (`IMPORT_TIMEOUT`), 5 MiB (`IMPORT_TOO_LARGE`), web pages only; an error status
    /// is `UPSTREAM_HTTP_ERROR`. Read like `importRecipeFromHtml`. Each attempt counts against the monthly
    /// import quota (`QUOTA_EXCEEDED` past it).
    async fn import_recipe_from_url(&self, ctx: &Context<'_>, url: String) -> async_graphql::Result<DraftView> {
        let owner = viewer_id(ctx).extend()?;
        let url = fetch_url(ctx, &url)?;
        let limit = ctx.data::<ImportSettings>()?.monthly_limit;
        let counted = take_monthly(&mut *conn(ctx).await?, owner, limit).await.gql()?;
        if !counted {
            return Err(AppError::QuotaExceeded(format!(
                "at most {limit} imports by address a month (IMPORT_MONTHLY_LIMIT)"
            )))
            .extend();
        }
        let Fetched { url, bytes, .. } = fetch_through_guard(ctx, &url, Want::Page, MAX_PAGE_BYTES).await?;
        let (draft, found) = read_page(page_text(bytes), url.clone()).await.extend()?;
        with_similar(ctx, view(draft, found, Some(url))).await
    }

    /// Fetches the picture at `url` (a draft's `imageUrls`) through the outbound guard and hands it to the
    /// upload pipeline for one of your recipes, as if you had uploaded it: quarantined, scanned, scored and
    /// only a re-encoded copy of a safe file kept. Never hot-linked. JPEG, PNG or WebP (`BAD_USER_INPUT`
    /// otherwise), at most `MAX_UPLOAD_SIZE` (`IMPORT_TOO_LARGE`); the guard's other errors as for
    /// `importRecipeFromUrl`. Counts against the upload quotas, not the monthly import quota.
    async fn import_recipe_image(
        &self,
        ctx: &Context<'_>,
        recipe_id: Uuid,
        url: String,
    ) -> async_graphql::Result<UploadResult> {
        let owner = viewer_id(ctx).extend()?;
        let url = fetch_url(ctx, &url)?;
        // Nothing is fetched for a recipe that is not the viewer's.
        Recipe::find(&mut *conn(ctx).await?, owner, recipe_id).await.gql()?;
        let media = ctx.data::<Arc<MediaService>>()?;
        let Fetched {
            url,
            content_type,
            bytes,
        } = fetch_through_guard(ctx, &url, Want::Image, media.max_upload_size).await?;
        let file = media
            .spool_bytes(file_name(&url), content_type, &bytes)
            .await
            .extend()?;
        // The pipeline reads the spooled copy: not two in memory.
        drop(bytes);
        let mut results = upload_files(ctx, owner, recipe_id, vec![file]).await?;
        results
            .pop()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no upload outcome")).into())
    }

    /// A draft from a page's HTML and its address (a "save this page" button or share sheet): schema.org
    /// `Recipe` in JSON-LD, else microdata, else OpenGraph; `IMPORT_NO_RECIPE_DATA` when the page has none.
    /// Give the page either as `html` (inside the JSON body, so at most 64 KiB) or, whole, as the file `page`
    /// of a multipart request (at most 5 MiB, as `importRecipeFromUrl` reads; `IMPORT_TOO_LARGE` past it).
    /// Exactly one of the two.
    async fn import_recipe_from_html(
        &self,
        ctx: &Context<'_>,
        html: Option<String>,
        page: Option<Upload>,
        url: String,
    ) -> async_graphql::Result<DraftView> {
        viewer_id(ctx).extend()?;
        let url = page_url("url", &url).extend()?;
        let html = match (html, page) {
            (Some(html), None) => html,
            (None, Some(page)) => uploaded_page(ctx, &page).await.extend()?,
            _ => {
                return Err(AppError::bad_input(
                    "page",
                    "give the page as `html` or as the file `page`, not both",
                ))
                .extend()
            }
        };
        let (draft, found) = read_page(html, url.clone()).await.extend()?;
        with_similar(ctx, view(draft, found, Some(url))).await
    }

    /// A draft from pasted text such as a caption or a note (at most 20 000 characters): the first line is
    /// the title, then ingredients and steps, under headings or not.
    async fn import_recipe_from_text(&self, ctx: &Context<'_>, text: String) -> async_graphql::Result<DraftView> {
        viewer_id(ctx).extend()?;
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(AppError::bad_input(
                "text",
                format!("at most {MAX_TEXT_CHARS} characters"),
            ))
            .extend();
        }
        let draft = from_text(&text);
        if draft.title.is_none() {
            return Err(AppError::ImportNoRecipeData("the text has no recipe in it")).extend();
        }
        with_similar(ctx, view(draft, Found::Text, None)).await
    }
}
