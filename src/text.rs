//! The rules every domain applies to free text from clients: trimmed, bounded in characters (not bytes), and
//! without control characters; fields that hold prose may keep newlines and tabs. Errors name the field.

use crate::error::{AppError, AppResult};

/// Whether a field may span lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    /// Names, titles of things that appear in lists: no control characters at all.
    Single,
    /// Prose (descriptions, steps): newlines and tabs allowed.
    Multi,
}

/// Trimmed text within `max` characters; empty means absent.
pub fn optional(field: &str, value: Option<&str>, max: usize, lines: Lines) -> AppResult<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    let allowed = |c: char| lines == Lines::Multi && (c == '\n' || c == '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

/// Like `optional`, but the field must not be empty.
pub fn required(field: &str, value: &str, max: usize, lines: Lines) -> AppResult<String> {
    optional(field, Some(value), max, lines)?
        .ok_or_else(|| AppError::bad_input(field, format!("{field} must not be empty")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(result: AppResult<impl Sized>) -> Option<String> {
        match result.err() {
            Some(AppError::BadUserInput { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn text_is_trimmed_bounded_by_characters_and_free_of_control_characters() {
        assert_eq!(
            required("name", "  Soups ", 5, Lines::Single).ok().as_deref(),
            Some("Soups")
        );
        assert_eq!(
            required("name", "Crème", 5, Lines::Single).ok().as_deref(),
            Some("Crème")
        );
        assert_eq!(
            field(required("name", "Crèmes", 5, Lines::Single)).as_deref(),
            Some("name")
        );
        assert_eq!(
            field(required("name", "   ", 5, Lines::Single)).as_deref(),
            Some("name")
        );
        assert_eq!(
            field(required("name", "a\nb", 5, Lines::Single)).as_deref(),
            Some("name")
        );
        assert_eq!(
            optional("d", Some("a\n\tb"), 5, Lines::Multi).ok().flatten().as_deref(),
            Some("a\n\tb")
        );
        assert_eq!(
            field(optional("d", Some("a\u{1b}b"), 5, Lines::Multi)).as_deref(),
            Some("d")
        );
        assert_eq!(optional("d", Some("  "), 5, Lines::Multi).ok(), Some(None));
    }
}
