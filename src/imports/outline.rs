//! A draft from a page without structured data: the lines under its "Ingredients" and "Method" headings (or
//! their names in the languages the ingredient parser reads), from the outline the page reader kept.

use super::draft::{non_empty, Draft, MAX_PARTS};
use super::html::{broken, collapse};
use super::page::{Block, Page};

/// How an ingredients heading and a method heading start, in the languages of the ingredient parser.
pub(super) const INGREDIENT_HEADINGS: &[&str] = &[
    "ingredient",
    "you will need",
    "you'll need",
    "what you need",
    "zutaten",
    "ingrédients",
    "ingredientes",
    "ingredienti",
    "ingrediënten",
    "ingredienser",
    "ingredienserne",
    "malzemeler",
];
pub(super) const METHOD_HEADINGS: &[&str] = &[
    "method",
    "instruction",
    "direction",
    "steps",
    "preparation",
    "how to make",
    "zubereitung",
    "anleitung",
    "préparation",
    "étapes",
    "preparación",
    "elaboración",
    "instrucciones",
    "preparazione",
    "procedimento",
    "bereiding",
    "werkwijze",
    "modo de preparo",
    "modo de preparação",
    "fremgangsmåde",
    "tilberedning",
    "gör så här",
    "tillagning",
    "yapılışı",
    "hazırlanışı",
];

/// The heading rank of an outline block: `h1`–`h6` by level; a short paragraph or item that names a part
/// ("<p><strong>Ingredients:</strong></p>") ranks below every real heading.
fn rank(block: &Block, words: &[&str]) -> Option<u8> {
    let text = collapse(&block.text).to_lowercase();
    let text = text.trim_end_matches([':', ' ']);
    let named = words.iter().any(|w| text.starts_with(w)) && text.split_whitespace().count() <= 5;
    match block.heading {
        Some(level) => Some(level).filter(|_| named || words.is_empty()),
        None => Some(7).filter(|_| named),
    }
}

/// The lines under the first heading named by `words` that has any (a table of contents names the parts
/// too), up to the next heading of the same or a higher rank or a heading of the other part: its list items,
/// else its paragraphs' lines.
fn under(outline: &[Block], words: &[&str], other: &[&str]) -> Vec<String> {
    // Each block's ranks, once: every heading of the part looks at the blocks after it.
    let ranks: Vec<(Option<u8>, bool, Option<u8>)> = outline
        .iter()
        .map(|b| (rank(b, words), rank(b, other).is_some(), rank(b, &[])))
        .collect();
    let headings = ranks
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.0.map(|level| (i, level)));
    for (at, level) in headings {
        let part: Vec<&Block> = outline[at + 1..]
            .iter()
            .zip(&ranks[at + 1..])
            .take_while(|(_, (_, of_other, any))| !of_other && any.is_none_or(|r| r > level))
            .map(|(b, _)| b)
            .filter(|b| b.heading.is_none())
            .collect();
        let items: Vec<String> = part
            .iter()
            .filter(|b| b.list_item)
            .map(|b| collapse(&b.text))
            .filter(|l| !l.is_empty())
            .collect();
        let lines: Vec<String> = if items.is_empty() {
            part.iter().flat_map(|b| broken(&b.text)).collect()
        } else {
            items
        };
        if !lines.is_empty() {
            return lines.into_iter().take(MAX_PARTS).collect();
        }
    }
    Vec::new()
}

/// A draft from a page without structured data: the lines under its "Ingredients" heading and under its
/// "Method" heading (or their translations), titled by its first `h1`. `None` without ingredients.
pub(super) fn from_outline(page: &Page<'_>) -> Option<Draft> {
    let ingredients = under(&page.outline, INGREDIENT_HEADINGS, METHOD_HEADINGS);
    if ingredients.is_empty() {
        return None;
    }
    let steps = under(&page.outline, METHOD_HEADINGS, INGREDIENT_HEADINGS);
    let title = page
        .outline
        .iter()
        .find(|b| b.heading == Some(1))
        .map(|b| collapse(&b.text))
        .and_then(non_empty);
    Some(Draft {
        title,
        ingredients,
        steps: steps.into_iter().map(|s| (None, s)).collect(),
        ..Draft::default()
    })
}
