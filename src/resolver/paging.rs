//! Pages of small per-user lists (meal plans, shopping lists): newest first, the cursor is the last id seen
//! (ids are UUID v7, so they sort by creation).

use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The page size asked for, checked: `default` when absent, 1 to `max`.
pub fn size(first: Option<i32>, default: i32, max: i32) -> AppResult<usize> {
    let first = first.unwrap_or(default);
    if !(1..=max).contains(&first) {
        return Err(AppError::bad_input(
            "first",
            format!("first must be between 1 and {max}"),
        ));
    }
    Ok(usize::try_from(first).unwrap_or(1))
}

/// The id an `after` cursor names.
pub fn after(cursor: Option<&str>) -> AppResult<Option<Uuid>> {
    cursor
        .map(|c| Uuid::parse_str(c).map_err(|_| AppError::bad_input("after", "malformed cursor")))
        .transpose()
}

/// Rows read with one more than the page size: the page, and whether there is a next one.
pub fn split<T>(mut rows: Vec<T>, size: usize) -> (Vec<T>, bool) {
    let more = rows.len() > size;
    rows.truncate(size);
    (rows, more)
}
