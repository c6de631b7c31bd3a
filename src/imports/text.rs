//! A recipe out of pasted text (a caption, a note): the first line is the title; lines under an
//! "Ingredients" heading are ingredients until a "Method" (or "Instructions", "Directions", "Steps",
//! "Preparation", or their names in the languages pages are read in) heading, and steps after it. Without headings, lines that start with an amount are
//! ingredients and the others steps. Hashtags, list markers and step numbers are dropped from titles and steps;
//! an ingredient line is kept exactly as written (trimmed), since it becomes the ingredient's `originalText`.
//! "Serves 4" gives the servings.

use super::draft::Draft;
use super::outline::{INGREDIENT_HEADINGS, METHOD_HEADINGS};
use crate::recipes::parser::parse_line;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Unknown,
    Ingredients,
    Steps,
}

/// Lower-case letters and spaces only ("You'll need:" is "you ll need").
fn letters(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter(|c| c.is_alphabetic() || c.is_whitespace())
        .collect()
}

/// A heading of a part, in the languages pages are read in (the same names as a page's headings).
fn heading(line: &str) -> Option<Part> {
    let words = letters(line);
    let words = words.trim();
    if words.split_whitespace().count() > 3 {
        return None;
    }
    let named = |names: &[&str]| names.iter().any(|name| words.starts_with(letters(name).trim()));
    if named(INGREDIENT_HEADINGS) || words.contains("you need") || words.contains("you ll need") {
        return Some(Part::Ingredients);
    }
    named(METHOD_HEADINGS).then_some(Part::Steps)
}

/// "Serves 4", "Servings: 4-6", "Makes 12": the first number.
fn servings(line: &str) -> Option<String> {
    let lower = line.to_lowercase();
    let rest = ["serves", "servings", "serving", "makes", "yield"]
        .iter()
        .find_map(|w| lower.strip_prefix(w))?;
    let number: String = rest
        .trim_start_matches([':', ' '])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!number.is_empty() && number != "0").then_some(number)
}

/// The line without hashtags, a list marker or a step number ("1.", "2)", "Step 3:").
fn clean(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().filter(|w| !w.starts_with('#')).collect();
    let mut text = words.join(" ");
    let lower = text.to_lowercase();
    if let Some(rest) = lower.strip_prefix("step ") {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            text = text["step ".len() + digits..]
                .trim_start_matches([':', '.', ')', ' '])
                .to_owned();
        }
    }
    // A step number is digits, '.' or ')', then a space: "0.5 cup" and "1.0kg" keep their decimals.
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    let marker = text[digits..].strip_prefix(['.', ')']);
    if let Some(rest) = marker.filter(|rest| digits > 0 && rest.starts_with(' ')) {
        text = rest.trim_start().to_owned();
    }
    text.trim_start_matches(['-', '*', '•', '·', '–', ' '])
        .trim()
        .to_owned()
}

pub fn from_text(text: &str) -> Draft {
    let mut draft = Draft::default();
    let mut part = Part::Unknown;
    for raw in text.lines() {
        let line = clean(raw);
        if line.is_empty() {
            continue;
        }
        if let Some(next) = heading(&line) {
            part = next;
            continue;
        }
        if draft.servings.is_none() {
            if let Some(n) = servings(&line) {
                draft.servings = Some(n);
                draft.yield_text = Some(line);
                continue;
            }
        }
        if draft.title.is_none() {
            draft.title = Some(line);
            continue;
        }
        let is_ingredient = match part {
            Part::Ingredients => true,
            Part::Steps => false,
            // No heading yet: an amount first makes an ingredient ("2 eggs"), anything else a step.
            Part::Unknown => parse_line(&line).quantity.is_some(),
        };
        if is_ingredient {
            // The line as the user wrote it: the parser reads past list markers itself.
            draft.ingredients.push(raw.trim().to_owned());
        } else {
            draft.steps.push((None, line));
        }
    }
    draft
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caption_with_headings() {
        let draft = from_text(
            "Best banana bread 🍌\nServes 8\n\nIngredients:\n- 3 ripe bananas\n- 2 cups flour\n• 1 tsp baking soda\n\nMethod\n1. Mash the bananas.\n2) Mix everything.\nStep 3: Bake 60 minutes.\n#baking #bananabread",
        );
        assert_eq!(draft.title.as_deref(), Some("Best banana bread 🍌"));
        assert_eq!(draft.servings.as_deref(), Some("8"));
        assert_eq!(
            draft.ingredients,
            ["- 3 ripe bananas", "- 2 cups flour", "• 1 tsp baking soda"]
        );
        let steps: Vec<&str> = draft.steps.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(steps, ["Mash the bananas.", "Mix everything.", "Bake 60 minutes."]);
    }

    #[test]
    fn a_note_without_headings() {
        let draft = from_text("Quick pesto\n2 cups basil\n50 g parmesan\nBlend with oil until smooth.");
        assert_eq!(draft.title.as_deref(), Some("Quick pesto"));
        assert_eq!(draft.ingredients, ["2 cups basil", "50 g parmesan"]);
        assert_eq!(draft.steps.len(), 1);
    }

    #[test]
    fn decimals_are_never_step_numbers() {
        let draft = from_text(
            "T\nIngredients\n0.5 cup chopped onion\n1.0kg broccoli\n2) 3 eggs\nMethod\n1. Mix.\n1.5 hours in the oven.",
        );
        assert_eq!(
            draft.ingredients,
            ["0.5 cup chopped onion", "1.0kg broccoli", "2) 3 eggs"]
        );
        let steps: Vec<&str> = draft.steps.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(steps, ["Mix.", "1.5 hours in the oven."]);
    }

    /// Property: whatever an ingredient line holds (digits, dots, parentheses, markers, hashtags, spaces,
    /// letters in any script), the draft keeps it exactly as written, trimmed. Lines come from a fixed-seed
    /// generator over the characters that the cleaning rules look at.
    #[test]
    fn every_ingredient_line_is_kept_as_written() {
        const PIECES: &[&str] = &[
            "0",
            "1",
            "5",
            "9",
            ".",
            ",",
            ")",
            "(",
            "-",
            "*",
            "•",
            "·",
            "–",
            " ",
            "  ",
            "\t",
            "#",
            "step ",
            "Step ",
            "cup",
            "kg",
            "½",
            "1/2",
            "g",
            "onion",
            "É",
            "ß",
            "çay kaşığı",
            "🍌",
            ":",
            "x",
        ];
        for line in crate::imports::generated(PIECES, 0x9e37_79b9_7f4a_7c15, 5_000, 1, 8) {
            let draft = from_text(&format!("Title\nIngredients\n{line}\nMethod\nMix."));
            let kept = line.trim();
            if clean(kept).is_empty() || heading(&clean(kept)).is_some() || servings(&clean(kept)).is_some() {
                continue;
            }
            assert_eq!(draft.ingredients, [kept], "line {line:?}");
        }
    }

    #[test]
    fn nothing_but_hashtags_is_empty() {
        assert_eq!(from_text("#food #yum\n\n"), Draft::default());
    }
}
