//! `GET /media/<id>/<variant>`: promoted variants only, never anything in quarantine. Exact stored content
//! type, `nosniff`, a sandboxing CSP, a server-made download name, long caching with an ETag (the content's
//! SHA-256). Images of non-public recipes need a valid, unexpired signed URL; without one they are 404 like a
//! missing image.

use std::sync::Arc;

use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder, Response};
use rocket::{Request, State};
use uuid::Uuid;

use super::rate_limit::{MediaQuota, RouteLimit};
use super::response::JsonResponse;
use crate::db::DbPool;
use crate::error::AppError;
use crate::media::store::VariantBody;
use crate::media::urls::SignatureError;
use crate::media::{Media, MediaService};
use crate::security_log::{RequestMeta, SecurityLog};

pub const MEDIA_CSP: &str = "default-src 'none'; sandbox";

pub struct MediaFile {
    /// `None` for a 304: the client's copy is current and the file is not opened.
    file: Option<VariantBody>,
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
    limit: RouteLimit<MediaQuota>,
    media: &State<Arc<MediaService>>,
    pool: &State<DbPool>,
    log: &State<SecurityLog>,
    meta: RequestMeta,
    if_none_match: IfNoneMatch,
) -> Result<MediaFile, JsonResponse> {
    if let Err(limited) = limit.0 {
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
    let not_modified = super::response::held(if_none_match.0.as_deref(), &etag);
    let file = if not_modified {
        None
    } else {
        let opened = media.store.open_variant(&v.storage_key).await.map_err(|e| {
            if e.is_not_found() {
                tracing::error!(error = %e, media_id = %id, "a promoted variant's file is missing");
                AppError::NotFound
            } else {
                AppError::from(e)
            }
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
