//! The import extractor on pages, as `importRecipeFromUrl` reads them after fetching.
//! - `extract_page PAGE URL [ROUNDS]` (for `scripts/bench-import.sh`): parses the page `ROUNDS` times and
//!   prints milliseconds per page and what was found.
//! - `extract_page --json PAGE…` (for `scripts/eval-import.sh`): one JSON line per page with the draft's
//!   fields, or `{"page": …, "error": …}`.

use std::time::{Duration, Instant};

use homechef::imports::extract::from_html;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--json") {
        for path in args.skip(1) {
            println!("{}", draft_json(&path));
        }
        return Ok(());
    }
    let usage = || anyhow::anyhow!("usage: extract_page PAGE URL [ROUNDS] | extract_page --json PAGE…");
    let page = std::fs::read_to_string(args.next().ok_or_else(usage)?)?;
    let url = args.next().ok_or_else(usage)?;
    let rounds: u32 = args.next().map_or(Ok(20), |r| r.parse())?;
    let mut found = None;
    let started = Instant::now();
    for _ in 0..rounds {
        found = from_html(&page, Some(&url), Instant::now() + Duration::from_secs(60))?;
    }
    let per_page = started.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds.max(1));
    let (draft, source) = found.ok_or_else(|| anyhow::anyhow!("no recipe found"))?;
    println!(
        "homechef: {per_page:.1} ms per page ({} bytes, {source:?}: \"{}\", {} ingredients, {} steps)",
        page.len(),
        draft.title.unwrap_or_default(),
        draft.ingredients.len(),
        draft.steps.len()
    );
    Ok(())
}

/// The draft of the page at `path` (read as `importRecipeFromHtml` reads an uploaded page) as JSON.
fn draft_json(path: &str) -> serde_json::Value {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return serde_json::json!({ "page": path, "error": e.to_string() }),
    };
    let html = String::from_utf8_lossy(&bytes);
    match from_html(
        &html,
        Some("https://page.example/recipe/"),
        Instant::now() + Duration::from_secs(60),
    ) {
        Ok(Some((draft, found))) => {
            let total = draft.total();
            serde_json::json!({
                "page": path,
                "found": format!("{found:?}"),
                "title": draft.title,
                "ingredients": draft.ingredients,
                "steps": draft.steps.into_iter().map(|(_, text)| text).collect::<Vec<_>>(),
                "total_minutes": total,
                "servings": draft.servings,
                "yield": draft.yield_text,
                "images": draft.images,
            })
        }
        Ok(None) => serde_json::json!({ "page": path, "error": "no recipe data" }),
        Err(e) => serde_json::json!({ "page": path, "error": e.to_string() }),
    }
}
