//! Imports: recipes read from a web page (fetched through the outbound guard, or pasted) or from pasted text,
//! returned as drafts to review; nothing is saved until the client calls `createRecipe`.

pub mod extract;
mod graphql;
mod guard;
pub mod html;
mod model;
mod outline;
pub mod page;
mod pictures;
mod text;

pub use graphql::ImportMutation;
pub use guard::{Guard, ImportSettings};
