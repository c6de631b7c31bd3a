//! Image uploads end to end: real multipart bodies through our reader, quarantine, the scanner, promotion of
//! re-encoded copies, serving, review, quotas and rate limits. Every fixture is generated here.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use homechef::maintenance::{Maintenance, Turn};
use rocket::http::{ContentType, Status};
use serde_json::{json, Value};

use crate::helpers::{create_recipe, dev_token, error_code, TestApp, TestResponse};

const UPLOAD: &str = "mutation($r: UUID!, $files: [Upload!]!) { uploadRecipeImages(recipeId: $r, files: $files) { \
    id status score findings { code severity message } \
    image { id width height blurhash isCover position variants { name width height contentType url } } } }";
const BOUNDARY: &str = "homechef-test-7d1f0c";
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// One file part.
pub struct FilePart {
    pub filename: Vec<u8>,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

pub fn part(filename: &str, content_type: &str, bytes: Vec<u8>) -> FilePart {
    FilePart {
        filename: filename.as_bytes().to_vec(),
        content_type: content_type.to_owned(),
        bytes,
    }
}

/// A GraphQL multipart request body: `operations`, `map`, then the parts (name, file).
pub fn multipart_body(operations: &Value, map: &Value, parts: &[(String, &FilePart)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in [("operations", operations), ("map", map)] {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (name, file) in parts {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"").as_bytes(),
        );
        body.extend_from_slice(&file.filename);
        body.extend_from_slice(format!("\"\r\nContent-Type: {}\r\n\r\n", file.content_type).as_bytes());
        body.extend_from_slice(&file.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn multipart_type() -> ContentType {
    ContentType::new("multipart", "form-data").with_params(("boundary", BOUNDARY))
}

/// `uploadRecipeImages` with these files, as the spec's clients send it.
pub async fn upload(app: &TestApp, token: &str, recipe: &str, files: &[FilePart]) -> TestResponse {
    let operations = json!({ "query": UPLOAD, "variables": { "r": recipe, "files": vec![Value::Null; files.len()] } });
    let map: serde_json::Map<String, Value> = (0..files.len())
        .map(|i| (i.to_string(), json!([format!("variables.files.{i}")])))
        .collect();
    let parts: Vec<(String, &FilePart)> = files.iter().enumerate().map(|(i, f)| (i.to_string(), f)).collect();
    let body = multipart_body(&operations, &Value::Object(map), &parts);
    let auth = format!("Bearer {token}");
    app.post_graphql_raw(
        multipart_type(),
        body,
        &[("Authorization", &auth), ("GraphQL-Require-Preflight", "1")],
    )
    .await
}

/// The per-file results of a successful upload request.
pub async fn upload_results(app: &TestApp, token: &str, recipe: &str, files: &[FilePart]) -> Vec<Value> {
    let response = upload(app, token, recipe, files).await;
    assert_eq!(response.status, Status::Ok, "{}", response.body);
    let json = response.json();
    assert!(json["errors"].is_null(), "{json}");
    json["data"]["uploadRecipeImages"].as_array().unwrap().clone()
}

pub fn codes(result: &Value) -> Vec<String> {
    result["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

pub fn rgb_image(width: u32, height: u32) -> image::DynamicImage {
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width.max(1)) as u8, (y * 255 / height.max(1)) as u8, 120])
    }))
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
    rgb_image(width, height).write_with_encoder(encoder).unwrap();
    out
}

