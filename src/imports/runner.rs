//! Runs bulk imports in the background: each instance takes jobs nobody holds (see `jobs`), a few at a time, and
//! imports their addresses one after another, politely: the same site is asked at most once a second by this
//! instance, whichever job asks. Each page goes through the outbound guard and the same reader as
//! `importRecipeFromUrl`, counts against the monthly import quota, and is saved as a recipe from the address (in
//! the same transaction as its outcome, so a restart never makes it twice).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocket::fairing::AdHoc;
use tokio::sync::{Mutex, Semaphore};
use uuid::Uuid;

use super::graphql::{fetch_guarded, file_name, page_text, read_page, view};
use super::guard::{Fetched, ImportSettings, Want, MAX_PAGE_BYTES};
use super::jobs::{Job, Outcome};
use super::model::{from_address, take_monthly};
use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::media::MediaService;
use crate::recipes::{validate, CreateRecipeInput, IngredientInput, Recipe, StepInput};
use crate::security_log::RequestMeta;

/// Jobs one instance runs at once.
const SLOTS: usize = 4;
/// How often an idle instance looks for a job.
const POLL: Duration = Duration::from_secs(1);
/// The least time between two requests to one site from this instance: a little over a second, so that the
/// time a request takes to leave never brings two of them closer than one.
const POLITENESS: Duration = Duration::from_millis(1_050);

pub struct ImportRunner {
    pool: DbPool,
    settings: ImportSettings,
    media: Arc<MediaService>,
    /// When each site may next be asked.
    sites: Mutex<HashMap<String, Instant>>,
}

impl ImportRunner {
    pub fn new(pool: DbPool, settings: ImportSettings, media: Arc<MediaService>) -> Self {
        Self {
            pool,
            settings,
            media,
            sites: Mutex::new(HashMap::new()),
        }
    }

    /// After launch: take jobs as slots free up.
    pub fn fairing(self: Arc<Self>) -> AdHoc {
        AdHoc::on_liftoff("recipe imports", move |_| {
            Box::pin(async move {
                tokio::spawn(async move { self.take_jobs().await });
            })
        })
    }

