//! Imports: recipes read from a pasted web page (schema.org JSON-LD, microdata, OpenGraph) or from pasted
//! text, returned as drafts to review; nothing is saved until the client calls `createRecipe`.

mod extract;
mod graphql;
mod model;
mod text;

pub use graphql::ImportMutation;
