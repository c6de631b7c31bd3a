//! A recipe out of a web page: schema.org `Recipe` in JSON-LD (`@graph`, arrays, `@type` lists,
//! `HowToSection`/`HowToStep`, ISO 8601 durations, yields and images in every shape sites use), then
//! microdata, then OpenGraph's title, description and image as a last resort. Text from the page is plain
//! text: tags stripped, entities decoded, whitespace collapsed. Pure functions over the page's text.

use std::collections::HashMap;

use scraper::{ElementRef, Html, Selector};
use serde_json::Value;

/// Where the draft came from, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    JsonLd,
    Microdata,
    OpenGraph,
    Text,
}

/// What a page or a text says about a recipe, before anything is saved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Draft {
    pub title: Option<String>,
    pub description: Option<String>,
    pub prep_minutes: Option<i32>,
    pub cook_minutes: Option<i32>,
    pub total_minutes: Option<i32>,
    /// Decimal text ("4").
    pub servings: Option<String>,
    pub yield_text: Option<String>,
    /// Ingredient lines as written.
    pub ingredients: Vec<String>,
    /// (section, text).
    pub steps: Vec<(Option<String>, String)>,
    /// Absolute http(s) URLs, page order, no repeats.
    pub images: Vec<String>,
}

/// Lines and steps kept from one page: a page with more is not a recipe a cook would import whole.
const MAX_PARTS: usize = 200;
const MAX_IMAGES: usize = 10;

fn selector(css: &str) -> Option<Selector> {
    Selector::parse(css).ok()
}

/// Plain text of an HTML fragment or of text with entities: tags stripped with what scripts, styles and
/// templates hold, entities decoded, one space. Text that is still markup once decoded (`&lt;b&gt;`, as
/// sites that escape twice write it) is stripped once more.
pub fn plain(text: &str) -> String {
    let mut text = text.to_owned();
    for _ in 0..2 {
        if !text.contains(['<', '&']) {
            break;
        }
        let fragment = Html::parse_fragment(&text);
        text = fragment
            .root_element()
            .descendants()
            .filter_map(|node| node.value().as_text().map(|t| (node, t)))
            .filter(|(node, _)| {
                !node.ancestors().filter_map(ElementRef::wrap).any(|e| {
                    matches!(
                        e.value().name(),
                        "script" | "style" | "template" | "noscript" | "iframe"
                    )
                })
            })
            .map(|(_, t)| &**t)
            .collect();
        if !text.contains('<') {
            break;
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// `PT1H30M`, `P0DT0H45M`, `PT90M`, `P1D` as minutes.
pub fn iso_minutes(text: &str) -> Option<i32> {
    let rest = text.trim().strip_prefix(['P', 'p'])?;
    let (date, time) = rest.split_once(['T', 't']).unwrap_or((rest, ""));
    let mut minutes = 0f64;
    let mut read = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == ',' {
                number.push(if c == ',' { '.' } else { c });
                continue;
            }
            let factor = units.iter().find(|(u, _)| u.eq_ignore_ascii_case(&c))?.1;
            minutes += number.parse::<f64>().ok()? * factor;
            number.clear();
        }
        number.is_empty().then_some(())
    };
    read(
        date,
        &[('Y', 525_600.0), ('M', 43_200.0), ('W', 10_080.0), ('D', 1_440.0)],
    )?;
    read(time, &[('H', 60.0), ('M', 1.0), ('S', 1.0 / 60.0)])?;
    (minutes.is_finite() && minutes <= 525_600.0).then(|| minutes.round() as i32)
}

/// The first number in a yield ("4", "Serves 4-6", "12 cookies") as servings, and the text.
fn yields(value: &Value) -> (Option<String>, Option<String>) {
    let (text, counted) = match value {
        Value::Number(n) => (n.to_string(), None),
        Value::String(s) => (plain(s), None),
        Value::Array(items) => {
            // ["10", "1 loaf (10 slices)"]: the text is the most descriptive, the servings the bare number.
            let texts: Vec<String> = items.iter().filter_map(|v| texts(v).into_iter().next()).collect();
            let bare = texts.iter().find(|t| t.parse::<f64>().is_ok_and(|n| n > 0.0)).cloned();
            (texts.into_iter().max_by_key(String::len).unwrap_or_default(), bare)
        }
        _ => (String::new(), None),
    };
    if counted.is_some() {
        return (counted, non_empty(text));
    }
    let number: String = text
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|t| !t.is_empty() && t.parse::<f64>().is_ok_and(|n| n > 0.0))
        .unwrap_or_default()
        .to_owned();
    (non_empty(number), non_empty(text))
}

