//! Times the import extractor on one page for `scripts/bench-import.sh`: parses it `ROUNDS` times as
//! `importRecipeFromUrl` would after fetching it, and prints milliseconds per page and what was found.
//! `cargo run --release --example extract_page -- PAGE URL [ROUNDS]`.

use std::time::{Duration, Instant};

use homechef::imports::extract::from_html;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = || anyhow::anyhow!("usage: extract_page PAGE URL [ROUNDS]");
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
