//! Shopping lists: computed from a meal plan's date range (ingredients scaled, merged and converted), or
//! saved as lists whose items two people can tick off at once.

mod graphql;
mod live;
mod merge;
mod model;

pub use graphql::{ShoppingListMutation, ShoppingListQuery};
pub use live::ShoppingListSubscription;
