//! `GET /media/<id>/<variant>`: promoted variants only, never anything in quarantine. Exact stored content
//! type, `nosniff`, a sandboxing CSP, a server-made download name, long caching with an ETag (the content's
//! SHA-256). Images of non-public recipes need a valid, unexpired signed URL; without one they are 404 like a
//! missing image. Also the background chores of the media store.

use std::sync::Arc;
use std::time::Duration;

use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder, Response};
use rocket::{Request, State};
use uuid::Uuid;

use super::rate_limit::{MediaLimit, RateLimits};
use super::response::JsonResponse;
use crate::db::DbPool;
use crate::error::AppError;
use crate::media::urls::SignatureError;
use crate::media::{Media, MediaService};
use crate::security_log::{RequestMeta, SecurityLog};

/// How often the media chores run (antivirus retries, retention, file garbage).
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);
pub const MEDIA_CSP: &str = "default-src 'none'; sandbox";

/// After launch: the orphan sweep once, then `MediaService::maintain` every `MAINTENANCE_INTERVAL`.
pub fn maintenance(media: Arc<MediaService>, pool: DbPool, tombstone_retention: chrono::Duration) -> AdHoc {
    AdHoc::on_liftoff("media maintenance", move |_| {
        Box::pin(async move {
            tokio::spawn(async move {
                media.sweep_orphans(&pool).await;
                let mut ticks = tokio::time::interval(MAINTENANCE_INTERVAL);
                loop {
                    ticks.tick().await;
                    media.maintain(&pool).await;
                    purge_tombstones(&pool, tombstone_retention).await;
                    purge_idempotency_keys(&pool).await;
                }
            });
        })
    })
}

/// Deletions older than the retention are forgotten (a client that old is told to resync).
async fn purge_tombstones(pool: &DbPool, retention: chrono::Duration) {
    let Ok(mut conn) = pool.get().await else {
        return;
    };
    match crate::sync::purge_older_than(&mut conn, chrono::Utc::now() - retention).await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "tombstone retention: old deletions forgotten"),
        Err(e) => tracing::warn!(error = %e, "tombstone retention failed"),
    }
}

/// Stored idempotent responses older than 24 hours are forgotten.
async fn purge_idempotency_keys(pool: &DbPool) {
    let Ok(mut conn) = pool.get().await else {
        return;
    };
    match crate::idempotency::purge_expired(&mut conn, chrono::Utc::now()).await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "idempotency keys past their 24 hours forgotten"),
        Err(e) => tracing::warn!(error = %e, "idempotency key purge failed"),
    }
}

pub struct MediaFile {
    /// `None` for a 304: the client's copy is current and the file is not opened.
    file: Option<tokio::fs::File>,
    len: u64,
    content_type: ContentType,
    etag: String,
    cache_control: String,
    disposition: String,
}

impl<'r> Responder<'r, 'static> for MediaFile {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .raw_header("ETag", self.etag)
            .raw_header("Cache-Control", self.cache_control)
            .raw_header("Content-Security-Policy", MEDIA_CSP)
            .raw_header("Cross-Origin-Resource-Policy", "cross-origin");
        let Some(file) = self.file else {
            return response.status(Status::NotModified).ok();
        };
        response
            .header(self.content_type)
            .raw_header("Content-Disposition", self.disposition)
            .sized_body(usize::try_from(self.len).ok(), file)
            .ok()
    }
}

#[rocket::get("/media/<id>/<variant>?<expires>&<sig>")]
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    id: &str,
    variant: &str,
    expires: Option<i64>,
    sig: Option<&str>,
    limit: MediaLimit<'_>,
    limits: &State<RateLimits>,
    media: &State<Arc<MediaService>>,
    pool: &State<DbPool>,
    log: &State<SecurityLog>,
    meta: RequestMeta,
    if_none_match: IfNoneMatch,
) -> Result<MediaFile, JsonResponse> {
    if let Err(limited) = limits.route("media", &limit) {
        return Err(limited.respond(log, &meta, None));
    }
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    if !crate::media::process::VARIANTS.iter().any(|(name, _)| *name == variant) {
        return Err(AppError::NotFound.into());
    }
    let mut conn = pool.get().await.map_err(AppError::from)?;
    let found = Media::servable(&mut conn, id, variant)
        .await
        .map_err(AppError::from)?
        .ok_or(AppError::NotFound)?;
    drop(conn);
    let cache_control = if found.public {
        "public, max-age=31536000, immutable".to_owned()
    } else {
        let now = chrono::Utc::now().timestamp();
        match media.signer.verify(id, variant, expires, sig, now) {
            Ok(valid_for) => format!("private, max-age={valid_for}"),
            Err(SignatureError::Expired) => {
                return Err(JsonResponse::error(
                    Status::Forbidden,
                    "FORBIDDEN",
                    "this link has expired; fetch the recipe again for a fresh one",
                ))
            }
            Err(SignatureError::Missing | SignatureError::Invalid) => return Err(AppError::NotFound.into()),
        }
    };
    let v = found.variant;
    let digest = v
        .storage_key
        .rsplit('/')
        .next()
        .and_then(|name| name.split('.').next())
        .unwrap_or_default();
    let etag = format!("\"{digest}\"");
    let not_modified = if_none_match
        .0
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let file = if not_modified {
        None
    } else {
        let path = media.store.path(crate::media::store::Area::Media, &v.storage_key);
        let opened = tokio::fs::File::open(&path).await.map_err(|e| {
            tracing::error!(error = %e, media_id = %id, "a promoted variant's file is missing");
            AppError::NotFound
        })?;
        Some(opened)
    };
    let extension = v.storage_key.rsplit('.').next().unwrap_or("bin");
    Ok(MediaFile {
        file,
        len: u64::try_from(v.size_bytes).unwrap_or(0),
        content_type: ContentType::parse_flexible(&v.content_type).unwrap_or(ContentType::Binary),
        etag,
        cache_control,
        disposition: format!("inline; filename=\"{id}-{variant}.{extension}\""),
    })
}

/// The `If-None-Match` header, if any.
pub struct IfNoneMatch(Option<String>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for IfNoneMatch {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        rocket::request::Outcome::Success(Self(req.headers().get_one("If-None-Match").map(str::to_owned)))
    }
}
