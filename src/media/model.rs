//! Media rows and their queries. Every user-facing query is scoped by owner here; admin queries are named so.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::process::VARIANTS;
use super::scan::{Finding, Outcome};
use crate::db::schema::{media, media_garbage, media_variants, recipes};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = media)]
pub struct Media {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub recipe_id: Uuid,
    pub status: String,
    pub position: i32,
    pub is_cover: bool,
    pub declared_type: Option<String>,
    pub sniffed_type: Option<String>,
    pub size_bytes: i64,
    pub sha256: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub score: i32,
    pub findings: serde_json::Value,
    pub scan_pending: bool,
    pub blurhash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Media {
    pub fn outcome(&self) -> Outcome {
        Outcome::from_db(&self.status)
    }

    pub fn findings(&self) -> Vec<Finding> {
        serde_json::from_value(self.findings.clone()).unwrap_or_default()
    }
}

/// A scanned upload's row.
#[derive(Debug, Insertable)]
#[diesel(table_name = media)]
pub struct NewMedia {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub recipe_id: Uuid,
    pub declared_type: Option<String>,
    pub sniffed_type: Option<String>,
    pub size_bytes: i64,
    pub sha256: String,
    #[diesel(embed)]
    pub scan: MediaResolution,
}

/// What a scan decided: written with a new upload, or over a held one (release, retried antivirus scan).
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = media)]
pub struct MediaResolution {
    pub status: String,
    pub score: i32,
    pub findings: serde_json::Value,
    pub scan_pending: bool,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub blurhash: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable, Identifiable, Associations)]
#[diesel(table_name = media_variants, primary_key(media_id, name), belongs_to(Media))]
pub struct MediaVariant {
    pub media_id: Uuid,
    pub name: String,
    pub storage_key: String,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub size_bytes: i64,
}

/// A promoted image with its variants (smallest first).
#[derive(Clone, Debug)]
pub struct StoredImage {
    pub media: Media,
    pub variants: Vec<MediaVariant>,
}

/// What `GET /media/<id>/<variant>` needs.
pub struct Servable {
    pub variant: MediaVariant,
    pub public: bool,
}

