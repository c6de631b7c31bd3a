//! People who use HomeChef: created from a verified identity on their first request, kept in step with
//! Clerk by webhooks, deleted with everything they own.

mod graphql;
mod model;
pub mod service;

pub use graphql::{UserMutation, UserQuery};
pub use model::{plausible_email, NewUser, User, UserChangeset};