/// Strings of a value: a string, numbers, or each string of a list.
fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => non_empty(plain(s)).into_iter().collect(),
        Value::Number(n) => vec![n.to_string()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        _ => Vec::new(),
    }
}

/// Whether a node's `@type` (a name, an IRI such as `http://schema.org/Recipe`, or a list) is `wanted`, in
/// any case (`"recipe"` is seen in the wild).
fn has_type(node: &Value, wanted: &str) -> bool {
    let is = |t: &Value| {
        t.as_str()
            .and_then(|t| t.rsplit('/').next())
            .is_some_and(|t| t.eq_ignore_ascii_case(wanted))
    };
    match node.get("@type") {
        Some(Value::Array(types)) => types.iter().any(is),
        Some(t) => is(t),
        None => false,
    }
}

/// The nodes of a JSON-LD document by `@id` (top level, lists and `@graph`), for references such as Yoast's
/// `"image": {"@id": "…#primaryimage"}`.
fn nodes_by_id(value: &Value) -> HashMap<&str, &Value> {
    let mut ids = HashMap::new();
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                if let Some(id) = map.get("@id").and_then(Value::as_str) {
                    ids.entry(id).or_insert(value);
                }
                if let Some(graph) = map.get("@graph") {
                    pending.push(graph);
                }
            }
            _ => {}
        }
    }
    ids
}

/// The first `Recipe` node anywhere in a JSON-LD value (top level, lists, `@graph`, `mainEntity`, and the
/// `item` of a list's entries, as recipe carousels mark them).
fn find_recipe(value: &Value, depth: usize) -> Option<&Value> {
    if depth > 8 {
        return None;
    }
    match value {
        Value::Array(items) => items.iter().find_map(|v| find_recipe(v, depth + 1)),
        Value::Object(map) if has_type(value, "Recipe") => Some(value).filter(|_| !map.is_empty()),
        Value::Object(map) => ["@graph", "mainEntity", "mainEntityOfPage", "itemListElement", "item"]
            .iter()
            .filter_map(|key| map.get(*key))
            .find_map(|v| find_recipe(v, depth + 1)),
        _ => None,
    }
}

/// Steps of `recipeInstructions`: a string (one step per line), strings, `HowToStep`s (text, else name),
/// `HowToSection`s of steps (the section's name kept).
fn steps(value: &Value, section: Option<&str>, out: &mut Vec<(Option<String>, String)>) {
    match value {
        Value::String(s) => {
            let text = if s.contains('<') {
                html_lines(s)
            } else {
                s.lines().map(plain).collect()
            };
            out.extend(
                text.into_iter()
                    .filter(|t| !t.is_empty())
                    .map(|t| (section.map(str::to_owned), t)),
            );
        }
        Value::Array(items) => items.iter().for_each(|v| steps(v, section, out)),
        Value::Object(map) if has_type(value, "HowToSection") => {
            let name = map.get("name").and_then(Value::as_str).map(plain);
            if let Some(items) = map.get("itemListElement") {
                steps(items, name.as_deref().or(section), out);
            }
        }
        Value::Object(map) => {
            let text = map
                .get("text")
                .or_else(|| map.get("name"))
                .or_else(|| map.get("description"));
            if let Some(text) = text {
                steps(text, section, out);
            } else if let Some(items) = map.get("itemListElement") {
                steps(items, section, out);
            }
        }
        _ => {}
    }
}