impl Media {
    /// Serialises one user's uploads until the transaction ends: quotas are checked and rows stored under
    /// it, so concurrent requests of one user are decided one after the other, exactly.
    pub async fn lock_uploads_of(conn: &mut AsyncPgConnection, owner_id: Uuid) -> QueryResult<()> {
        diesel::sql_query("select pg_advisory_xact_lock(727001, hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(owner_id.to_string())
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Inserts a scanned upload (and its variants when promoted) at the end of the recipe's images.
    pub async fn insert(
        conn: &mut AsyncPgConnection,
        new: NewMedia,
        variants: Vec<MediaVariant>,
    ) -> QueryResult<Media> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let last: Option<i32> = media::table
                .filter(media::recipe_id.eq(new.recipe_id))
                .select(diesel::dsl::max(media::position))
                .first(conn)
                .await?;
            let row = diesel::insert_into(media::table)
                .values((&new, media::position.eq(last.map_or(0, |p| p + 1))))
                .returning(Media::as_returning())
                .get_result(conn)
                .await?;
            diesel::insert_into(media_variants::table)
                .values(&variants)
                .execute(conn)
                .await?;
            Ok(row)
        })
        .await
    }

    /// Applies a later decision; variants are added when it promotes.
    pub async fn resolve(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        resolution: MediaResolution,
        variants: Vec<MediaVariant>,
    ) -> QueryResult<Media> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let row = diesel::update(media::table.find(id))
                .set(&resolution)
                .returning(Media::as_returning())
                .get_result(conn)
                .await?;
            diesel::insert_into(media_variants::table)
                .values(&variants)
                .execute(conn)
                .await?;
            Ok(row)
        })
        .await
    }

    /// Promoted images of these recipes, in each recipe's order.
    pub async fn for_recipes(mut conn: &AsyncPgConnection, recipe_ids: &[Uuid]) -> QueryResult<Vec<StoredImage>> {
        if recipe_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<Media> = media::table
            .filter(media::recipe_id.eq_any(recipe_ids))
            .filter(media::status.eq(Outcome::Promoted.as_db()))
            .order((media::recipe_id, media::position, media::id))
            .select(Media::as_select())
            .load(&mut conn)
            .await?;
        with_variants(conn, rows).await
    }

    /// The owner's uploads to this recipe that are held in quarantine, oldest first (empty for anyone else).
    pub async fn held_for(conn: &mut AsyncPgConnection, owner_id: Uuid, recipe_id: Uuid) -> QueryResult<Vec<Media>> {
        media::table
            .filter(media::owner_id.eq(owner_id).and(media::recipe_id.eq(recipe_id)))
            .filter(media::status.eq(Outcome::Quarantined.as_db()))
            .order((media::created_at, media::id))
            .select(Media::as_select())
            .load(conn)
            .await
    }

    /// Any user's upload held in quarantine (admin review only); `NotFound` for anything else.
    pub async fn find_quarantined(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Media> {
        media::table
            .find(id)
            .filter(media::status.eq(Outcome::Quarantined.as_db()))
            .select(Media::as_select())
            .first(conn)
            .await
    }

    /// Deletes the viewer's own upload, or a promoted image of a recipe among `visible` (the recipes the viewer may
    /// see: a household's images are its members'); false when there is none.
    pub async fn delete_visible(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        id: Uuid,
        visible: recipes::BoxedQuery<'static, diesel::pg::Pg, diesel::sql_types::Uuid>,
    ) -> QueryResult<bool> {
        let promoted = media::status.eq(Outcome::Promoted.as_db());
        let deleted = diesel::delete(
            media::table.filter(media::id.eq(id)).filter(
                media::owner_id
                    .eq(viewer)
                    .or(promoted.and(media::recipe_id.eq_any(visible))),
            ),
        )
        .execute(conn)
        .await?;
        Ok(deleted > 0)
    }

    /// Deletes any user's upload held in quarantine (admin review only); false when there is none.
    pub async fn delete_quarantined(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
        let held = media::table
            .find(id)
            .filter(media::status.eq(Outcome::Quarantined.as_db()));
        Ok(diesel::delete(held).execute(conn).await? > 0)
    }

    /// Puts the recipe's promoted images (whoever added them) in the given order; `None` unless `ids` is exactly
    /// that set. The caller has checked the viewer may see the recipe.
    pub async fn reorder(
        conn: &mut AsyncPgConnection,
        recipe_id: Uuid,
        ids: &[Uuid],
    ) -> QueryResult<Option<Vec<StoredImage>>> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            lock_recipe(conn, recipe_id).await?;
            let mut current: Vec<Uuid> = promoted_of(recipe_id).select(media::id).load(conn).await?;
            let mut wanted = ids.to_vec();
            current.sort_unstable();
            wanted.sort_unstable();
            if current != wanted {
                return Ok(None);
            }
            for (position, id) in ids.iter().enumerate() {
                diesel::update(media::table.find(id))
                    .set(media::position.eq(i32::try_from(position).unwrap_or(i32::MAX)))
                    .execute(conn)
                    .await?;
            }
            Ok(Some(Self::for_recipes(conn, &[recipe_id]).await?))
        })
        .await
    }

    /// Makes one promoted image the recipe's cover; `None` when it is not one of the recipe's images. The caller has
    /// checked the viewer may see the recipe.
    pub async fn set_cover(conn: &mut AsyncPgConnection, recipe_id: Uuid, id: Uuid) -> QueryResult<Option<Media>> {
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            lock_recipe(conn, recipe_id).await?;
            let found: Option<Uuid> = promoted_of(recipe_id)
                .filter(media::id.eq(id))
                .select(media::id)
                .first(conn)
                .await
                .optional()?;
            if found.is_none() {
                return Ok(None);
            }
            diesel::update(media::table.filter(media::recipe_id.eq(recipe_id).and(media::is_cover)))
                .set(media::is_cover.eq(false))
                .execute(conn)
                .await?;
            let row = diesel::update(media::table.find(id))
                .set(media::is_cover.eq(true))
                .returning(Media::as_returning())
                .get_result(conn)
                .await?;
            Ok(Some(row))
        })
        .await
    }

    /// Files uploaded in the last 24 hours (whatever became of them) and bytes kept (all but rejected).
    pub async fn usage(conn: &mut AsyncPgConnection, owner_id: Uuid) -> QueryResult<(i64, i64)> {
        let since = Utc::now() - chrono::Duration::hours(24);
        let files: i64 = media::table
            .filter(media::owner_id.eq(owner_id).and(media::created_at.gt(since)))
            .count()
            .get_result(conn)
            .await?;
        let bytes: Option<bigdecimal::BigDecimal> = media::table
            .filter(media::owner_id.eq(owner_id))
            .filter(media::status.ne(Outcome::Rejected.as_db()))
            .select(diesel::dsl::sum(media::size_bytes))
            .first(conn)
            .await?;
        let bytes = bytes.and_then(|b| bigdecimal::ToPrimitive::to_i64(&b)).unwrap_or(0);
        Ok((files, bytes))
    }

    /// Images a recipe keeps (promoted or held in quarantine).
    pub async fn kept_for_recipe(conn: &mut AsyncPgConnection, recipe_id: Uuid) -> QueryResult<i64> {
        media::table
            .filter(media::recipe_id.eq(recipe_id))
            .filter(media::status.ne(Outcome::Rejected.as_db()))
            .count()
            .get_result(conn)
            .await
    }

    /// Quarantined files, oldest first (admin review).
    pub async fn quarantined(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Media>> {
        media::table
            .filter(media::status.eq(Outcome::Quarantined.as_db()))
            .order((media::created_at, media::id))
            .limit(limit)
            .select(Media::as_select())
            .load(conn)
            .await
    }

    /// Which of these ids are quarantined rows (whose files quarantine must keep).
    pub async fn quarantined_ids(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
        media::table
            .filter(media::id.eq_any(ids))
            .filter(media::status.eq(Outcome::Quarantined.as_db()))
            .select(media::id)
            .load(conn)
            .await
    }

    /// Quarantined files waiting for the antivirus.
    pub async fn pending_scans(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Media>> {
        media::table
            .filter(media::status.eq(Outcome::Quarantined.as_db()).and(media::scan_pending))
            .order(media::created_at)
            .limit(limit)
            .select(Media::as_select())
            .load(conn)
            .await
    }

    /// Retention: quarantined and rejected rows older than `before` go (their files follow as garbage).
    pub async fn purge_unpromoted(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        diesel::delete(
            media::table
                .filter(media::status.ne(Outcome::Promoted.as_db()))
                .filter(media::created_at.lt(before)),
        )
        .execute(conn)
        .await
    }

    /// A promoted image's variant and whether its recipe is public.
    pub async fn servable(conn: &mut AsyncPgConnection, id: Uuid, variant: &str) -> QueryResult<Option<Servable>> {
        let found: Option<(MediaVariant, String)> = media_variants::table
            .inner_join(media::table.inner_join(recipes::table))
            .filter(media_variants::media_id.eq(id).and(media_variants::name.eq(variant)))
            .filter(media::status.eq(Outcome::Promoted.as_db()))
            .select((MediaVariant::as_select(), recipes::visibility))
            .first(conn)
            .await
            .optional()?;
        Ok(found.map(|(variant, visibility)| Servable {
            variant,
            public: visibility == "PUBLIC",
        }))
    }
}

type PromotedOf = diesel::dsl::Filter<
    diesel::dsl::Filter<media::table, diesel::dsl::Eq<media::recipe_id, Uuid>>,
    diesel::dsl::Eq<media::status, &'static str>,
>;

fn promoted_of(recipe_id: Uuid) -> PromotedOf {
    media::table
        .filter(media::recipe_id.eq(recipe_id))
        .filter(media::status.eq(Outcome::Promoted.as_db()))
}

/// Serialises changes to one recipe's images (the one-cover index would otherwise fail a racing request).
async fn lock_recipe(conn: &mut AsyncPgConnection, recipe_id: Uuid) -> QueryResult<()> {
    recipes::table
        .find(recipe_id)
        .select(recipes::id)
        .for_update()
        .first::<Uuid>(conn)
        .await
        .optional()
        .map(|_| ())
}

async fn with_variants(mut conn: &AsyncPgConnection, rows: Vec<Media>) -> QueryResult<Vec<StoredImage>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let variants = MediaVariant::belonging_to(&rows)
        .select(MediaVariant::as_select())
        .load(&mut conn)
        .await?
        .grouped_by(&rows);
    let rank = |v: &MediaVariant| VARIANTS.iter().position(|(name, _)| *name == v.name);
    Ok(rows
        .into_iter()
        .zip(variants)
        .map(|(media, mut variants)| {
            variants.sort_by_key(rank);
            StoredImage { media, variants }
        })
        .collect())
}

