//! Imports: recipes read from a web page (fetched through the outbound guard, or pasted) or from pasted text,
//! returned as drafts to review (nothing is saved until the client calls `createRecipe`); and bulk imports by
//! address, run in the background and saved as recipes (`startRecipeImport`).

mod bulk;
pub mod draft;
pub mod extract;
mod graphql;
mod guard;
pub mod html;
mod jobs;
mod model;
mod outline;
pub mod page;
mod pictures;
mod runner;
mod text;

pub use bulk::{RecipeImportMutation, RecipeImportQuery, RecipeImportSubscription};
pub use graphql::ImportMutation;
pub use guard::{Guard, ImportSettings};
pub use runner::ImportRunner;

/// Texts of `at_least + 0..spread` pieces drawn from `pieces` by a fixed-seed xorshift, `count` of them: the
/// inputs of the imports' property tests (the same texts on every run).
#[cfg(test)]
fn generated<'p>(
    pieces: &'p [&'p str],
    mut seed: u64,
    count: usize,
    at_least: usize,
    spread: usize,
) -> impl Iterator<Item = String> + 'p {
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    (0..count).map(move |_| {
        let length = at_least + next(spread);
        (0..length).map(|_| pieces[next(pieces.len())]).collect()
    })
}