/// The list items of an HTML string, else its paragraphs, else its text.
fn html_lines(html: &str) -> Vec<String> {
    let fragment = Html::parse_fragment(html);
    for css in ["li", "p"] {
        let blocks: Vec<String> = selector(css)
            .map(|s| {
                fragment
                    .select(&s)
                    .map(|e| plain(&e.text().collect::<String>()))
                    .collect()
            })
            .unwrap_or_default();
        if blocks.iter().any(|b| !b.is_empty()) {
            return blocks;
        }
    }
    vec![plain(html)]
}

/// Image addresses: strings, lists, `ImageObject`s (`url`, else `contentUrl`), and references by `@id` to an
/// `ImageObject` elsewhere in the document (an `@id` that names no node is an address unless it is a
/// fragment such as `#primaryimage`).
fn image_urls(value: &Value, ids: &HashMap<&str, &Value>, out: &mut Vec<String>) {
    let direct = |map: &serde_json::Map<String, Value>| map.get("url").or_else(|| map.get("contentUrl")).cloned();
    match value {
        Value::String(s) => out.push(s.trim().to_owned()),
        Value::Array(items) => items.iter().for_each(|v| image_urls(v, ids, out)),
        Value::Object(map) => {
            if let Some(url) = direct(map) {
                image_urls(&url, ids, out);
            } else if let Some(id) = map.get("@id").and_then(Value::as_str) {
                match ids.get(id).and_then(|node| node.as_object()).and_then(direct) {
                    // Strings only: a reference never leads to another reference.
                    Some(Value::String(url)) => out.push(url.trim().to_owned()),
                    Some(_) => {}
                    None if !id.contains('#') => out.push(id.trim().to_owned()),
                    None => {}
                }
            }
        }
        _ => {}
    }
}

fn from_json_ld(node: &Value, ids: &HashMap<&str, &Value>, base: Option<&str>) -> Draft {
    let text = |key: &str| node.get(key).and_then(|v| texts(v).into_iter().next());
    let minutes = |key: &str| node.get(key).and_then(Value::as_str).and_then(iso_minutes);
    let (servings, yield_text) = node.get("recipeYield").map(yields).unwrap_or_default();
    let mut instructions = Vec::new();
    if let Some(value) = node.get("recipeInstructions") {
        steps(value, None, &mut instructions);
    }
    let mut images = Vec::new();
    if let Some(value) = node.get("image") {
        image_urls(value, ids, &mut images);
    }
    let ingredients = node
        .get("recipeIngredient")
        .or_else(|| node.get("ingredients"))
        .map(texts)
        .unwrap_or_default();
    Draft {
        title: text("name").or_else(|| text("headline")),
        description: text("description"),
        prep_minutes: minutes("prepTime"),
        cook_minutes: minutes("cookTime"),
        total_minutes: minutes("totalTime"),
        servings,
        yield_text,
        ingredients,
        steps: instructions,
        images: absolute(images, base),
    }
}

/// Whether `element` is a property of `scope` itself, not of an item nested in it (an author's `name`, a
/// review's `name`, a step's `text`).
fn in_scope(element: &ElementRef<'_>, scope: &ElementRef<'_>) -> bool {
    element
        .ancestors()
        .filter_map(ElementRef::wrap)
        .find(|a| a.value().attr("itemscope").is_some())
        .is_some_and(|owner| owner.id() == scope.id())
}

/// The itemprop values of a microdata scope's own properties: `content`, `datetime`, `src`, `href`, else the
/// text.
fn itemprops(scope: ElementRef<'_>, names: &str) -> Vec<String> {
    let Some(s) = selector(names) else {
        return Vec::new();
    };
    scope
        .select(&s)
        .filter(|e| in_scope(e, &scope))
        .map(|e| {
            let attr = ["content", "datetime", "src", "href"]
                .iter()
                .find_map(|a| e.value().attr(a));
            attr.map_or_else(|| plain(&e.text().collect::<Vec<_>>().join(" ")), plain)
        })
        .filter(|t| !t.is_empty())
        .collect()
}

