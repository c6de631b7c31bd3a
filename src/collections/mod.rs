//! Collections: a user's named, ordered groups of recipes (one recipe may be in many).

mod graphql;
mod model;

pub use graphql::{CollectionMutation, CollectionQuery};
pub use model::Collection;