    async fn take_jobs(self: Arc<Self>) {
        let slots = Arc::new(Semaphore::new(SLOTS));
        loop {
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let claimed = match self.pool.get().await {
                Ok(mut conn) => Job::claim(&mut conn).await,
                Err(e) => {
                    tracing::warn!(error = %e, "recipe imports: no database connection");
                    tokio::time::sleep(POLL).await;
                    continue;
                }
            };
            match claimed {
                Ok(Some(job)) => {
                    let runner = Arc::clone(&self);
                    tokio::spawn(async move {
                        if let Err(e) = runner.run(&job).await {
                            tracing::warn!(error = %e, job = %job.id, "recipe import interrupted; its lease will lapse");
                        }
                        drop(slot);
                    });
                }
                Ok(None) => tokio::time::sleep(POLL).await,
                Err(e) => {
                    tracing::warn!(error = %e, "recipe imports: no job could be claimed");
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }

    /// Imports the job's addresses not yet done, in order, until none is left or the job is cancelled.
    async fn run(&self, job: &Job) -> AppResult<()> {
        tracing::info!(job = %job.id, "recipe import running");
        loop {
            let next = {
                let mut conn = self.pool.get().await?;
                if !Job::renew(&mut conn, job.id).await? {
                    tracing::info!(job = %job.id, "recipe import cancelled");
                    return Ok(());
                }
                match Job::next_url(&mut conn, job.id).await? {
                    Some(next) => next,
                    None => {
                        Job::finish(&mut conn, job.id).await?;
                        tracing::info!(job = %job.id, "recipe import done");
                        return Ok(());
                    }
                }
            };
            self.import(job, next.position, &next.url).await?;
        }
    }

    /// One address: a duplicate of a recipe the owner has, a failure with its code, or a new recipe.
    async fn import(&self, job: &Job, position: i32, url: &str) -> AppResult<()> {
        let owner = job.owner_id;
        let mut conn = self.pool.get().await?;
        if let Some(recipe) = from_address(&mut conn, owner, url).await? {
            Job::record(&mut conn, job.id, position, Outcome::Duplicate(recipe)).await?;
            return Ok(());
        }
        if !take_monthly(&mut conn, owner, self.settings.monthly_limit).await? {
            Job::record(&mut conn, job.id, position, Outcome::Failed("QUOTA_EXCEEDED")).await?;
            return Ok(());
        }
        drop(conn);
        let (made, picture) = match self.read(owner, url).await {
            Ok((input, picture)) => (validate(owner, &input), picture),
            Err(e) => (Err(e), None),
        };
        let mut conn = self.pool.get().await?;
        match made {
            Ok((recipe, ingredients, steps)) => {
                let recipe_id = recipe.id;
                use diesel_async::AsyncConnection as _;
                // The recipe stays only with its outcome recorded: an address another instance finished first
                // (after this one's lease lapsed) keeps that instance's recipe alone.
                let saved = conn
                    .transaction::<_, diesel::result::Error, _>(async |conn| {
                        let saved = Recipe::create(conn, recipe, ingredients, steps).await?;
                        match Job::record(conn, job.id, position, Outcome::Imported(saved.recipe.id)).await? {
                            true => Ok(()),
                            false => Err(diesel::result::Error::RollbackTransaction),
                        }
                    })
                    .await;
                match saved {
                    Ok(()) => {
                        drop(conn);
                        if let Some(picture) = picture {
                            self.picture(owner, recipe_id, &picture).await;
                        }
                    }
                    Err(diesel::result::Error::RollbackTransaction) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => {
                Job::record(&mut conn, job.id, position, Outcome::Failed(e.code())).await?;
            }
        }
        Ok(())
    }

    /// The page's first picture, fetched through the guard and handed to the upload pipeline as
    /// `importRecipeImage` does (quarantined, scanned, scored, only a re-encoded copy kept; the upload quotas). A
    /// picture that cannot be fetched or is refused leaves the recipe without one.
    async fn picture(&self, owner: Uuid, recipe: Uuid, url: &str) {
        let uploaded = async {
            let fetched = self.fetch(owner, url, Want::Image, self.media.max_upload_size).await?;
            let file = self
                .media
                .spool_bytes(file_name(&fetched.url), fetched.content_type, &fetched.bytes)
                .await?;
            drop(fetched.bytes);
            let mut conn = self.pool.get().await?;
            self.media
                .upload_all(&mut conn, &RequestMeta::default(), owner, recipe, vec![file])
                .await
        };
        match uploaded.await {
            Ok(outcomes) => tracing::info!(%recipe, outcomes = outcomes.len(), "bulk import: picture uploaded"),
            Err(e) => tracing::info!(%recipe, code = e.code(), "bulk import: no picture"),
        }
    }

    /// The recipe the page at `url` holds, with its first picture's address, fetched through the guard once the
    /// site may be asked again.
    async fn read(&self, owner: Uuid, url: &str) -> AppResult<(CreateRecipeInput, Option<String>)> {
        let fetched = self.fetch(owner, url, Want::Page, MAX_PAGE_BYTES).await?;
        let (draft, found) = read_page(page_text(fetched.bytes), fetched.url.clone()).await?;
        let draft = view(draft, found, Some(url.to_owned()));
        let picture = draft.image_urls.first().cloned();
        let input = CreateRecipeInput {
            title: draft
                .title
                .ok_or(AppError::ImportNoRecipeData("the page has no recipe title"))?,
            description: draft.description,
            prep_minutes: draft.prep_minutes,
            cook_minutes: draft.cook_minutes,
            total_minutes: draft.total_minutes,
            servings: draft.servings,
            yield_text: draft.yield_text,
            source_type: draft.source_type,
            source_url: draft.source_url,
            visibility: Default::default(),
            ingredients: draft
                .ingredients
                .into_iter()
                .map(|i| IngredientInput::line(i.original_text))
                .collect(),
            steps: draft
                .steps
                .into_iter()
                .map(|s| StepInput {
                    text: s.text,
                    section: s.section,
                })
                .collect(),
            household_id: None,
        };
        Ok((input, picture))
    }

    /// What `url` answers through the guard once its site may be asked again (a blocked address is also a
    /// security event naming `owner`).
    async fn fetch(&self, owner: Uuid, url: &str, want: Want, max_bytes: u64) -> AppResult<Fetched> {
        self.wait_for_site(url).await;
        let security = Some(self.media.security());
        let user = owner.to_string();
        fetch_guarded(
            &self.settings.guard,
            url,
            want,
            max_bytes,
            security,
            &RequestMeta::default(),
            Some(&user),
        )
        .await
    }

    /// Waits until the site of `url` may be asked again, and books its next turn.
    async fn wait_for_site(&self, url: &str) {
        // The address is checked (`guard::address`): a scheme, `//`, then the authority.
        let site = url
            .split_once("//")
            .map_or(url, |(_, rest)| rest)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let turn = {
            let mut sites = self.sites.lock().await;
            let now = Instant::now();
            sites.retain(|_, at| *at > now);
            let turn = sites.get(&site).copied().unwrap_or(now).max(now);
            sites.insert(site, turn + POLITENESS);
            turn
        };
        tokio::time::sleep_until(turn.into()).await;
    }
}
