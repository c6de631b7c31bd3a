//! People who use HomeChef: created from a verified identity on their first request.

mod graphql;
mod model;

pub use graphql::UserQuery;
pub use model::{NewUser, User};
