//! A recipe out of a web page: schema.org `Recipe` in JSON-LD (`@graph`, arrays, `@type` lists,
//! `HowToSection`/`HowToStep`, ISO 8601 durations, yields and images in every shape sites use), then
//! microdata, then OpenGraph's title, description and image as a last resort. Text from the page is plain
//! text: tags stripped, entities decoded, whitespace collapsed. Pure functions over what the bounded reader
//! ([`super::page`]) kept of the page; pictures are ranked in [`super::pictures`], pages without structured data
//! read in [`super::outline`].

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;

use super::draft::{non_empty, Draft, Found, MAX_PARTS};
use super::html::{broken, collapse, items, plain, render};
use super::outline::from_outline;
use super::page::{self, Deadline, Page};
use super::pictures::{image_urls, meta_pictures, ranked, Picture};

/// JSON-LD blocks larger than this, or with more values than that, are skipped: a recipe's block is a few
/// kilobytes and a few hundred values (a plugin's graph with reviews a few thousand), while a parsed value
/// takes many times the bytes of its text (`{},` is 3 bytes and a 32-byte value, more while its list grows).
const MAX_JSON_LD_BYTES: usize = 1024 * 1024;
const MAX_JSON_LD_VALUES: usize = 50_000;

/// The characters of a JSON text, each with whether it stands inside a string (after its opening quote,
/// before its closing one; escapes followed), for the repairs and checks made before parsing.
fn json_chars(text: &str) -> impl Iterator<Item = (usize, char, bool)> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    text.char_indices().map(move |(at, c)| {
        let inside = in_string;
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        (at, c, inside)
    })
}

/// Whether a JSON text holds at most `max` values, counted without parsing: every `{`, `[`, `:` and `,`
/// outside strings starts one.
fn few_values(text: &str, max: usize) -> bool {
    json_chars(text)
        .filter(|(_, c, inside)| !inside && matches!(c, '{' | '[' | ':' | ','))
        .nth(max)
        .is_none()
}

/// `PT1H30M`, `P0DT0H45M0S`, `PT90M`, `P1D` as minutes; a unit without its number counts none (`PTH5M`, as
/// some sites write it, is 5 minutes). Zero is unknown: sites write `PT0M` for a time they do not know.
/// Hand-read rather than by a strict ISO 8601 crate, which would refuse the forms sites get wrong.
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
            if !number.is_empty() {
                minutes += number.parse::<f64>().ok()? * factor;
            }
            number.clear();
        }
        number.is_empty().then_some(())
    };
    read(
        date,
        &[('Y', 525_600.0), ('M', 43_200.0), ('W', 10_080.0), ('D', 1_440.0)],
    )?;
    read(time, &[('H', 60.0), ('M', 1.0), ('S', 1.0 / 60.0)])?;
    (minutes.is_finite() && minutes <= 525_600.0 && minutes.round() >= 1.0).then(|| minutes.round() as i32)
}

/// A duration as JSON-LD gives it: a string, or a `Duration` node with its `@value`.
fn duration(value: &Value) -> Option<i32> {
    match value {
        Value::String(text) => iso_minutes(text),
        Value::Object(map) => map.get("@value").or_else(|| map.get("value")).and_then(duration),
        Value::Array(items) => items.iter().find_map(duration),
        _ => None,
    }
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
    items(&render(html, usize::MAX))
}

/// The draft a JSON-LD `Recipe` node holds, and its pictures (ranked with the page's later).
fn from_json_ld(node: &Value, ids: &HashMap<&str, &Value>) -> (Draft, Vec<Picture>) {
    let text = |key: &str| node.get(key).and_then(|v| texts(v).into_iter().next());
    let minutes = |key: &str| node.get(key).and_then(duration);
    let (servings, yield_text) = node.get("recipeYield").map(yields).unwrap_or_default();
    let mut instructions = Vec::new();
    if let Some(value) = node.get("recipeInstructions") {
        steps(value, None, &mut instructions);
    }
    let mut pictures = Vec::new();
    if let Some(value) = node.get("image") {
        image_urls(value, ids, &mut pictures);
    }
    let ingredients = node
        .get("recipeIngredient")
        .or_else(|| node.get("ingredients"))
        .map(texts)
        .unwrap_or_default();
    let draft = Draft {
        title: text("name").or_else(|| text("headline")),
        description: text("description"),
        prep_minutes: minutes("prepTime"),
        cook_minutes: minutes("cookTime"),
        total_minutes: minutes("totalTime"),
        servings,
        yield_text,
        ingredients,
        steps: instructions,
        images: Vec::new(),
    };
    (draft, pictures)
}

