//! Bulk imports in the GraphQL schema: `startRecipeImport(urls)` queues a job the instances run in the background
//! (see `runner`), `recipeImport(id)` tells how far it got and how each address ended (`recipeImportChanged(id)`
//! as it goes), `cancelRecipeImport(id)` stops it.

use async_graphql::{Context, Enum, Object, ResultExt as _, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::graphql::address_to_fetch;
use super::jobs::{Job, JobUrl, MAX_URLS};
use crate::db::DbPool;
use crate::error::{AppError, GqlResult as _};
use crate::live::{watch, Event, Hub, Step, Watcher};
use crate::resolver::{conn, viewer_id};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum RecipeImportState {
    /// Waiting for an instance to take it.
    Queued,
    Running,
    /// Every address has an outcome.
    Done,
    /// Stopped by its owner; addresses not reached stay `PENDING`.
    Cancelled,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum RecipeImportOutcome {
    /// Not reached yet (or never, in a cancelled job).
    Pending,
    /// Saved as the recipe `recipeId`, with the address as its `sourceUrl`.
    Imported,
    /// You already have the recipe `recipeId` from this address: not fetched again.
    Duplicate,
    /// Not imported: `code` says why (`IMPORT_NO_RECIPE_DATA`, `IMPORT_BLOCKED_ADDRESS`, `IMPORT_TIMEOUT`,
    /// `IMPORT_TOO_LARGE`, `UPSTREAM_HTTP_ERROR`, `QUOTA_EXCEEDED`, `BAD_USER_INPUT`).
    Failed,
}

/// One address of a bulk import and how it ended.
#[derive(SimpleObject)]
pub struct RecipeImportResult {
    /// Its place in the list given (from 0).
    pub position: i32,
    pub url: String,
    pub outcome: RecipeImportOutcome,
    pub code: Option<String>,
    pub recipe_id: Option<Uuid>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<JobUrl> for RecipeImportResult {
    fn from(u: JobUrl) -> Self {
        Self {
            position: u.position,
            url: u.url,
            outcome: match u.outcome.as_deref() {
                Some("IMPORTED") => RecipeImportOutcome::Imported,
                Some("DUPLICATE") => RecipeImportOutcome::Duplicate,
                Some(_) => RecipeImportOutcome::Failed,
                None => RecipeImportOutcome::Pending,
            },
            code: u.code,
            recipe_id: u.recipe_id,
            finished_at: u.finished_at,
        }
    }
}

/// A bulk import: its state, counts, and every address with its outcome, in the order given.
#[derive(SimpleObject)]
#[graphql(name = "RecipeImport")]
pub struct RecipeImportView {
    pub id: Uuid,
    pub state: RecipeImportState,
    pub total: i32,
    pub imported: i32,
    pub duplicates: i32,
    pub failed: i32,
    pub pending: i32,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub results: Vec<RecipeImportResult>,
}

impl RecipeImportView {
    fn new(job: Job, urls: Vec<JobUrl>) -> Self {
        let results: Vec<RecipeImportResult> = urls.into_iter().map(Into::into).collect();
        let count =
            |outcome| i32::try_from(results.iter().filter(|r| r.outcome == outcome).count()).unwrap_or(i32::MAX);
        Self {
            id: job.id,
            state: match job.state.as_str() {
                "QUEUED" => RecipeImportState::Queued,
                "RUNNING" => RecipeImportState::Running,
                "DONE" => RecipeImportState::Done,
                _ => RecipeImportState::Cancelled,
            },
            total: job.total,
            imported: count(RecipeImportOutcome::Imported),
            duplicates: count(RecipeImportOutcome::Duplicate),
            failed: count(RecipeImportOutcome::Failed),
            pending: count(RecipeImportOutcome::Pending),
            created_at: job.created_at,
            finished_at: job.finished_at,
            results,
        }
    }

    async fn load(conn: &mut diesel_async::AsyncPgConnection, job: Job) -> async_graphql::Result<Self> {
        let urls = Job::urls(conn, job.id).await.gql()?;
        Ok(Self::new(job, urls))
    }

    fn ended(&self) -> bool {
        matches!(self.state, RecipeImportState::Done | RecipeImportState::Cancelled)
    }
}

#[derive(Default)]
pub struct RecipeImportQuery;

#[Object]
impl RecipeImportQuery {
    /// One of your bulk imports; anyone else's is `NOT_FOUND`.
    async fn recipe_import(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<RecipeImportView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let job = Job::find(&mut conn, owner, id).await.gql()?;
        RecipeImportView::load(&mut conn, job).await
    }
}

#[derive(Default)]
pub struct RecipeImportMutation;

#[Object]
impl RecipeImportMutation {
    /// Imports up to 500 web pages as your recipes, in the background: each address is fetched through the
    /// outbound guard (at most once a second per site), read like `importRecipeFromUrl` (and counted against the
    /// same monthly quota) and saved as a recipe with the address as its `sourceUrl`, or given the reason it was
    /// not. An address you already have a recipe from is skipped as a `DUPLICATE`; repeats in the list count
    /// once. Follow it with `recipeImport(id)`. One import at a time: while one is queued or running, another is
    /// a `CONFLICT`. An address that is not an http(s) address is `BAD_USER_INPUT` on `urls.N` (another scheme
    /// is `IMPORT_BLOCKED_ADDRESS`), and nothing is queued.
    async fn start_recipe_import(
        &self,
        ctx: &Context<'_>,
        urls: Vec<String>,
    ) -> async_graphql::Result<RecipeImportView> {
        let owner = viewer_id(ctx).extend()?;
        if urls.is_empty() || urls.len() > MAX_URLS {
            return Err(AppError::bad_input("urls", format!("1 to {MAX_URLS} addresses"))).extend();
        }
        let mut unique: Vec<String> = Vec::with_capacity(urls.len());
        for (i, url) in urls.iter().enumerate() {
            let url = address_to_fetch(ctx, &format!("urls.{i}"), url).extend()?;
            if !unique.contains(&url) {
                unique.push(url);
            }
        }
        let mut conn = conn(ctx).await?;
        let job = Job::start(&mut conn, owner, &unique)
            .await
            .gql()?
            .ok_or_else(|| {
                AppError::Conflict("an import is already queued or running; wait for it or cancel it".into())
            })
            .extend()?;
        RecipeImportView::load(&mut conn, job).await
    }

    /// Stops one of your bulk imports: the address being read is finished, the rest stay `PENDING`. Cancelling
    /// one that has ended changes nothing. Anyone else's is `NOT_FOUND`.
    async fn cancel_recipe_import(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<RecipeImportView> {
        let owner = viewer_id(ctx).extend()?;
        let mut conn = conn(ctx).await?;
        let job = Job::cancel(&mut conn, owner, id).await.gql()?;
        RecipeImportView::load(&mut conn, job).await
    }
}

/// One watcher of an import: re-reads it at each of its changes, and ends with it.
struct Watch {
    pool: DbPool,
    owner: Uuid,
    id: Uuid,
}

impl Watcher for Watch {
    type Change = RecipeImportView;

    async fn on(&mut self, event: Event) -> Step<RecipeImportView> {
        match event {
            Event::RecipeImport { id } if id == self.id => {}
            Event::Resync => {}
            _ => return Step::Skip,
        }
        let read = async {
            let mut conn = self.pool.get().await.map_err(AppError::from).extend()?;
            let job = Job::find(&mut conn, self.owner, self.id).await.gql()?;
            RecipeImportView::load(&mut conn, job).await
        };
        match read.await {
            Ok(view) if view.ended() => Step::Last(Ok(view)),
            other => Step::Send(other),
        }
    }
}

#[derive(Default)]
pub struct RecipeImportSubscription;

#[async_graphql::Subscription]
impl RecipeImportSubscription {
    /// One of your bulk imports as it goes: the import as it is after each address done and each change of
    /// state; it ends with the import (`DONE` or `CANCELLED`). Read `recipeImport(id)` after subscribing for where
    /// it stood. Anyone else's is `NOT_FOUND`.
    async fn recipe_import_changed(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> async_graphql::Result<impl futures_util::Stream<Item = async_graphql::Result<RecipeImportView>>> {
        let owner = viewer_id(ctx).extend()?;
        let pool = ctx.data::<DbPool>()?.clone();
        // Subscribed before the import is checked: nothing that happens in between is missed.
        let events = ctx.data::<std::sync::Arc<Hub>>()?.subscribe();
        let mut conn = pool.get().await.map_err(AppError::from).extend()?;
        Job::find(&mut conn, owner, id).await.gql()?;
        drop(conn);
        Ok(watch(events, Watch { pool, owner, id }))
    }
}
