//! Households: the people of one home, who share recipes, tags, collections, meal plans and shopping lists and
//! see each other's changes live. A shared object is visible to the household's members only; everyone else (a former member, a
//! pending invitee) finds it `NOT_FOUND`, like a random id.

mod graphql;
mod model;

pub use graphql::{HouseholdMutation, HouseholdQuery, HouseholdSubscription};
pub use model::{check_set, joined, lock_set, Household, Role, Scope};
pub(crate) use model::{shared_page, shared_scope, shared_set};