/// The draft a microdata `Recipe` scope holds, and its pictures.
fn from_microdata(page: &Page<'_>) -> (Draft, Vec<Picture>) {
    let values = |name: &'static str| page.props.iter().filter(move |p| p.is(name));
    let first = |name: &'static str| values(name).map(|p| collapse(&p.value)).find(|t| !t.is_empty());
    let minutes = |name: &'static str| first(name).as_deref().and_then(iso_minutes);
    let (servings, yield_text) = first("recipeYield")
        .map(|y| yields(&Value::String(y)))
        .unwrap_or_default();
    // One element per ingredient, or one for all of them with a line each (`<br>`, list items).
    let ingredients = page
        .props
        .iter()
        .filter(|p| p.is("recipeIngredient") || p.is("ingredients"))
        .flat_map(|p| broken(&p.value))
        .collect();
    let steps = values("recipeInstructions")
        .flat_map(|p| items(&p.value))
        .map(|t| (None, t))
        .collect();
    let pictures = values("image")
        .map(|p| Picture {
            url: if p.address {
                p.value.trim().to_owned()
            } else {
                collapse(&p.value)
            },
            area: None,
            own: true,
        })
        .collect();
    let draft = Draft {
        title: first("name"),
        description: first("description"),
        prep_minutes: minutes("prepTime"),
        cook_minutes: minutes("cookTime"),
        total_minutes: minutes("totalTime"),
        servings,
        yield_text,
        ingredients,
        steps,
        images: Vec::new(),
    };
    (draft, pictures)
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
    serde_json::from_str(text).ok().or_else(|| {
        let escaped = escape_raw_controls(text);
        serde_json::from_str(&escaped)
            .ok()
            .or_else(|| serde_json::from_str(&without_trailing_commas(&escaped)).ok())
    })
}

/// Commas before a closing `]` or `}` (outside strings) dropped: JavaScript allows them, sites write them,
/// and other readers (recipe-scrapers' extruct) accept them.
fn without_trailing_commas(text: &str) -> String {
    json_chars(text)
        .filter(|(at, c, inside)| {
            let trailing = || matches!(text[at + 1..].trim_start().chars().next(), Some(']' | '}'));
            *inside || *c != ',' || !trailing()
        })
        .map(|(_, c, _)| c)
        .collect()
}

/// Control characters inside JSON strings escaped (a raw line break stays a line break), so that a block
/// that is valid but for them reads as its author meant.
fn escape_raw_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (_, c, inside) in json_chars(text) {
        match c {
            '\n' if inside => out.push_str("\\n"),
            '\r' if inside => out.push_str("\\r"),
            '\t' if inside => out.push_str("\\t"),
            c if c.is_control() && inside => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The recipe a page describes, from its best source, with `base` (the page's address) resolving relative
/// image addresses. `None` when the page says nothing about a recipe, not even an OpenGraph title;
/// [`Deadline`] when reading took longer than `deadline`. Memory is bounded by what [`page::read`] keeps.
pub fn from_html(html: &str, base: Option<&str>, deadline: Instant) -> Result<Option<(Draft, Found)>, Deadline> {
    let page = page::read(html, deadline)?;
    // The recipe's own pictures and the page's share pictures, ranked together.
    let pictured = |(mut draft, mut pictures): (Draft, Vec<Picture>)| {
        pictures.extend(meta_pictures(&page));
        draft.images = ranked(pictures, base);
        bounded(draft)
    };
    for block in &page.json_ld {
        if Instant::now() > deadline {
            return Err(Deadline);
        }
        // Broken JSON-LD is common (trailing commas, stray HTML): skip that block, try the next source.
        let small = block.len() <= MAX_JSON_LD_BYTES && few_values(block, MAX_JSON_LD_VALUES);
        let Some(value) = small.then(|| json_ld(block)).flatten() else {
            continue;
        };
        if let Some(node) = find_recipe(&value, 0) {
            let found = from_json_ld(node, &nodes_by_id(&value));
            return Ok(Some((pictured(found), Found::JsonLd)));
        }
    }
    if page.microdata {
        return Ok(Some((pictured(from_microdata(&page)), Found::Microdata)));
    }
    let meta = |key: &str| page.meta(key).map(plain).and_then(non_empty);
    if let Some(mut draft) = from_outline(&page) {
        draft.title = meta("og:title")
            .or(draft.title)
            .or_else(|| page.title.clone().and_then(non_empty));
        draft.description = meta("og:description").or_else(|| meta("description"));
        return Ok(Some((pictured((draft, Vec::new())), Found::Outline)));
    }
    let Some(title) = meta("og:title") else {
        return Ok(None);
    };
    Ok(Some((
        Draft {
            title: Some(title),
            description: meta("og:description"),
            images: ranked(meta_pictures(&page), base),
            ..Draft::default()
        },
        Found::OpenGraph,
    )))
}

#[cfg(test)]
mod tests;
