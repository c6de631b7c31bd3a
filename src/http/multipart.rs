//! Our reader for the GraphQL multipart request spec (`operations`, `map`, then the files). async-graphql's
//! own reader buffers files in memory or temp files of its choosing and counts bytes, not files; this one
//! streams each file part straight into `QUARANTINE_DIR` under a server-made name, hashing as it goes, with
//! the per-file cap enforced while streaming (the rest of an oversized part is read and discarded, and the
//! file is reported `REJECTED`), at most `MAX_FILES` files, and nothing the `map` did not announce.

use std::collections::BTreeMap;

use async_graphql::UploadValue;
use rocket::data::{Data, ToByteUnit as _};
use tokio::io::AsyncWriteExt as _;

use super::operation::{parse_body, MAX_JSON_BODY};
use crate::error::AppError;
use crate::media::store::Area;
use crate::media::{MediaService, SpooledFile, StreamingDigest, MAX_FILES};

/// A parsed multipart request: the operation, with the spooled files in upload-index order.
pub struct MultipartRequest {
    pub request: async_graphql::Request,
    pub files: Vec<SpooledFile>,
}

pub async fn read(
    data: Data<'_>,
    content_type: &str,
    max_request_size: u64,
    media: &MediaService,
) -> Result<MultipartRequest, AppError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| AppError::BadRequest("multipart request without a boundary".into()))?;
    let constraints = multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(max_request_size));
    let stream = data.open((max_request_size + 1).bytes());
    let mut multipart = multer::Multipart::with_reader_with_constraints(stream, boundary, constraints);
    let too_large = || AppError::PayloadTooLarge {
        limit_bytes: max_request_size,
    };
    let malformed = move |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => too_large(),
        _ => AppError::BadRequest("malformed multipart request".into()),
    };

    let mut request: Option<async_graphql::Request> = None;
    let mut map: Option<BTreeMap<String, Vec<String>>> = None;
    let mut received: BTreeMap<String, SpooledFile> = BTreeMap::new();
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "operations" && request.is_none() {
            let body = read_small(&mut field, "operations", malformed).await?;
            request = Some(parse_body(&body)?);
        } else if name == "map" && request.is_some() && map.is_none() {
            let body = read_small(&mut field, "map", malformed).await?;
            map = Some(parse_map(&body)?);
        } else if map.as_ref().is_some_and(|m| m.contains_key(&name)) && !received.contains_key(&name) {
            let file = spool(&mut field, media, malformed).await?;
            received.insert(name, file);
        } else {
            return Err(AppError::BadRequest(
                "unexpected part: send `operations`, then `map`, then each file `map` names, once".into(),
            ));
        }
    }
    let (Some(mut request), Some(map)) = (request, map) else {
        return Err(AppError::BadRequest(
            "a multipart request needs `operations` and `map` parts".into(),
        ));
    };
    let mut files = Vec::with_capacity(map.len());
    for (key, paths) in map {
        let file = received
            .remove(&key)
            .ok_or_else(|| AppError::BadRequest("a file named in `map` was not sent".into()))?;
        let before = request.uploads.len();
        let upload = UploadValue {
            filename: crate::media::scan::clip(&file.name, 255),
            content_type: file.declared_type.clone(),
            content: bytes::Bytes::new(),
        };
        request.set_upload(&paths[0], upload);
        if request.uploads.len() == before {
            return Err(AppError::BadRequest(
                "a `map` path does not name a variable of the operation".into(),
            ));
        }
        files.push(file);
    }
    Ok(MultipartRequest { request, files })
}

/// `operations` and `map` are JSON documents no bigger than a JSON body.
async fn read_small(
    field: &mut multer::Field<'_>,
    part: &str,
    malformed: impl Fn(multer::Error) -> AppError,
) -> Result<Vec<u8>, AppError> {
    let mut body = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(&malformed)? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > MAX_JSON_BODY {
            return Err(AppError::PayloadTooLarge {
                limit_bytes: MAX_JSON_BODY,
            });
        }
    }
    if body.is_empty() {
        return Err(AppError::BadRequest(format!("the `{part}` part is empty")));
    }
    Ok(body)
}

/// `{"0": ["variables.files.0"], …}`: at most `MAX_FILES` files, each mapped to exactly one variable.
fn parse_map(body: &[u8]) -> Result<BTreeMap<String, Vec<String>>, AppError> {
    let map: BTreeMap<String, Vec<String>> = serde_json::from_slice(body)
        .map_err(|_| AppError::BadRequest("`map` must be a JSON object of arrays of variable paths".into()))?;
    if map.len() > MAX_FILES {
        return Err(AppError::bad_input(
            "files",
            format!("at most {MAX_FILES} files per request"),
        ));
    }
    if map.values().any(|paths| paths.len() != 1) {
        return Err(AppError::BadRequest(
            "each file in `map` must be given to exactly one variable".into(),
        ));
    }
    if map.keys().any(|k| k == "operations" || k == "map") {
        return Err(AppError::BadRequest(
            "`map` keys may not be `operations` or `map`".into(),
        ));
    }
    Ok(map)
}

/// Streams one file part into quarantine. Past the per-file cap the spool is emptied and the rest of the part
/// is read and dropped, so the client hears which file was too big instead of losing the whole request.
async fn spool(
    field: &mut multer::Field<'_>,
    media: &MediaService,
    malformed: impl Fn(multer::Error) -> AppError,
) -> Result<SpooledFile, AppError> {
    let name = field.file_name().unwrap_or_default().to_owned();
    let declared_type = field.content_type().map(ToString::to_string);
    let full = |e| media.disk_error(Area::Quarantine, e);
    let (spool, file) = media.store.spool().map_err(full)?;
    let mut file = tokio::fs::File::from_std(file);
    let mut digest = StreamingDigest::new();
    let mut size: u64 = 0;
    let mut too_large = false;
    while let Some(chunk) = field.chunk().await.map_err(&malformed)? {
        size += chunk.len() as u64;
        if too_large {
            continue;
        }
        if size > media.max_upload_size {
            too_large = true;
            file.set_len(0).await.map_err(full)?;
            continue;
        }
        digest.update(&chunk);
        file.write_all(&chunk).await.map_err(full)?;
    }
    file.flush().await.map_err(full)?;
    media.disk_ok(Area::Quarantine);
    Ok(SpooledFile {
        spool,
        name,
        declared_type,
        size,
        sha256: digest.finish(),
        too_large,
    })
}