/// A file whose row is gone.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = media_garbage)]
pub struct Garbage {
    pub id: i64,
    pub area: String,
    pub storage_key: String,
}

impl Garbage {
    pub async fn next_batch(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Garbage>> {
        media_garbage::table
            .order(media_garbage::id)
            .limit(limit)
            .select(Garbage::as_select())
            .load(conn)
            .await
    }

    /// Which of these content-addressed files rows refer to.
    pub async fn referenced(conn: &mut AsyncPgConnection, storage_keys: &[String]) -> QueryResult<Vec<String>> {
        media_variants::table
            .filter(media_variants::storage_key.eq_any(storage_keys))
            .select(media_variants::storage_key)
            .distinct()
            .load(conn)
            .await
    }

    /// Whether a content-addressed file is still used by another row (identical variants share files).
    pub async fn still_referenced(conn: &mut AsyncPgConnection, storage_key: &str) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            media_variants::table.filter(media_variants::storage_key.eq(storage_key)),
        ))
        .get_result(conn)
        .await
    }

    /// Queues files for the collector (`area`: `media` or `quarantine`): files written for a row that was never
    /// stored, or found on disk with no row.
    pub async fn enqueue(conn: &mut AsyncPgConnection, area: &str, storage_keys: &[String]) -> QueryResult<()> {
        let rows: Vec<_> = storage_keys
            .iter()
            .map(|key| (media_garbage::area.eq(area), media_garbage::storage_key.eq(key)))
            .collect();
        diesel::insert_into(media_garbage::table)
            .values(rows)
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Holds a content-addressed file's lock until the transaction ends: the collector and a promotion that
    /// reuses the file take it, so a file is never removed between "it is there" and "a row refers to it".
    pub async fn lock_file(conn: &mut AsyncPgConnection, storage_key: &str) -> QueryResult<()> {
        diesel::sql_query("select pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(storage_key)
            .execute(conn)
            .await
            .map(|_| ())
    }

    pub async fn done(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
        diesel::delete(media_garbage::table.find(id))
            .execute(conn)
            .await
            .map(|_| ())
    }
}