fn from_microdata(scope: ElementRef<'_>, base: Option<&str>) -> Draft {
    let first = |names: &str| itemprops(scope, names).into_iter().next();
    let minutes = |name: &str| first(&format!("[itemprop={name}]")).as_deref().and_then(iso_minutes);
    let (servings, yield_text) = first("[itemprop=recipeYield]")
        .map(|y| yields(&Value::String(y)))
        .unwrap_or_default();
    let instructions: Vec<(Option<String>, String)> = selector("[itemprop=recipeInstructions]")
        .map(|s| {
            scope
                .select(&s)
                .filter(|e| in_scope(e, &scope))
                .flat_map(|e| html_lines(&e.inner_html()))
                .filter(|t| !t.is_empty())
                .map(|t| (None, t))
                .collect()
        })
        .unwrap_or_default();
    Draft {
        title: first("[itemprop=name]"),
        description: first("[itemprop=description]"),
        prep_minutes: minutes("prepTime"),
        cook_minutes: minutes("cookTime"),
        total_minutes: minutes("totalTime"),
        servings,
        yield_text,
        ingredients: itemprops(scope, "[itemprop=recipeIngredient], [itemprop=ingredients]"),
        steps: instructions,
        images: absolute(itemprops(scope, "[itemprop=image]"), base),
    }
}

fn meta(page: &Html, property: &str) -> Option<String> {
    let s = selector(&format!("meta[property=\"{property}\"], meta[name=\"{property}\"]"))?;
    page.select(&s)
        .find_map(|e| e.value().attr("content"))
        .map(plain)
        .and_then(non_empty)
}

/// `url` made absolute against the page's `base` (http and https only; anything else is dropped).
pub fn resolve(url: &str, base: Option<&str>) -> Option<String> {
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

fn absolute(urls: Vec<String>, base: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for url in urls.iter().filter_map(|u| resolve(u, base)) {
        if out.len() < MAX_IMAGES && !out.contains(&url) && url.len() <= 2048 {
            out.push(url);
        }
    }
    out
}

fn bounded(mut draft: Draft) -> Draft {
    draft.ingredients.truncate(MAX_PARTS);
    draft.steps.truncate(MAX_PARTS);
    draft
}

/// A JSON-LD block as sites write it: also after a byte-order mark, inside `<!-- -->` or
/// `//<![CDATA[ … //]]>`, and with raw line breaks or tabs inside its strings (invalid JSON that browsers'
/// readers accept).
fn json_ld(text: &str) -> Option<Value> {
    let mut text = text.trim().trim_start_matches('\u{feff}').trim_start();
    for (open, close) in [("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("<![CDATA[", "]]>")] {
        if let Some(inner) = text.strip_prefix(open) {
            text = inner.trim_end().strip_suffix(close).unwrap_or(inner).trim();
        }
    }
    serde_json::from_str(text)
        .ok()
        .or_else(|| serde_json::from_str(&escape_raw_controls(text)).ok())
}

/// Control characters inside JSON strings escaped (a raw line break stays a line break), so that a block
/// that is valid but for them reads as its author meant.
fn escape_raw_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' if in_string => out.push_str(match c {
                '\n' => "\\n",
                '\r' => "\\r",
                _ => "\\t",
            }),
            c if c.is_control() && in_string => out.push(' '),
            c => {
                out.push(c);
                if in_string && !escaped && c == '"' {
                    in_string = false;
                } else if !in_string && c == '"' {
                    in_string = true;
                }
                escaped = in_string && !escaped && c == '\\';
                continue;
            }
        }
        escaped = false;
    }
    out
}

