//! Which entries of a plan fall on which calendar day: rotations resolved to dates. Pure functions.

use chrono::{Datelike as _, NaiveDate};

use super::model::{Entry, MealPlan, Slot};

/// Longest range `mealPlanDays` and shopping lists cover.
pub const MAX_DAYS: i64 = 62;

/// The week of a rotation of `weeks` weeks (1..=weeks) that `day` falls in: week 1 is the Monday-to-Sunday
/// week holding `start`, and the rotation repeats from there. `None` before that week.
pub fn rotation_week(start: NaiveDate, weeks: i32, day: NaiveDate) -> Option<i32> {
    let monday = |d: NaiveDate| d - chrono::Days::new(u64::from(d.weekday().num_days_from_monday()));
    let elapsed = (monday(day) - monday(start)).num_days() / 7;
    (elapsed >= 0 && weeks > 0).then(|| i32::try_from(elapsed % i64::from(weeks)).unwrap_or(0) + 1)
}

/// What the plan has on `day`: the rotation week (for a rotation) and the entries, in the order given.
/// Nothing before the plan's start or after its end.
pub fn planned_on<'a>(plan: &MealPlan, entries: &'a [Entry], day: NaiveDate) -> (Option<i32>, Vec<&'a Entry>) {
    if day < plan.start_date || plan.end_date.is_some_and(|end| day > end) {
        return (None, Vec::new());
    }
    let week = plan.weeks.and_then(|weeks| rotation_week(plan.start_date, weeks, day));
    let weekday = i32::try_from(day.weekday().number_from_monday()).unwrap_or(0);
    let on_day = entries
        .iter()
        .filter(|e| match e.slot() {
            Some(Slot::Day(d)) => plan.weeks.is_none() && d == day,
            Some(Slot::Rotation { week: w, weekday: wd }) => week == Some(w) && wd == weekday,
            None => false,
        })
        .collect();
    (week, on_day)
}

/// Every day from `from` to `to`, inclusive.
pub fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn rotations_repeat_from_the_week_of_the_start() {
        // Starts on a Wednesday: that Monday-to-Sunday week is week 1.
        let start = day("2026-12-23");
        assert_eq!(rotation_week(start, 2, day("2026-12-21")), Some(1));
        assert_eq!(rotation_week(start, 2, day("2026-12-27")), Some(1));
        assert_eq!(rotation_week(start, 2, day("2026-12-28")), Some(2));
        assert_eq!(
            rotation_week(start, 2, day("2027-01-03")),
            Some(2),
            "across the year boundary"
        );
        assert_eq!(rotation_week(start, 2, day("2027-01-04")), Some(1));
        assert_eq!(
            rotation_week(start, 3, day("2027-03-01")),
            Some(2),
            "10 weeks on: 3 rounds, then week 2"
        );
        assert_eq!(rotation_week(start, 1, day("2028-02-29")), Some(1));
        assert_eq!(rotation_week(start, 2, day("2026-12-20")), None);
    }

    #[test]
    fn days_are_inclusive() {
        let all: Vec<_> = days(day("2027-01-30"), day("2027-02-02")).collect();
        assert_eq!(
            all,
            [
                day("2027-01-30"),
                day("2027-01-31"),
                day("2027-02-01"),
                day("2027-02-02")
            ]
        );
        assert_eq!(days(day("2027-01-02"), day("2027-01-01")).count(), 0);
    }
}
