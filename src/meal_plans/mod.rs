//! Meal plans: calendars or rotating weeks of planned recipes and notes, one of them active, resolved to
//! calendar days for the week ahead and for shopping lists.

mod calendar;
mod graphql;
mod input;
mod live;
mod model;

pub use calendar::{days, planned_on};
pub use graphql::{plan_for, range, MealPlanMutation, MealPlanQuery};
pub use live::MealPlanSubscription;
pub use model::MealPlan;