/// The recipe a page describes, from its best source, with `base` (the page's address) resolving relative
/// image addresses. `None` when the page says nothing about a recipe, not even an OpenGraph title.
pub fn from_html(html: &str, base: Option<&str>) -> Option<(Draft, Found)> {
    let page = Html::parse_document(html);
    let scripts = selector("script[type=\"application/ld+json\"]")?;
    for script in page.select(&scripts) {
        // Broken JSON-LD is common (trailing commas, stray HTML): skip that block, try the next source.
        let Some(value) = json_ld(&script.text().collect::<String>()) else {
            continue;
        };
        if let Some(node) = find_recipe(&value, 0) {
            let mut draft = from_json_ld(node, &nodes_by_id(&value), base);
            if draft.images.is_empty() {
                draft.images = absolute(meta(&page, "og:image").into_iter().collect(), base);
            }
            return Some((bounded(draft), Found::JsonLd));
        }
    }
    let scopes = selector("[itemscope][itemtype*=\"schema.org/Recipe\"]")?;
    if let Some(scope) = page.select(&scopes).next() {
        return Some((bounded(from_microdata(scope, base)), Found::Microdata));
    }
    let title = meta(&page, "og:title")?;
    Some((
        Draft {
            title: Some(title),
            description: meta(&page, "og:description"),
            images: absolute(meta(&page, "og:image").into_iter().collect(), base),
            ..Draft::default()
        },
        Found::OpenGraph,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_become_minutes() {
        assert_eq!(iso_minutes("PT1H30M"), Some(90));
        assert_eq!(iso_minutes("PT90M"), Some(90));
        assert_eq!(iso_minutes("P0DT0H45M"), Some(45));
        assert_eq!(iso_minutes("P1D"), Some(1440));
        assert_eq!(iso_minutes("PT0.5H"), Some(30));
        assert_eq!(iso_minutes("PT45S"), Some(1));
        assert_eq!(iso_minutes("45 minutes"), None);
        assert_eq!(iso_minutes("PT1X"), None);
        assert_eq!(iso_minutes("P9999999Y"), None);
        assert_eq!(iso_minutes(""), None);
    }

    #[test]
    fn yields_in_every_shape() {
        assert_eq!(yields(&serde_json::json!(4)), (Some("4".into()), Some("4".into())));
        assert_eq!(
            yields(&serde_json::json!("Serves 4-6")),
            (Some("4".into()), Some("Serves 4-6".into()))
        );
        assert_eq!(
            yields(&serde_json::json!(["4", "4 servings"])),
            (Some("4".into()), Some("4 servings".into()))
        );
        assert_eq!(yields(&serde_json::json!("a few")), (None, Some("a few".into())));
        assert_eq!(
            yields(&serde_json::json!(["10", "1 loaf (10 slices)"])),
            (Some("10".into()), Some("1 loaf (10 slices)".into()))
        );
    }

    #[test]
    fn json_ld_as_sites_write_it() {
        let raw = "//<![CDATA[\n{\"name\": \"Dal\", \"steps\": \"Rinse.\nSimmer \\\"gently\\\".\tServe.\"}\n//]]>";
        let value = json_ld(raw).unwrap_or_default();
        assert_eq!(value["steps"], "Rinse.\nSimmer \"gently\".\tServe.");
        assert_eq!(json_ld("<!-- {\"a\": 1} -->").unwrap_or_default()["a"], 1);
        assert_eq!(json_ld("{\"a\": \"x\\\\\"}").unwrap_or_default()["a"], "x\\");
        assert_eq!(json_ld("{\"a\": 1,}"), None);
        assert_eq!(
            json_ld("\u{1}{\"a\": \"\u{1}\"}"),
            None,
            "a control outside strings is still broken"
        );
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
    }

    #[test]
    fn text_from_pages_is_plain() {
        assert_eq!(plain("Mac &amp; cheese <b>deluxe</b>\n&nbsp; "), "Mac & cheese deluxe");
        assert_eq!(
            plain("<script>alert(1)</script>Tea"),
            "Tea",
            "what a script holds is not text"
        );
        assert_eq!(plain("<style>b{}</style><noscript>on</noscript>Jam"), "Jam");
        assert_eq!(plain("Crisp &lt;b&gt;edges&lt;/b&gt;"), "Crisp edges", "escaped twice");
        assert_eq!(
            plain("&amp;lt;b&amp;gt;"),
            "&lt;b&gt;",
            "decoded once when that is not markup"
        );
        assert_eq!(plain("cook < 5 minutes & serve"), "cook < 5 minutes & serve");
        assert_eq!(plain("it&#39;s"), "it's");
    }
}
