//! The pictures a page offers for a recipe, best first: the recipe's own (JSON-LD `image`, microdata) and the
//! page's share pictures (`og:image`, `twitter:image`), with the sizes the markup or the addresses give, made
//! absolute and checked like any address `importRecipeImage` fetches.

use std::collections::HashMap;

use serde_json::Value;

use super::guard::address;
use super::html::plain;
use super::page::Page;

/// Pictures kept for one draft.
const MAX_IMAGES: usize = 10;

/// A picture a page offers, before ranking: the recipe's own (`own`) or the page's share picture, with the
/// area its markup gives (`ImageObject` or `og:image` width × height) when it gives one.
pub(super) struct Picture {
    pub url: String,
    pub area: Option<u64>,
    pub own: bool,
}

/// A size in markup: a number, or text starting with one ("1200", "1200px").
fn dimension(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok(),
        _ => None,
    }
}

/// Image addresses: strings, lists, `ImageObject`s (`url`, else `contentUrl`, with `width`/`height`), and
/// references by `@id` to an `ImageObject` elsewhere in the document (an `@id` that names no node is an
/// address unless it is a fragment such as `#primaryimage`).
pub(super) fn image_urls(value: &Value, ids: &HashMap<&str, &Value>, out: &mut Vec<Picture>) {
    let area =
        |map: &serde_json::Map<String, Value>| Some(dimension(map.get("width"))? * dimension(map.get("height"))?);
    let direct = |map: &serde_json::Map<String, Value>| map.get("url").or_else(|| map.get("contentUrl")).cloned();
    let picture = |url: &str, area: Option<u64>| Picture {
        url: url.trim().to_owned(),
        area,
        own: true,
    };
    match value {
        Value::String(s) => out.push(picture(s, None)),
        Value::Array(items) => items.iter().for_each(|v| image_urls(v, ids, out)),
        Value::Object(map) => {
            if let Some(url) = direct(map) {
                let before = out.len();
                image_urls(&url, ids, out);
                if let Some(area) = area(map) {
                    out[before..].iter_mut().for_each(|p| p.area = Some(area));
                }
            } else if let Some(id) = map.get("@id").and_then(Value::as_str) {
                let node = ids.get(id).and_then(|node| node.as_object());
                match node.and_then(direct) {
                    // Strings only: a reference never leads to another reference.
                    Some(Value::String(url)) => out.push(picture(&url, node.and_then(area))),
                    Some(_) => {}
                    None if !id.contains('#') => out.push(picture(id, None)),
                    None => {}
                }
            }
        }
        _ => {}
    }
}

/// The page's share pictures (`og:image` and its `:url`/`:secure_url` forms, `twitter:image`), with the
/// `og:image:width` and `og:image:height` that follow one.
pub(super) fn meta_pictures(page: &Page<'_>) -> Vec<Picture> {
    let mut out: Vec<Picture> = Vec::new();
    let (mut width, mut height) = (None, None);
    for (key, value) in &page.meta {
        let number = || value.trim().parse::<u64>().ok();
        match key.as_str() {
            "og:image" | "og:image:url" | "og:image:secure_url" | "twitter:image" | "twitter:image:src" => {
                (width, height) = (None, None);
                out.push(Picture {
                    url: plain(value),
                    area: None,
                    own: false,
                });
            }
            "og:image:width" => width = number(),
            "og:image:height" => height = number(),
            _ => continue,
        }
        if let (Some(last), Some(w), Some(h)) = (out.last_mut(), width, height) {
            last.area = Some(w * h);
        }
    }
    out
}

/// Addresses that are a site's furniture, not a dish: icons and logos.
fn furniture(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or_default().to_ascii_lowercase();
    [
        "favicon",
        "apple-touch-icon",
        "logo",
        "/icon",
        "-icon",
        "_icon",
        "icon.",
    ]
    .iter()
    .any(|w| path.contains(w))
}

/// The pictures best first, as addresses `importRecipeImage` fetches (see [`absolute`]): the largest known
/// area first (from the markup, else from the address: [`named_area`]), then the recipe's own before the
/// share picture, https before http, page order; icons and logos last. Each address once, with what is known
/// of it from all its mentions.
pub(super) fn ranked(pictures: Vec<Picture>, base: Option<&str>) -> Vec<String> {
    let mut merged: Vec<Picture> = Vec::new();
    // Where each address stands in `merged`: a page may list thousands of pictures.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for mut picture in pictures {
        let Some(url) = resolve(&picture.url, base).map(|u| percent_encoded(&u)) else {
            continue;
        };
        if address(&url).is_err() {
            continue;
        }
        picture.area = picture.area.or_else(|| named_area(&url));
        match seen.get(&url) {
            Some(&at) => {
                let known = &mut merged[at];
                known.own |= picture.own;
                known.area = known.area.max(picture.area);
            }
            None => {
                seen.insert(url.clone(), merged.len());
                merged.push(Picture { url, ..picture });
            }
        }
    }
    // A stable sort keeps page order among equals; each key is computed once.
    merged.sort_by_cached_key(|p| {
        std::cmp::Reverse((
            !furniture(&p.url),
            p.area.unwrap_or(0),
            p.own,
            p.url.starts_with("https://"),
        ))
    });
    merged.into_iter().take(MAX_IMAGES).map(|p| p.url).collect()
}