/// Inserts a marker segment right after SOI.
pub fn with_segment(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// An EXIF block (big-endian TIFF) with an orientation, a description carrying `secret`, and a GPS IFD.
fn exif(orientation: u16, secret: &str) -> Vec<u8> {
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    let description = format!("{secret}\0");
    // IFD0 at 8: 3 entries (2 + 3*12 + 4 = 42 bytes) → data at 50; GPS IFD after the description.
    let description_at = 8 + 2 + 3 * 12 + 4;
    let gps_at = description_at + description.len();
    let entry = |tag: u16, ty: u16, count: u32, value: [u8; 4]| {
        let mut e = tag.to_be_bytes().to_vec();
        e.extend_from_slice(&ty.to_be_bytes());
        e.extend_from_slice(&count.to_be_bytes());
        e.extend_from_slice(&value);
        e
    };
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend(entry(
        0x010E,
        2,
        u32::try_from(description.len()).unwrap(),
        u32::try_from(description_at).unwrap().to_be_bytes(),
    ));
    let o = orientation.to_be_bytes();
    tiff.extend(entry(0x0112, 3, 1, [o[0], o[1], 0, 0]));
    tiff.extend(entry(0x8825, 4, 1, u32::try_from(gps_at).unwrap().to_be_bytes()));
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(description.as_bytes());
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend(entry(0x0001, 2, 2, *b"N\0\0\0"));
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    app1
}

pub fn png_rgba(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbaImage::from_fn(width, height, |x, _| image::Rgba([200, 40, 40, (x % 256) as u8]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(image)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    rgb_image(width, height)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn webp(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    rgb_image(width, height)
        .write_to(&mut out, image::ImageFormat::WebP)
        .unwrap();
    out.into_inner()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A valid PNG header announcing 50 000 × 50 000 RGBA pixels (10 GB decoded), with no pixel data.
fn png_bomb() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = 50_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                files_under(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

pub fn no_partial_files(app: &TestApp) {
    let partial: Vec<_> = files_under(&app.quarantine_dir())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".part") || p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(partial.is_empty(), "left behind: {partial:?}");
    let temp: Vec<_> = files_under(&app.media_dir())
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    assert!(temp.is_empty(), "left behind: {temp:?}");
}

/// A signed-in user with one recipe: (token, recipe id).
pub async fn cook(app: &TestApp, user: &str) -> (String, String) {
    let token = dev_token(user);
    let recipe = create_recipe(app, &token, &format!("{user}'s recipe")).await;
    (token, recipe)
}

/// An app without rate limits (the local client shares one user across many uploads).
pub async fn upload_app(extra: &[(&str, &str)]) -> TestApp {
    let mut overrides = vec![("rate_limit_enabled", "false")];
    overrides.extend_from_slice(extra);
    TestApp::spawn_with(&overrides).await
}

fn upload_log(app: &TestApp) -> Vec<Value> {
    std::fs::read_to_string(app.log_dir.join(homechef::media::UPLOAD_LOG))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn get_bytes(app: &TestApp, url: &str, headers: &[(&str, &str)]) -> (Status, Vec<(String, String)>, Vec<u8>) {
    let response = app.get_with(url, headers).await;
    (response.status, response.headers, response.bytes)
}

/// Runs the media chores now (antivirus retries, retention, file garbage) instead of waiting a minute.
pub async fn run_maintenance(app: &TestApp) {
    let maintenance = app.client.rocket().state::<std::sync::Arc<Maintenance>>().unwrap();
    assert_eq!(maintenance.run(false).await, Turn::Ran);
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn real_images_are_promoted_as_reencoded_copies_without_metadata() {
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "alice").await;
    // 400 × 200 stored sideways: EXIF orientation 6 means "rotate 90° clockwise to view".
    let photo = with_segment(&jpeg(400, 200), 0xE1, &exif(6, "HOMECHEF-GPS-SECRET"));
    let files = [
        part("pancakes.jpg", "image/jpeg", photo.clone()),
        part("sticker.png", "image/png", png_rgba(320, 160)),
        part("plate.webp", "image/webp", webp(64, 48)),
    ];
    let results = upload_results(&app, &token, &recipe, &files).await;
    assert_eq!(results.len(), 3);
    for result in &results {
        assert_eq!(result["status"], "PROMOTED", "{result}");
        assert!(result["score"].as_i64().unwrap() >= 70);
        assert!(result["image"]["blurhash"].as_str().is_some_and(|b| b.len() >= 6));
    }
    assert_eq!(codes(&results[0]), ["METADATA_STRIPPED"]);
    let photo_view = &results[0]["image"];
    assert_eq!(
        (photo_view["width"].as_i64(), photo_view["height"].as_i64()),
        (Some(200), Some(400)),
        "upright"
    );
    let sizes: Vec<(i64, i64)> = photo_view["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["width"].as_i64().unwrap(), v["height"].as_i64().unwrap()))
        .collect();
    assert_eq!(sizes, [(75, 150), (150, 300), (200, 400), (200, 400)]);

    for (result, content_type, magic) in [
        (&results[0], "image/jpeg", &b"\xFF\xD8\xFF"[..]),
        (&results[1], "image/png", &b"\x89PNG"[..]),
        (&results[2], "image/jpeg", &b"\xFF\xD8\xFF"[..]),
    ] {
        for variant in result["image"]["variants"].as_array().unwrap() {
            assert_eq!(variant["contentType"], content_type);
            let url = variant["url"].as_str().unwrap();
            assert!(url.contains("sig="), "a private recipe's images are signed: {url}");
            let (status, headers, bytes) = get_bytes(&app, url, &[]).await;
            assert_eq!(status, Status::Ok, "{url}");
            assert_eq!(header(&headers, "Content-Type"), Some(content_type));
            assert_eq!(header(&headers, "X-Content-Type-Options"), Some("nosniff"));
            assert_eq!(
                header(&headers, "Content-Security-Policy"),
                Some("default-src 'none'; sandbox")
            );
            assert!(header(&headers, "Cache-Control").is_some_and(|c| c.starts_with("private, max-age=")));
            assert!(header(&headers, "Content-Disposition")
                .is_some_and(|d| d.starts_with("inline; filename=\"") && !d.contains("pancakes")));
            assert!(bytes.starts_with(magic));
            assert!(
                !contains(&bytes, b"Exif") && !contains(&bytes, b"HOMECHEF-GPS-SECRET"),
                "metadata stripped"
            );
        }
    }

    let recipe_view = app
        .gql_as(
            &token,
            "query($id: UUID!) { recipe(id: $id) { images { id position } coverImage { id } } }",
            json!({ "id": recipe }),
        )
        .await;
    let ids: Vec<&Value> = results.iter().map(|r| &r["id"]).collect();
    let images = recipe_view["data"]["recipe"]["images"].as_array().unwrap();
    assert_eq!(images.iter().map(|i| &i["id"]).collect::<Vec<_>>(), ids);
    assert_eq!(recipe_view["data"]["recipe"]["coverImage"]["id"], *ids[0]);
    // The list loads images only when they are selected, through fragments too.
    let listed = app
        .gql_as(
            &token,
            "query { recipes { edges { node { ...Photos } } } } fragment Photos on Recipe { images { id } coverImage { id } }",
            json!({}),
        )
        .await;
    let node = &listed["data"]["recipes"]["edges"][0]["node"];
    assert_eq!(node["images"].as_array().map(Vec::len), Some(3), "{listed}");
    assert_eq!(node["coverImage"]["id"], *ids[0]);

    let log = upload_log(&app);
    assert_eq!(log.len(), 3);
    assert_eq!(log[0]["outcome"], "PROMOTED");
    assert_eq!(log[0]["sniffed_type"], "image/jpeg");
    assert_eq!(log[0]["size"], photo.len());
    assert_eq!(
        log[0]["sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&photo))
    );
    assert!(!std::fs::read_to_string(app.log_dir.join(homechef::media::UPLOAD_LOG))
        .unwrap()
        .contains("pancakes"));
    assert!(
        files_under(&app.quarantine_dir()).is_empty(),
        "promoted files leave quarantine"
    );
    no_partial_files(&app);
}

#[tokio::test]
async fn hostile_files_get_their_documented_outcomes_and_never_reach_the_media_store() {
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "mallory").await;
    let php = with_segment(&jpeg(64, 64), 0xFE, b"<?php system($_GET['c']); ?>");
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.resize(4096, 0);
    let mut trailing = jpeg(64, 64);
    trailing.extend_from_slice(b"PK\x03\x04 a zip archive glued after the image");
    let truncated = {
        let full = jpeg(256, 256);
        full[..full.len() / 2].to_vec()
    };
    let cases: Vec<(FilePart, &str, &[&str])> = vec![
        (part("php.jpg", "image/jpeg", php), "REJECTED", &["EMBEDDED_SCRIPT"]),
        (
            part(
                "page.jpg",
                "image/jpeg",
                b"<html><body><script>alert(1)</script></body></html>".to_vec(),
            ),
            "REJECTED",
            &["UNSUPPORTED_TYPE", "EMBEDDED_SCRIPT"],
        ),
        (
            part(
                "vector.jpg",
                "image/jpeg",
                br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#.to_vec(),
            ),
            "REJECTED",
            &["UNSUPPORTED_TYPE", "EMBEDDED_SCRIPT"],
        ),
        (part("tool.jpg", "image/jpeg", elf), "REJECTED", &["EXECUTABLE"]),
        (
            part("eicar.jpg", "image/jpeg", EICAR.to_vec()),
            "REJECTED",
            &["MALWARE_SIGNATURE"],
        ),
        (
            part("bomb.png", "image/png", png_bomb()),
            "REJECTED",
            &["DIMENSIONS_TOO_LARGE"],
        ),
        (part("cut.jpg", "image/jpeg", truncated), "REJECTED", &["TRUNCATED"]),
        (
            part("huge.jpg", "image/jpeg", vec![0xFF; 11 * 1024 * 1024]),
            "REJECTED",
            &["FILE_TOO_LARGE"],
        ),
        (
            part("../../etc/passwd.jpg", "image/jpeg", jpeg(64, 64)),
            "QUARANTINED",
            &["SUSPICIOUS_FILENAME"],
        ),
        (
            part("photo.png", "image/jpeg", png(64, 64)),
            "QUARANTINED",
            &["TYPE_MISMATCH"],
        ),
        (
            part("zip.jpg", "image/jpeg", trailing),
            "QUARANTINED",
            &["TRAILING_DATA"],
        ),
    ];
    let mut quarantined = 0;
    for (file, status, expected) in cases {
        let name = String::from_utf8_lossy(&file.filename).into_owned();
        let response = upload(&app, &token, &recipe, std::slice::from_ref(&file)).await;
        assert!(!response.body.contains("passwd"), "the raw file name is never echoed");
        let json = response.json();
        let result = &json["data"]["uploadRecipeImages"][0];
        assert_eq!(result["status"], status, "{name}: {json}");
        let found = codes(result);
        for code in expected {
            assert!(found.iter().any(|c| c == code), "{name}: {code} missing from {found:?}");
        }
        match status {
            "QUARANTINED" => {
                quarantined += 1;
                assert!(result["score"].as_i64().unwrap() < 70);
                let id = result["id"].as_str().unwrap();
                let mode = std::fs::metadata(app.quarantine_dir().join(id))
                    .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
                assert_eq!(mode.ok(), Some(0o600), "{name} is held in quarantine, private");
            }
            _ => assert_eq!(result["score"], 0, "{name}"),
        }
        assert!(result["image"].is_null());
        assert!(files_under(&app.media_dir()).is_empty(), "{name} reached MEDIA_DIR");
        no_partial_files(&app);
    }
    assert_eq!(files_under(&app.quarantine_dir()).len(), quarantined);
    assert_eq!(app.count("media", "status = 'REJECTED'").await, 8);
    let events = app.security_events();
    let rejected = events.iter().filter(|e| e["event_type"] == "upload_rejected").count();
    assert_eq!(rejected, 8);
    assert!(events
        .iter()
        .any(|e| e["event_type"] == "upload_quarantined" && e["details"]["findings"][0] == "SUSPICIOUS_FILENAME"));
    assert_eq!(upload_log(&app).len(), 11);
}

#[tokio::test]
async fn malformed_multipart_requests_are_refused_whole_and_leave_nothing_behind() {
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "bob").await;
    let six: Vec<FilePart> = (0..6)
        .map(|i| part(&format!("{i}.jpg"), "image/jpeg", jpeg(16, 16)))
        .collect();
    let response = upload(&app, &token, &recipe, &six).await;
    assert_eq!(response.status, Status::BadRequest, "{}", response.body);
    assert_eq!(error_code(&response.json()), "BAD_USER_INPUT");

    // A part the `map` does not announce.
    let file = part("a.jpg", "image/jpeg", jpeg(16, 16));
    let operations = json!({ "query": UPLOAD, "variables": { "r": recipe, "files": [null] } });
    let body = multipart_body(
        &operations,
        &json!({ "0": ["variables.files.0"] }),
        &[("0".into(), &file), ("extra".into(), &file)],
    );
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str()), ("GraphQL-Require-Preflight", "1")];
    let response = app.post_graphql_raw(multipart_type(), body, &headers).await;
    assert_eq!(response.status, Status::BadRequest);
    assert_eq!(error_code(&response.json()), "BAD_REQUEST");

    // A file named in `map` that never comes, and a map path that names no variable.
    let body = multipart_body(
        &operations,
        &json!({ "0": ["variables.files.0"], "1": ["variables.files.1"] }),
        &[("0".into(), &file)],
    );
    let response = app.post_graphql_raw(multipart_type(), body, &headers).await;
    assert_eq!(error_code(&response.json()), "BAD_REQUEST");
    let body = multipart_body(
        &operations,
        &json!({ "0": ["variables.nothing"] }),
        &[("0".into(), &file)],
    );
    let response = app.post_graphql_raw(multipart_type(), body, &headers).await;
    assert_eq!(error_code(&response.json()), "BAD_REQUEST");

    // A NUL byte in the file name breaks the part's header: the request is malformed.
    let nul = FilePart {
        filename: b"a\0.jpg".to_vec(),
        content_type: "image/jpeg".into(),
        bytes: jpeg(16, 16),
    };
    let response = upload(&app, &token, &recipe, &[nul]).await;
    assert_eq!(response.status, Status::BadRequest, "{}", response.body);
    assert_eq!(error_code(&response.json()), "BAD_REQUEST");

    // Someone else's recipe is not found, and the spooled file goes.
    let other = create_recipe(&app, &dev_token("carol"), "Carol's").await;
    let response = upload(&app, &token, &other, &[part("a.jpg", "image/jpeg", jpeg(16, 16))]).await;
    assert_eq!(error_code(&response.json()), "NOT_FOUND");

    // Upload variables without a multipart body.
    let json = app
        .gql_as(&token, UPLOAD, json!({ "r": recipe, "files": ["#__graphql_file__:0"] }))
        .await;
    assert!(json["errors"].is_array(), "{json}");

    assert_eq!(app.count("media", "true").await, 0);
    assert!(files_under(&app.quarantine_dir()).is_empty());
    assert!(files_under(&app.media_dir()).is_empty());
}

#[tokio::test]
async fn media_of_private_recipes_need_a_valid_signature_and_public_ones_do_not() {
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "dana").await;
    let results = upload_results(
        &app,
        &token,
        &recipe,
        &[part("bread.jpg", "image/jpeg", jpeg(300, 200))],
    )
    .await;
    let id = results[0]["id"].as_str().unwrap().to_owned();
    let signed = results[0]["image"]["variants"][1]["url"].as_str().unwrap().to_owned();
    assert!(signed.starts_with(&format!("/media/{id}/300?expires=")));

    let plain = format!("/media/{id}/300");
    assert_eq!(get_bytes(&app, &plain, &[]).await.0, Status::NotFound, "unsigned");
    let tampered = signed.replace("/300?", "/600?");
    assert_eq!(
        get_bytes(&app, &tampered, &[]).await.0,
        Status::NotFound,
        "signature bound to the variant"
    );
    let forged = format!("/media/{id}/300?expires=1000&sig=AAAA");
    assert_eq!(get_bytes(&app, &forged, &[]).await.0, Status::NotFound);
    // A URL we signed ten hours ago has expired: 403 with a clear message, not a silent 404.
    let signer = homechef::media::urls::UrlSigner::new(&crate::helpers::TEST_SECRET_KEY.to_owned().into(), None);
    let stale = signer.url(
        id.parse().unwrap(),
        "300",
        false,
        chrono::Utc::now().timestamp() - 36_000,
    );
    let expired = app.get(&stale).await;
    assert_eq!(expired.status, Status::Forbidden);
    assert!(expired.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
    assert_eq!(
        get_bytes(&app, &format!("/media/{id}/999"), &[]).await.0,
        Status::NotFound
    );
    assert_eq!(get_bytes(&app, "/media/not-a-uuid/300", &[]).await.0, Status::NotFound);

    let (status, headers, _) = get_bytes(&app, &signed, &[]).await;
    assert_eq!(status, Status::Ok);
    let etag = header(&headers, "ETag").unwrap().to_owned();
    let (status, _, body) = get_bytes(&app, &signed, &[("If-None-Match", &etag)]).await;
    assert_eq!((status, body.len()), (Status::NotModified, 0));
    // RFC 9110: weak comparison among several tags, and `*`; another tag is not held.
    for held in [format!("\"other\", W/{etag}"), "*".to_owned()] {
        let (status, _, body) = get_bytes(&app, &signed, &[("If-None-Match", &held)]).await;
        assert_eq!((status, body.len()), (Status::NotModified, 0), "{held}");
    }
    let (status, _, _) = get_bytes(&app, &signed, &[("If-None-Match", "\"other\"")]).await;
    assert_eq!(status, Status::Ok);

    app.gql_as(
        &token,
        "mutation($id: UUID!) { updateRecipe(id: $id, expectedVersion: 1, patch: { visibility: PUBLIC }) { version } }",
        json!({ "id": recipe }),
    )
    .await;
    let (status, headers, _) = get_bytes(&app, &plain, &[]).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(
        header(&headers, "Cache-Control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(header(&headers, "Cross-Origin-Resource-Policy"), Some("cross-origin"));
    let shared = app
        .gql(
            "query($id: UUID!) { publicRecipe(id: $id) { coverImage { variants { url } } } }",
            json!({ "id": recipe }),
        )
        .await;
    assert_eq!(
        shared["data"]["publicRecipe"]["coverImage"]["variants"][0]["url"],
        format!("/media/{id}/150")
    );
}

#[tokio::test]
async fn images_can_be_reordered_given_a_cover_and_deleted_with_their_files() {
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "erin").await;
    let files: Vec<FilePart> = (0..3)
        .map(|i| part(&format!("{i}.jpg"), "image/jpeg", jpeg(1300 + i * 10, 20)))
        .collect();
    let results = upload_results(&app, &token, &recipe, &files).await;
    let ids: Vec<String> = results.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();

    let reversed: Vec<&String> = ids.iter().rev().collect();
    let reordered = app
        .gql_as(
            &token,
            "mutation($r: UUID!, $ids: [UUID!]!) { reorderRecipeImages(recipeId: $r, imageIds: $ids) { id position } }",
            json!({ "r": recipe, "ids": reversed }),
        )
        .await;
    let order: Vec<&str> = reordered["data"]["reorderRecipeImages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, reversed.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    let partial = app
        .gql_as(
            &token,
            "mutation($r: UUID!, $ids: [UUID!]!) { reorderRecipeImages(recipeId: $r, imageIds: $ids) { id } }",
            json!({ "r": recipe, "ids": [ids[0]] }),
        )
        .await;
    assert_eq!(error_code(&partial), "BAD_USER_INPUT");

    let cover = app
        .gql_as(
            &token,
            "mutation($r: UUID!, $i: UUID!) { setRecipeCoverImage(recipeId: $r, imageId: $i) { id isCover } }",
            json!({ "r": recipe, "i": ids[1] }),
        )
        .await;
    assert_eq!(cover["data"]["setRecipeCoverImage"]["isCover"], true);
    let view = app
        .gql_as(
            &token,
            "query($id: UUID!) { recipe(id: $id) { coverImage { id } } }",
            json!({ "id": recipe }),
        )
        .await;
    assert_eq!(view["data"]["recipe"]["coverImage"]["id"], ids[1].as_str());

    // Someone else cannot touch them.
    let intruder = dev_token("frank");
    let denied = app
        .gql_as(
            &intruder,
            "mutation($i: UUID!) { deleteRecipeImage(id: $i) }",
            json!({ "i": ids[0] }),
        )
        .await;
    assert_eq!(error_code(&denied), "NOT_FOUND");

    let files_before = files_under(&app.media_dir()).len();
    assert_eq!(files_before, 12, "over 1200 px: four distinct variants each");
    let deleted = app
        .gql_as(
            &token,
            "mutation($i: UUID!) { deleteRecipeImage(id: $i) }",
            json!({ "i": ids[0] }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteRecipeImage"], true);
    assert_eq!(
        files_under(&app.media_dir()).len(),
        8,
        "the image's four variants are removed"
    );

    app.gql_as(
        &token,
        "mutation($id: UUID!) { deleteRecipe(id: $id) }",
        json!({ "id": recipe }),
    )
    .await;
    assert!(
        files_under(&app.media_dir()).is_empty(),
        "deleting the recipe removes its images' files"
    );
    assert_eq!(app.count("media_garbage", "true").await, 0);
}

#[tokio::test]
async fn racing_cover_changes_all_succeed_and_leave_one_cover() {
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "omar").await;
    let files: Vec<FilePart> = (0..4)
        .map(|i| part(&format!("{i}.jpg"), "image/jpeg", jpeg(16, 16)))
        .collect();
    let ids: Vec<String> = upload_results(&app, &token, &recipe, &files)
        .await
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let set_cover = "mutation($r: UUID!, $i: UUID!) { setRecipeCoverImage(recipeId: $r, imageId: $i) { id } }";
    let requests = (0..12).map(|n| app.gql_as(&token, set_cover, json!({ "r": recipe, "i": ids[n % 4] })));
    for answer in rocket::futures::future::join_all(requests).await {
        assert!(answer["errors"].is_null(), "{answer}");
    }
    assert_eq!(app.count("media", "is_cover").await, 1);
}

#[tokio::test]
async fn a_database_failure_after_the_files_are_written_leaves_no_file_and_no_sql_text() {
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "quinn").await;
    let mut conn = app.db_conn().await;
    for statement in [
        "create function refuse_media() returns trigger as $$ begin raise exception 'refused by test trigger'; end; $$ language plpgsql",
        "create trigger refuse_media before insert on media for each row execute function refuse_media()",
    ] {
        diesel_async::RunQueryDsl::execute(diesel::sql_query(statement), &mut conn)
            .await
            .unwrap();
    }
    let response = upload(&app, &token, &recipe, &[part("a.jpg", "image/jpeg", jpeg(300, 200))]).await;
    let json = response.json();
    assert_eq!(error_code(&json), "INTERNAL", "{json}");
    assert!(!response.body.contains("refused by test trigger") && !response.body.contains("insert"));
    assert!(
        files_under(&app.media_dir()).is_empty(),
        "variants written for the lost row are removed"
    );
    no_partial_files(&app);
    assert_eq!(app.count("media_garbage", "true").await, 0);
}

#[tokio::test]
async fn identical_variants_share_one_file_until_the_last_image_goes() {
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "gina").await;
    let photo = jpeg(120, 80);
    let results = upload_results(
        &app,
        &token,
        &recipe,
        &[
            part("a.jpg", "image/jpeg", photo.clone()),
            part("b.jpg", "image/jpeg", photo),
        ],
    )
    .await;
    // A 120 px image has one distinct re-encoding (every variant above 150 px is the same file).
    let stored = files_under(&app.media_dir()).len();
    assert_eq!(stored, 1);
    let first = results[0]["id"].as_str().unwrap();
    app.gql_as(
        &token,
        "mutation($i: UUID!) { deleteRecipeImage(id: $i) }",
        json!({ "i": first }),
    )
    .await;
    assert_eq!(files_under(&app.media_dir()).len(), 1, "still used by the second image");
    let url = results[1]["image"]["variants"][0]["url"].as_str().unwrap();
    assert_eq!(get_bytes(&app, url, &[]).await.0, Status::Ok);
}

#[tokio::test]
async fn deleting_the_account_removes_its_images_and_files() {
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "leo").await;
    upload_results(
        &app,
        &token,
        &recipe,
        &[
            part("a.jpg", "image/jpeg", jpeg(200, 100)),
            part("b.png", "image/jpeg", png(16, 16)),
        ],
    )
    .await;
    assert!(!files_under(&app.media_dir()).is_empty());
    assert_eq!(files_under(&app.quarantine_dir()).len(), 1);
    let deleted = app.gql_as(&token, "mutation { deleteAccount }", json!({})).await;
    assert_eq!(deleted["data"]["deleteAccount"], true, "{deleted}");
    assert_eq!(app.count("media", "true").await, 0);
    assert!(files_under(&app.media_dir()).is_empty());
    assert!(files_under(&app.quarantine_dir()).is_empty());
}

#[tokio::test]
async fn admins_review_the_quarantine_and_others_are_refused() {
    let app = upload_app(&[("admin_user_ids", "dev_admin")]).await;
    let (token, recipe) = cook(&app, "henry").await;
    let held = upload_results(
        &app,
        &token,
        &recipe,
        &[
            part("../a.jpg", "image/jpeg", jpeg(64, 48)),
            part("b.png", "image/jpeg", png(32, 32)),
        ],
    )
    .await;
    assert!(held.iter().all(|r| r["status"] == "QUARANTINED"));
    // The owner sees what is held and why; nobody else does, even on a shared recipe.
    let held_query = "query($id: UUID!) { recipe(id: $id) { heldImages { id score findings { code } } } }";
    let mine = app.gql_as(&token, held_query, json!({ "id": recipe })).await;
    let mine = mine["data"]["recipe"]["heldImages"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0]["findings"][0]["code"], "SUSPICIOUS_FILENAME");
    app.gql_as(
        &token,
        "mutation($id: UUID!) { updateRecipe(id: $id, expectedVersion: 1, patch: { visibility: PUBLIC }) { version } }",
        json!({ "id": recipe }),
    )
    .await;
    let shared = "query($id: UUID!) { publicRecipe(id: $id) { heldImages { id } } }";
    let theirs = app
        .gql_as(&dev_token("stranger"), shared, json!({ "id": recipe }))
        .await;
    assert_eq!(theirs["data"]["publicRecipe"]["heldImages"], json!([]), "{theirs}");
    let anonymous = app.gql(shared, json!({ "id": recipe })).await;
    assert_eq!(anonymous["data"]["publicRecipe"]["heldImages"], json!([]));
    let list = "{ quarantinedImages { id score scanPending findings { code } sniffedType sha256 } }";
    let refused = app.gql_as(&token, list, json!({})).await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    assert!(app.security_events().iter().any(|e| e["event_type"] == "access_denied"));

    let admin = dev_token("admin");
    let listed = app.gql_as(&admin, list, json!({})).await;
    let rows = listed["data"]["quarantinedImages"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{listed}");
    assert_eq!(rows[0]["findings"][0]["code"], "SUSPICIOUS_FILENAME");

    let first = held[0]["id"].as_str().unwrap();
    let released = app
        .gql_as(
            &admin,
            "mutation($i: UUID!) { releaseQuarantinedImage(id: $i) { status score } }",
            json!({ "i": first }),
        )
        .await;
    assert_eq!(
        released["data"]["releaseQuarantinedImage"]["status"], "PROMOTED",
        "{released}"
    );
    assert!(app
        .security_events()
        .iter()
        .any(|e| e["event_type"] == "quarantine_released" && e["details"]["outcome"] == "PROMOTED"));
    assert!(!app.quarantine_dir().join(first).exists());
    assert_eq!(
        files_under(&app.media_dir()).len(),
        1,
        "64 px: all four variants are one file"
    );

    // A promoted image is no longer the review's business.
    for mutation in [
        "mutation($i: UUID!) { deleteQuarantinedImage(id: $i) }",
        "mutation($i: UUID!) { releaseQuarantinedImage(id: $i) { status } }",
    ] {
        let refused = app.gql_as(&admin, mutation, json!({ "i": first })).await;
        assert_eq!(error_code(&refused), "NOT_FOUND", "{refused}");
    }
    let second = held[1]["id"].as_str().unwrap();
    let deleted = app
        .gql_as(
            &admin,
            "mutation($i: UUID!) { deleteQuarantinedImage(id: $i) }",
            json!({ "i": second }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteQuarantinedImage"], true);
    assert!(files_under(&app.quarantine_dir()).is_empty());
    let view = app
        .gql_as(
            &token,
            "query($id: UUID!) { recipe(id: $id) { images { id } } }",
            json!({ "id": recipe }),
        )
        .await;
    assert_eq!(view["data"]["recipe"]["images"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn retention_purges_old_quarantined_files() {
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "ivan").await;
    let held = upload_results(&app, &token, &recipe, &[part("x.png", "image/jpeg", png(16, 16))]).await;
    let id = held[0]["id"].as_str().unwrap();
    assert!(app.quarantine_dir().join(id).exists());
    let mut conn = app.db_conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("update media set created_at = now() - interval '31 days'"),
        &mut conn,
    )
    .await
    .unwrap();
    run_maintenance(&app).await;
    assert_eq!(app.count("media", "true").await, 0);
    assert!(!app.quarantine_dir().join(id).exists());
}

#[tokio::test]
async fn quotas_refuse_the_request_with_a_clear_error() {
    let app = upload_app(&[("upload_daily_file_limit", "2"), ("upload_quota_bytes", "5000")]).await;
    let (token, recipe) = cook(&app, "judy").await;
    let three: Vec<FilePart> = (0..3)
        .map(|i| part(&format!("{i}.jpg"), "image/jpeg", jpeg(16, 16)))
        .collect();
    let json = upload(&app, &token, &recipe, &three).await.json();
    assert_eq!(error_code(&json), "QUOTA_EXCEEDED", "{json}");
    assert!(json["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("daily upload limit"));
    let big = part("big.jpg", "image/jpeg", jpeg(1000, 1000));
    assert!(big.bytes.len() > 5000);
    let json = upload(&app, &token, &recipe, &[big]).await.json();
    assert_eq!(error_code(&json), "QUOTA_EXCEEDED");
    assert_eq!(app.count("media", "true").await, 0);
    no_partial_files(&app);
}

#[tokio::test]
async fn a_recipe_holds_at_most_thirty_images() {
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "nina").await;
    for _ in 0..6 {
        let five: Vec<FilePart> = (0..5)
            .map(|i| part(&format!("{i}.jpg"), "image/jpeg", jpeg(16, 16)))
            .collect();
        let results = upload_results(&app, &token, &recipe, &five).await;
        assert!(results.iter().all(|r| r["status"] == "PROMOTED"));
    }
    let json = upload(&app, &token, &recipe, &[part("31.jpg", "image/jpeg", jpeg(16, 16))])
        .await
        .json();
    assert_eq!(error_code(&json), "QUOTA_EXCEEDED");
    assert!(json["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("at most 30 images"));
    let other = create_recipe(&app, &token, "Another").await;
    let results = upload_results(&app, &token, &other, &[part("a.jpg", "image/jpeg", jpeg(16, 16))]).await;
    assert_eq!(results[0]["status"], "PROMOTED", "the cap is per recipe");
}

#[tokio::test]
async fn uploads_are_rate_limited_per_user() {
    let app = TestApp::spawn().await;
    let (token, recipe) = cook(&app, "kim").await;
    for _ in 0..3 {
        let response = upload(&app, &token, &recipe, &[part("a.jpg", "image/jpeg", jpeg(16, 16))]).await;
        assert_eq!(response.status, Status::Ok, "{}", response.body);
    }
    let response = upload(&app, &token, &recipe, &[part("a.jpg", "image/jpeg", jpeg(16, 16))]).await;
    assert_eq!(response.status, Status::TooManyRequests);
    assert!(response
        .header("Retry-After")
        .is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    no_partial_files(&app);
    assert!(app
        .security_events()
        .iter()
        .any(|e| e["event_type"] == "rate_limited" && e["details"]["class"] == "uploads"));
}

fn backdate(path: &Path) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
}

#[tokio::test]
async fn files_no_row_accounts_for_are_swept_and_the_rest_kept() {
    let app = upload_app(&[]).await;
    let (token, recipe) = cook(&app, "rita").await;
    let results = upload_results(
        &app,
        &token,
        &recipe,
        &[
            part("a.jpg", "image/jpeg", jpeg(64, 64)),
            part("held.png", "image/jpeg", png(16, 16)),
        ],
    )
    .await;
    let held = app.quarantine_dir().join(results[1]["id"].as_str().unwrap());
    let kept_variant = files_under(&app.media_dir()).pop().unwrap();
    let orphan_variant = app.media_dir().join("ab").join("ab12cd.jpg");
    let orphan_quarantined = app.quarantine_dir().join(uuid::Uuid::new_v4().to_string());
    let fresh_orphan = app.media_dir().join("ab").join("ab34ef.jpg");
    std::fs::create_dir_all(app.media_dir().join("ab")).unwrap();
    for path in [&orphan_variant, &orphan_quarantined, &fresh_orphan] {
        std::fs::write(path, b"left by a crash").unwrap();
    }
    for path in [&held, &kept_variant, &orphan_variant, &orphan_quarantined] {
        backdate(path);
    }
    let rocket = app.client.rocket();
    let media = rocket.state::<std::sync::Arc<homechef::media::MediaService>>().unwrap();
    let queued = media
        .sweep_orphans(rocket.state::<homechef::db::DbPool>().unwrap())
        .await;
    assert_eq!(queued, 2);
    assert!(!orphan_variant.exists() && !orphan_quarantined.exists());
    assert!(held.exists() && kept_variant.exists(), "files rows refer to are kept");
    assert!(fresh_orphan.exists(), "young files may belong to work in flight");
}

#[tokio::test]
async fn stale_partial_uploads_are_swept_at_start_up() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sweep-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let stale = dir.join("0192.part");
    let fresh = dir.join("0193.part");
    std::fs::write(&stale, b"half an upload").unwrap();
    std::fs::write(&fresh, b"in flight elsewhere").unwrap();
    let file = std::fs::File::options().write(true).open(&stale).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    let _app = TestApp::spawn_with(&[("quarantine_dir", dir.to_str().unwrap())]).await;
    assert!(!stale.exists());
    assert!(fresh.exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// Five requests of one user at once: the daily count, the per-recipe cap and the byte quota hold
/// exactly (each request is decided after the ones before it are stored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_hold_exactly_under_concurrent_requests() {
    let app = std::sync::Arc::new(upload_app(&[("upload_daily_file_limit", "4")]).await);
    let (token, recipe) = cook(&app, "racer").await;
    let send = |app: std::sync::Arc<TestApp>, token: String, recipe: String, n: usize| async move {
        let files: Vec<FilePart> = (0..n)
            .map(|i| part(&format!("{i}.jpg"), "image/jpeg", jpeg(16, 16)))
            .collect();
        upload(&app, &token, &recipe, &files).await
    };
    let requests: Vec<_> = (0..5)
        .map(|_| tokio::spawn(send(app.clone(), token.clone(), recipe.clone(), 2)))
        .collect();
    let mut accepted = 0;
    for request in requests {
        let json = request.await.unwrap().json();
        if json["errors"].is_null() {
            accepted += 1;
        } else {
            assert_eq!(error_code(&json), "QUOTA_EXCEEDED", "{json}");
        }
    }
    assert_eq!(accepted, 2);
    assert_eq!(app.count("media", "true").await, 4, "daily limit of 4 files");

    // The per-recipe cap: 28 images, then five requests of 2 at once: exactly one fits.
    let app = std::sync::Arc::new(upload_app(&[]).await);
    let (token, recipe) = cook(&app, "crowd").await;
    for _ in 0..7 {
        let four: Vec<FilePart> = (0..4)
            .map(|i| part(&format!("{i}.jpg"), "image/jpeg", jpeg(16, 16)))
            .collect();
        upload_results(&app, &token, &recipe, &four).await;
    }
    let requests: Vec<_> = (0..5)
        .map(|_| tokio::spawn(send(app.clone(), token.clone(), recipe.clone(), 2)))
        .collect();
    for request in requests {
        request.await.unwrap();
    }
    assert_eq!(
        app.count("media", "status <> 'REJECTED'").await,
        30,
        "at most 30 images on a recipe"
    );

    // The byte quota: room for two small files, five requests of one file at once.
    let size = part("x.jpg", "image/jpeg", jpeg(16, 16)).bytes.len();
    let quota = (size * 2 + size / 2).to_string();
    let app = std::sync::Arc::new(upload_app(&[("upload_quota_bytes", &quota)]).await);
    let (token, recipe) = cook(&app, "hoarder").await;
    let requests: Vec<_> = (0..5)
        .map(|_| tokio::spawn(send(app.clone(), token.clone(), recipe.clone(), 1)))
        .collect();
    for request in requests {
        request.await.unwrap();
    }
    assert_eq!(app.count("media", "status <> 'REJECTED'").await, 2, "byte quota");
}

/// With `PUBLIC_BASE_URL`, media URLs are absolute (a frontend on another origin uses them as they are);
/// the image `coverImage` shows is the one `isCover` marks, chosen or not.
#[tokio::test]
async fn media_urls_are_absolute_on_the_public_base_url_and_the_cover_is_marked() {
    let app = upload_app(&[("public_base_url", "https://api.homechef.example/")]).await;
    let (token, recipe) = cook(&app, "olivia").await;
    let two = [
        part("a.jpg", "image/jpeg", jpeg(32, 32)),
        part("b.jpg", "image/jpeg", jpeg(32, 32)),
    ];
    upload_results(&app, &token, &recipe, &two).await;
    let query = "query($id: UUID!) { recipe(id: $id) {
        coverImage { id isCover variants { url } } images { id isCover variants { url } } } }";
    let view = app.gql_as(&token, query, json!({ "id": recipe })).await;
    let recipe_view = &view["data"]["recipe"];
    let url = recipe_view["images"][0]["variants"][0]["url"].as_str().unwrap();
    assert!(url.starts_with("https://api.homechef.example/media/"), "{url}");
    let cover = &recipe_view["coverImage"];
    assert_eq!(cover["isCover"], true, "the fallback cover says so: {view}");
    let marked: Vec<_> = recipe_view["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["isCover"] == true)
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(marked, vec![cover["id"].clone()], "exactly the cover is marked");
}

/// A small tmpfs of the test's own (needs root, as CI runs; elsewhere the test says so and passes), unmounted
/// with the value.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(bytes: u64) -> Option<Self> {
        let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
            status
                .lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        });
        if !root {
            assert!(
                std::env::var("CI").is_err(),
                "the full-disk tests mount a tmpfs: CI runs them as root"
            );
            eprintln!("full-disk test skipped: mounting a tmpfs needs root");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("homechef-full-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes},mode=0700"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(mounted, "mount -t tmpfs failed");
        Some(Self(dir))
    }

    /// Fills the file system to the last byte with `filler`.
    fn fill(&self) -> PathBuf {
        use std::io::Write as _;
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        while file.write_all(&[7; 4096]).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A full disk, for the quarantine (while the body is read) or for the promoted variants (while the
/// operation runs), is `STORAGE_FULL`: 507 with `Retry-After`, one `storage_full` event per episode, `/health`
/// degraded while it lasts; nothing half-stored, and uploads work again once there is room.
#[tokio::test]
async fn a_full_disk_is_storage_full_and_uploads_resume_when_there_is_room() {
    let Some(disk) = Tmpfs::mount(2 * 1024 * 1024) else {
        return;
    };
    for area in ["quarantine_dir", "media_dir"] {
        let dir = disk.0.join(area);
        let app = TestApp::spawn_with(&[(area, dir.to_str().unwrap())]).await;
        let (token, recipe) = cook(&app, &format!("full-{area}")).await;
        let filler = disk.fill();
        for _ in 0..2 {
            let refused = upload(&app, &token, &recipe, &[part("a.jpg", "image/jpeg", jpeg(300, 200))]).await;
            assert_eq!(refused.status.code, 507, "{area}: {}", refused.body);
            assert_eq!(refused.header("Retry-After"), Some("60"), "{area}");
            assert_eq!(error_code(&refused.json()), "STORAGE_FULL", "{area}: {}", refused.body);
        }
        let health = app.get("/health").await.json();
        assert_eq!(
            (health["status"].as_str(), health["storage"].as_str()),
            (Some("degraded"), Some("down")),
            "{area}: {health}"
        );
        let events: Vec<Value> = app
            .security_events()
            .into_iter()
            .filter(|e| e["event_type"] == "storage_full")
            .collect();
        assert_eq!(events.len(), 1, "{area}: one event per episode: {events:?}");
        assert_eq!(app.count("media", "true").await, 0, "{area}: nothing half-stored");
        // Reads go on: the recipe is there.
        let read = app
            .gql_as(
                &token,
                "query($id: UUID!) { recipe(id: $id) { id } }",
                json!({ "id": recipe }),
            )
            .await;
        assert_eq!(read["data"]["recipe"]["id"], recipe.as_str());

        std::fs::remove_file(filler).unwrap();
        let health = app.get("/health").await.json();
        assert_eq!(health["storage"], "up", "{area}: {health}");
        let results = upload_results(&app, &token, &recipe, &[part("a.jpg", "image/jpeg", jpeg(300, 200))]).await;
        assert_eq!(results[0]["status"], "PROMOTED", "{area}: {results:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
