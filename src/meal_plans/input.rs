//! What clients send to make and change plans and their entries, and the meal and weekday of a slot.

use async_graphql::{Enum, InputObject, MaybeUndefined};
use uuid::Uuid;

use crate::resolver::date::Date;

#[derive(InputObject)]
pub struct MealPlanInput {
    /// 1 to 255 characters.
    pub name: String,
    pub start_date: Date,
    /// Null: open-ended.
    pub end_date: Option<Date>,
    /// Null for a calendar plan; 1 to 8 for a rotation. Fixed once the plan exists.
    pub weeks: Option<i32>,
    /// Make it the active plan (the one active before stops being active).
    #[graphql(default)]
    pub active: bool,
    /// Share it with a household the user is in (its members see and plan it; it is then the household's
    /// active plan when `active`). Null: a personal plan.
    pub household_id: Option<Uuid>,
}

#[derive(InputObject)]
pub struct MealPlanPatch {
    pub name: Option<String>,
    pub start_date: Option<Date>,
    /// Null makes the plan open-ended.
    pub end_date: MaybeUndefined<Date>,
}

/// When: `date` for a calendar plan, `week` and `weekday` for a rotation.
#[derive(InputObject)]
pub struct MealSlotInput {
    pub date: Option<Date>,
    /// 1 to the plan's `weeks`.
    pub week: Option<i32>,
    pub weekday: Option<Weekday>,
    pub meal: MealType,
}

#[derive(InputObject)]
pub struct MealPlanEntryInput {
    #[graphql(flatten)]
    pub slot: MealSlotInput,
    /// One of your recipes; or give a `note`.
    pub recipe_id: Option<Uuid>,
    /// At most 500 characters ("leftovers", "eat out").
    pub note: Option<String>,
    /// Servings to cook, decimal text greater than 0; null cooks the recipe as written.
    pub servings: Option<String>,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum MealType {
    Breakfast,
    Lunch,
    Dinner,
    Snack,
}

impl MealType {
    pub(super) fn as_db(self) -> &'static str {
        match self {
            Self::Breakfast => "BREAKFAST",
            Self::Lunch => "LUNCH",
            Self::Dinner => "DINNER",
            Self::Snack => "SNACK",
        }
    }

    pub(super) fn from_db(meal: &str) -> Self {
        match meal {
            "BREAKFAST" => Self::Breakfast,
            "LUNCH" => Self::Lunch,
            "DINNER" => Self::Dinner,
            _ => Self::Snack,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

impl Weekday {
    /// ISO number: Monday is 1.
    pub(super) fn number(self) -> i32 {
        WEEKDAYS
            .iter()
            .position(|d| *d == self)
            .map_or(1, |i| i32::try_from(i).unwrap_or(0) + 1)
    }

    pub(super) fn from_number(n: i32) -> Option<Self> {
        WEEKDAYS.get(usize::try_from(n - 1).ok()?).copied()
    }
}