/// The area an image address names, as sites and image CDNs write sizes into addresses: the last
/// `WIDTHxHEIGHT` in it (`dal-225x225.jpg`, `/400x400cq70/`, `crop-960x720/`, `=/640x427/`), else `width=`
/// and `height=` in its query. Sizes under 50 are aspect ratios (`-4x3`, `_16x9`), not sizes.
fn named_area(url: &str) -> Option<u64> {
    let bytes = url.as_bytes();
    let number_at = |mut i: usize| {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() && i - start < 5 {
            i += 1;
        }
        let value = url[start..i].parse::<u64>().ok();
        (value, i)
    };
    let mut found = None;
    for (at, _) in url.match_indices('x') {
        let digits_before = url[..at].bytes().rev().take_while(u8::is_ascii_digit).count();
        if digits_before == 0 || digits_before > 4 || !url[at + 1..].starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let w = url[at - digits_before..at].parse::<u64>().ok();
        let (h, end) = number_at(at + 1);
        let bounded = url.as_bytes().get(end).is_none_or(|b| !b.is_ascii_digit());
        if let (Some(w), Some(h), true) = (w, h, bounded) {
            if w >= 50 && h >= 50 {
                found = Some(w * h);
            }
        }
    }
    found.or_else(|| {
        let query = url.split_once('?')?.1;
        let param = |names: &[&str]| {
            query.split('&').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                names.contains(&key).then(|| value.parse::<u64>().ok()).flatten()
            })
        };
        Some(param(&["width", "w"])? * param(&["height", "h"])?).filter(|area| *area >= 2_500)
    })
}

/// `url` made absolute against the page's `base` (http and https only; anything else is dropped).
fn resolve(url: &str, base: Option<&str>) -> Option<String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Some(url.to_owned());
    }
    let base = base?;
    let (scheme, rest) = base.split_once("://")?;
    let host_end = rest.find('/').unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..host_end]);
    if let Some(path) = url.strip_prefix("//") {
        return Some(format!("{scheme}://{path}"));
    }
    if url.starts_with('/') {
        return Some(format!("{origin}{url}"));
    }
    if url.is_empty() || url.contains(':') {
        return None;
    }
    let path = &rest[host_end..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    Some(format!("{origin}{dir}{url}"))
}

/// Non-ASCII characters as percent-encoded UTF-8 (`käse.jpg` is `k%C3%A4se.jpg`), as browsers send them.
fn percent_encoded(url: &str) -> String {
    if url.is_ascii() {
        return url.to_owned();
    }
    let mut out = String::with_capacity(url.len() + 16);
    for c in url.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pictures(list: &[(&str, Option<u64>, bool)]) -> Vec<Picture> {
        list.iter()
            .map(|(url, area, own)| Picture {
                url: (*url).to_owned(),
                area: *area,
                own: *own,
            })
            .collect()
    }

    #[test]
    fn the_largest_known_picture_comes_first() {
        let base = Some("https://cook.example/dal/");
        let names = |list: &[(&str, Option<u64>, bool)]| ranked(pictures(list), base);
        assert_eq!(
            names(&[
                ("/dal-225x225.jpg", None, true),
                ("/dal-1x1.jpg", None, true),
                ("/dal-1200x800.jpg", None, true)
            ]),
            [
                "https://cook.example/dal-1200x800.jpg",
                "https://cook.example/dal-225x225.jpg",
                "https://cook.example/dal-1x1.jpg"
            ],
            "sizes named in addresses; -1x1 is an aspect ratio"
        );
        assert_eq!(
            names(&[
                ("/dal.jpg", None, true),
                ("/share.jpg", Some(1200 * 630), false),
                ("/logo.png", Some(1 << 30), true)
            ]),
            [
                "https://cook.example/share.jpg",
                "https://cook.example/dal.jpg",
                "https://cook.example/logo.png"
            ],
            "a known size over an unknown one; logos last"
        );
        assert_eq!(
            names(&[("/a.jpg", None, false), ("/b.jpg", None, true), ("/a.jpg", None, true)]),
            ["https://cook.example/a.jpg", "https://cook.example/b.jpg"],
            "each address once, own when any mention is"
        );
        for (url, area) in [
            ("https://cdn.example/r/400x400cq70/photo.jpg", Some(160_000)),
            ("https://cdn.example/r/crop-960x720/p.jpg", Some(691_200)),
            ("https://img.example/a.jpg?mode=crop&width=300&height=200", Some(60_000)),
            (
                "https://img.example/thmb/x=/640x427/filters:fill(auto,1)/b.jpg",
                Some(273_280),
            ),
            ("https://img.example/food_16x9_448/b.jpg", None),
            ("https://img.example/b.jpg", None),
        ] {
            assert_eq!(named_area(url), area, "{url}");
        }
    }

    #[test]
    fn relative_addresses_resolve_against_the_page() {
        let base = Some("https://cook.example/recipes/soup.html?x=1");
        assert_eq!(
            resolve("/img/a.jpg", base).as_deref(),
            Some("https://cook.example/img/a.jpg")
        );
        assert_eq!(
            resolve("b.jpg", base).as_deref(),
            Some("https://cook.example/recipes/b.jpg")
        );
        assert_eq!(
            resolve("//cdn.example/c.jpg", base).as_deref(),
            Some("https://cdn.example/c.jpg")
        );
        assert_eq!(
            resolve("HTTP://x.example/d.jpg", None).as_deref(),
            Some("HTTP://x.example/d.jpg")
        );
        assert_eq!(resolve("javascript:alert(1)", base), None);
        assert_eq!(resolve("data:image/png;base64,AAAA", base), None);
        assert_eq!(resolve("e.jpg", None), None);
        assert_eq!(
            ranked(
                pictures(&[
                    ("/käse.jpg", None, true),
                    ("http://a\"onerror=\"alert(1)/x.jpg", None, true),
                    ("http://x:99999/y.jpg", None, true)
                ]),
                base
            ),
            ["https://cook.example/k%C3%A4se.jpg"]
        );
    }
}
