//! The `Date` scalar: a calendar date, `YYYY-MM-DD`. Any string is accepted while the document is read and
//! checked where it is used, so that an impossible date (`2026-02-30`) is `BAD_USER_INPUT` naming the
//! argument, like every other refused value, rather than a validation failure without a field.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{Datelike as _, NaiveDate};

use crate::error::{AppError, AppResult};

/// A calendar date (ISO 8601, `2026-12-07`).
#[derive(Clone, Debug)]
pub struct Date(String);

/// A calendar date, `YYYY-MM-DD` (ISO 8601), e.g. `2027-01-04`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(text) => Ok(Self(text)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

impl From<NaiveDate> for Date {
    fn from(day: NaiveDate) -> Self {
        Self(day.format("%Y-%m-%d").to_string())
    }
}

impl Date {
    /// The date, or `BAD_USER_INPUT` on `field`. Years 1 to 9999 only.
    pub fn day(&self, field: &str) -> AppResult<NaiveDate> {
        let text = self.0.trim();
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|day| text.len() == 10 && day.year() >= 1)
            .ok_or_else(|| AppError::bad_input(field, format!("{field} must be a date as YYYY-MM-DD")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_calendar_dates_pass() {
        let day = |text: &str| Date(text.into()).day("from").ok();
        assert_eq!(day("2028-02-29"), NaiveDate::from_ymd_opt(2028, 2, 29));
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-5",
            "12/07/2026",
            "",
            "+20260-01-01",
            "0000-01-01",
        ] {
            assert_eq!(day(bad), None, "{bad}");
        }
    }
}
