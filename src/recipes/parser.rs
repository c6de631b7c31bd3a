//! Free-text ingredient lines → structured ingredients, keeping the original text.
//!
//! Whole-word unit matching (so "15 grams" is 15 g, never "g" + "rams"), mixed numbers, unicode and slash
//! fractions, decimal commas, ranges ("2–3", "1 to 2"), numbers glued to units ("400g"), alternative measures
//! ("200 g / 7 oz") and parentheticals ("(14 oz)") kept as notes, and "to taste" style notes.

use super::quantity::Quantity;

/// Longest line accepted, in characters.
pub const MAX_LINE_CHARS: usize = 500;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedIngredient {
    pub quantity: Option<Quantity>,
    /// Upper end of a range ("2–3 cloves").
    pub quantity_max: Option<Quantity>,
    /// Canonical unit code (`tbsp`, `g`, `fl_oz`, …).
    pub unit: Option<&'static Unit>,
    pub item: String,
    pub note: Option<String>,
    pub original_text: String,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Unit {
    pub code: &'static str,
    pub display: &'static str,
    aliases: &'static [&'static str],
}

macro_rules! units {
    ($(($code:literal, $display:literal, [$($alias:literal),* $(,)?])),* $(,)?) => {
        &[$(Unit { code: $code, display: $display, aliases: &[$($alias),*] }),*]
    };
}

/// Units and their spellings (lower case; plurals listed explicitly).
pub static UNITS: &[Unit] = units![
    ("tsp", "tsp", ["tsp", "tsps", "teaspoon", "teaspoons", "tsp."]),
    (
        "tbsp",
        "tbsp",
        [
            "tbsp",
            "tbsps",
            "tbs",
            "tbl",
            "tablespoon",
            "tablespoons",
            "tbsp.",
            "tbs."
        ]
    ),
    ("cup", "cup", ["cup", "cups"]),
    (
        "fl_oz",
        "fl oz",
        [
            "fl oz",
            "fl. oz",
            "fl. oz.",
            "fl oz.",
            "floz",
            "fluid ounce",
            "fluid ounces"
        ]
    ),
    (
        "ml",
        "ml",
        ["ml", "mls", "milliliter", "milliliters", "millilitre", "millilitres"]
    ),
    (
        "cl",
        "cl",
        ["cl", "centiliter", "centiliters", "centilitre", "centilitres"]
    ),
    ("dl", "dl", ["dl", "deciliter", "deciliters", "decilitre", "decilitres"]),
    ("l", "l", ["l", "liter", "liters", "litre", "litres", "ltr"]),
    ("mg", "mg", ["mg", "milligram", "milligrams"]),
    ("g", "g", ["g", "gr", "gram", "grams", "gramme", "grammes"]),
    ("kg", "kg", ["kg", "kgs", "kilogram", "kilograms", "kilo", "kilos"]),
    ("oz", "oz", ["oz", "oz.", "ounce", "ounces"]),
    ("lb", "lb", ["lb", "lbs", "lb.", "lbs.", "pound", "pounds"]),
    ("pinch", "pinch", ["pinch", "pinches"]),
    ("dash", "dash", ["dash", "dashes"]),
    ("drop", "drop", ["drop", "drops"]),
    ("clove", "clove", ["clove", "cloves"]),
    ("can", "can", ["can", "cans", "tin", "tins"]),
    ("jar", "jar", ["jar", "jars"]),
    ("bottle", "bottle", ["bottle", "bottles"]),
    (
        "package",
        "package",
        ["package", "packages", "pkg", "pack", "packs", "packet", "packets"]
    ),
    ("bag", "bag", ["bag", "bags"]),
    ("box", "box", ["box", "boxes"]),
    ("slice", "slice", ["slice", "slices"]),
    ("piece", "piece", ["piece", "pieces", "pc", "pcs"]),
    ("bunch", "bunch", ["bunch", "bunches"]),
    ("sprig", "sprig", ["sprig", "sprigs"]),
    ("stalk", "stalk", ["stalk", "stalks"]),
    ("stick", "stick", ["stick", "sticks"]),
    ("head", "head", ["head", "heads"]),
    ("leaf", "leaf", ["leaf", "leaves"]),
    ("sheet", "sheet", ["sheet", "sheets"]),
    ("fillet", "fillet", ["fillet", "fillets"]),
    ("handful", "handful", ["handful", "handfuls"]),
    ("quart", "quart", ["quart", "quarts", "qt"]),
    ("pint", "pint", ["pint", "pints", "pt"]),
    ("gallon", "gallon", ["gallon", "gallons", "gal"]),
];

/// Note phrases that may end a line without a comma ("salt to taste").
const TRAILING_NOTES: &[&str] = &[
    "to taste",
    "as needed",
    "as required",
    "for serving",
    "for garnish",
    "optional",
];

/// Parses one line; never fails (an unparsable line is all item).
pub fn parse_line(line: &str) -> ParsedIngredient {
    let original_text = line.to_owned();
    let mut text: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
    text = text.trim_start_matches(['-', '*', '•', '·', ' ']).to_owned();
    let mut notes: Vec<String> = Vec::new();

    let (quantity, quantity_max, rest) = match leading_amount(&text) {
        Some((q, max, rest)) => (Some(q), max, rest.to_owned()),
        None => match article(&text) {
            Some(rest) if unit_at(rest).is_some() => (Quantity::new(1, 1), None, rest.to_owned()),
            _ => (None, None, text.clone()),
        },
    };
    let mut rest = rest.trim_start().to_owned();
    take_parenthetical(&mut rest, &mut notes);
    let unit = match quantity.and_then(|_| unit_at(&rest)) {
        Some((unit, after)) => {
            rest = after.trim_start().to_owned();
            Some(unit)
        }
        None => None,
    };
    // "200 g / 7 oz butter": the second measure is a note.
    if let Some(after_slash) = rest.strip_prefix('/') {
        if let Some((q, _, after)) = leading_amount(after_slash.trim_start()) {
            let after = after.trim_start();
            if let Some((alt, after_unit)) = unit_at(after) {
                notes.push(format!("{} {}", q, alt.display));
                rest = after_unit.trim_start().to_owned();
            }
        }
    }
    take_parenthetical(&mut rest, &mut notes);
    if unit.is_some() || quantity.is_some() {
        if let Some(after) = rest.strip_prefix("of ") {
            rest = after.to_owned();
        }
    }

    let (item, comma_note) = match rest.split_once(',') {
        Some((item, note)) => (item.trim().to_owned(), Some(note.trim().to_owned())),
        None => (rest.trim().to_owned(), None),
    };
    let mut item = item;
    // Parentheticals inside the item ("butter (softened)") are notes too.
    while let (Some(open), Some(close)) = (item.find('('), item.find(')')) {
        if close < open {
            break;
        }
        notes.push(item[open + 1..close].trim().to_owned());
        item = format!("{} {}", item[..open].trim(), item[close + 1..].trim())
            .trim()
            .to_owned();
    }
    for phrase in TRAILING_NOTES {
        let cut = item.len().checked_sub(phrase.len()).filter(|cut| *cut > 0);
        if let Some(head) = cut.filter(|cut| item.get(*cut..).is_some_and(|tail| tail.eq_ignore_ascii_case(phrase))) {
            item = item[..head].trim().trim_end_matches(',').trim().to_owned();
            notes.push((*phrase).to_owned());
            break;
        }
    }
    notes.extend(comma_note.filter(|n| !n.is_empty()));
    notes.retain(|n| !n.is_empty());
    ParsedIngredient {
        quantity,
        quantity_max,
        unit,
        item,
        note: (!notes.is_empty()).then(|| notes.join(", ")),
        original_text,
    }
}

/// "a"/"an" before a unit ("a pinch of salt").
fn article(text: &str) -> Option<&str> {
    ["a ", "an "].iter().find_map(|a| strip_prefix_ignore_case(text, a))
}

/// Case-insensitive ASCII prefix match on the original text (lower-casing first could shift byte offsets).
fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    text.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &text[prefix.len()..])
}

/// The unit spelled at the start of `text` as whole words, longest spelling first.
fn unit_at(text: &str) -> Option<(&'static Unit, &str)> {
    let mut best: Option<(&'static Unit, &str)> = None;
    for unit in UNITS {
        for alias in unit.aliases {
            if let Some(after) = strip_prefix_ignore_case(text, alias) {
                let whole_word = after.chars().next().is_none_or(|c| !c.is_alphanumeric());
                if whole_word && best.is_none_or(|(_, rest)| after.len() < rest.len()) {
                    best = Some((unit, after));
                }
            }
        }
    }
    best
}

/// A quantity (and range end) at the start of `text`.
fn leading_amount(text: &str) -> Option<(Quantity, Option<Quantity>, &str)> {
    let (q, rest) = amount(text)?;
    // "1-inch piece": a number glued to a word by a hyphen is an adjective, not a quantity.
    if rest.starts_with('-') && rest[1..].starts_with(|c: char| c.is_alphabetic()) {
        return None;
    }
    let trimmed = rest.trim_start();
    for separator in ["-", "–", "—", "to ", "or "] {
        if let Some(after) = trimmed.strip_prefix(separator) {
            if let Some((max, after_max)) = amount(after.trim_start()) {
                if max != q {
                    return Some((q, Some(max), after_max));
                }
            }
        }
    }
    Some((q, None, rest))
}

/// One number: `2`, `1.5`, `1,5`, `1/2`, `½`, `1½`, `1 ½`, `1 1/2`.
fn amount(text: &str) -> Option<(Quantity, &str)> {
    let first = text.chars().next()?;
    if let Some(q) = Quantity::from_vulgar(first) {
        return Some((q, &text[first.len_utf8()..]));
    }
    let end = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == ',' || *c == '/'))
        .map_or(text.len(), |(i, _)| i);
    let token = text[..end].trim_end_matches([',', '.']);
    if token.is_empty() || !token.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let mut q = Quantity::parse(token)?;
    let mut rest = &text[token.len()..];
    let whole = !token.contains(['/', '.', ',']);
    if whole {
        // A fraction right after a whole number: "1½", "1 ½", "1 1/2".
        let after = rest.trim_start();
        if let Some(c) = after.chars().next().filter(|c| Quantity::from_vulgar(*c).is_some()) {
            q = q.checked_add(Quantity::from_vulgar(c)?)?;
            rest = &after[c.len_utf8()..];
        } else if rest.starts_with(' ') {
            let frac_end = after
                .find(|c: char| !(c.is_ascii_digit() || c == '/'))
                .unwrap_or(after.len());
            let frac = &after[..frac_end];
            if frac.contains('/') {
                if let Some(f) = Quantity::parse(frac) {
                    q = q.checked_add(f)?;
                    rest = &after[frac_end..];
                }
            }
        }
    }
    Some((q, rest))
}

/// Moves a leading "(…)" into the notes.
fn take_parenthetical(rest: &mut String, notes: &mut Vec<String>) {
    if rest.starts_with('(') {
        if let Some(close) = rest.find(')') {
            notes.push(rest[1..close].trim().to_owned());
            *rest = rest[close + 1..].trim_start().to_owned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, quantity, max, unit, item, note)
    type Case = (
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        &'static str,
        Option<&'static str>,
    );

    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("1 1/2 cups flour, sifted", Some("1.5"), None, Some("cup"), "flour", Some("sifted")),
        ("2–3 cloves garlic", Some("2"), Some("3"), Some("clove"), "garlic", None),
        ("2-3 cloves garlic, minced", Some("2"), Some("3"), Some("clove"), "garlic", Some("minced")),
        ("salt to taste", None, None, None, "salt", Some("to taste")),
        ("Salt and pepper, to taste", None, None, None, "Salt and pepper", Some("to taste")),
        ("200 g / 7 oz butter", Some("200"), None, Some("g"), "butter", Some("7 oz")),
        ("½ tsp", Some("0.5"), None, Some("tsp"), "", None),
        ("½ tsp ground cumin", Some("0.5"), None, Some("tsp"), "ground cumin", None),
        ("1½ cups milk", Some("1.5"), None, Some("cup"), "milk", None),
        ("1 ½ cups milk", Some("1.5"), None, Some("cup"), "milk", None),
        ("⅓ cup sugar", Some("0.3333"), None, Some("cup"), "sugar", None),
        ("¾ cup (180 ml) water", Some("0.75"), None, Some("cup"), "water", Some("180 ml")),
        ("15 grams yeast", Some("15"), None, Some("g"), "yeast", None),
        ("15 grams", Some("15"), None, Some("g"), "", None),
        ("400g chopped tomatoes", Some("400"), None, Some("g"), "chopped tomatoes", None),
        ("1 kg potatoes, peeled and diced", Some("1"), None, Some("kg"), "potatoes", Some("peeled and diced")),
        ("1,5 kg beef chuck", Some("1.5"), None, Some("kg"), "beef chuck", None),
        ("0.5 l stock", Some("0.5"), None, Some("l"), "stock", None),
        ("500 ml whole milk", Some("500"), None, Some("ml"), "whole milk", None),
        ("2 tablespoons olive oil", Some("2"), None, Some("tbsp"), "olive oil", None),
        ("2 tbsp. soy sauce", Some("2"), None, Some("tbsp"), "soy sauce", None),
        ("1 tbs honey", Some("1"), None, Some("tbsp"), "honey", None),
        ("3 teaspoons baking powder", Some("3"), None, Some("tsp"), "baking powder", None),
        ("1 tsp vanilla extract", Some("1"), None, Some("tsp"), "vanilla extract", None),
        ("1 (14 oz) can diced tomatoes", Some("1"), None, Some("can"), "diced tomatoes", Some("14 oz")),
        ("2 cans chickpeas, drained and rinsed", Some("2"), None, Some("can"), "chickpeas", Some("drained and rinsed")),
        ("1 tin coconut milk", Some("1"), None, Some("can"), "coconut milk", None),
        ("3 large eggs", Some("3"), None, None, "large eggs", None),
        ("2 eggs, beaten", Some("2"), None, None, "eggs", Some("beaten")),
        ("1 onion, finely chopped", Some("1"), None, None, "onion", Some("finely chopped")),
        ("1 large onion (about 300 g), diced", Some("1"), None, None, "large onion", Some("about 300 g, diced")),
        ("a pinch of salt", Some("1"), None, Some("pinch"), "salt", None),
        ("A handful of basil leaves", Some("1"), None, Some("handful"), "basil leaves", None),
        ("2 pinches saffron", Some("2"), None, Some("pinch"), "saffron", None),
        ("1 dash Worcestershire sauce", Some("1"), None, Some("dash"), "Worcestershire sauce", None),
        ("8 oz cream cheese, softened", Some("8"), None, Some("oz"), "cream cheese", Some("softened")),
        ("1 lb ground beef", Some("1"), None, Some("lb"), "ground beef", None),
        ("2 lbs chicken thighs", Some("2"), None, Some("lb"), "chicken thighs", None),
        ("1 pound shrimp", Some("1"), None, Some("lb"), "shrimp", None),
        ("12 fl oz beer", Some("12"), None, Some("fl_oz"), "beer", None),
        ("4 fluid ounces cream", Some("4"), None, Some("fl_oz"), "cream", None),
        ("1 to 2 cups broth", Some("1"), Some("2"), Some("cup"), "broth", None),
        ("1-2 tbsp chili flakes", Some("1"), Some("2"), Some("tbsp"), "chili flakes", None),
        ("3 or 4 sprigs thyme", Some("3"), Some("4"), Some("sprig"), "thyme", None),
        ("1 bunch cilantro", Some("1"), None, Some("bunch"), "cilantro", None),
        ("2 stalks celery", Some("2"), None, Some("stalk"), "celery", None),
        ("1 head garlic", Some("1"), None, Some("head"), "garlic", None),
        ("2 bay leaves", Some("2"), None, None, "bay leaves", None),
        ("4 slices bread", Some("4"), None, Some("slice"), "bread", None),
        ("1 stick butter (softened)", Some("1"), None, Some("stick"), "butter", Some("softened")),
        ("6 pieces chicken", Some("6"), None, Some("piece"), "chicken", None),
        ("1 package dry yeast", Some("1"), None, Some("package"), "dry yeast", None),
        ("1 packet gelatin", Some("1"), None, Some("package"), "gelatin", None),
        ("2 quarts water", Some("2"), None, Some("quart"), "water", None),
        ("1 pint strawberries", Some("1"), None, Some("pint"), "strawberries", None),
        ("1-inch piece ginger, grated", None, None, None, "1-inch piece ginger", Some("grated")),
        ("Juice of 1 lemon", None, None, None, "Juice of 1 lemon", None),
        ("Fresh parsley for garnish", None, None, None, "Fresh parsley", Some("for garnish")),
        ("Olive oil as needed", None, None, None, "Olive oil", Some("as needed")),
        ("1 cup walnuts (optional)", Some("1"), None, Some("cup"), "walnuts", Some("optional")),
        ("2 garlic cloves", Some("2"), None, None, "garlic cloves", None),
        ("1 canned chipotle", Some("1"), None, None, "canned chipotle", None),
        ("3 gallons water", Some("3"), None, Some("gallon"), "water", None),
        ("- 2 cups rice", Some("2"), None, Some("cup"), "rice", None),
        ("• 1 tsp salt", Some("1"), None, Some("tsp"), "salt", None),
        ("  2   cups   spinach  ", Some("2"), None, Some("cup"), "spinach", None),
        ("2 1/4 teaspoons active dry yeast", Some("2.25"), None, Some("tsp"), "active dry yeast", None),
        ("1/4 cup chopped chives", Some("0.25"), None, Some("cup"), "chopped chives", None),
        ("10 g fresh ginger", Some("10"), None, Some("g"), "fresh ginger", None),
        ("5 drops vanilla", Some("5"), None, Some("drop"), "vanilla", None),
        ("1 kilo flour", Some("1"), None, Some("kg"), "flour", None),
        ("2 cups (250 g) all-purpose flour", Some("2"), None, Some("cup"), "all-purpose flour", Some("250 g")),
        ("", None, None, None, "", None),
    ];

    #[test]
    fn real_lines_parse_as_a_cook_would_read_them() {
        assert!(CASES.len() >= 60);
        for (line, quantity, max, unit, item, note) in CASES {
            let parsed = parse_line(line);
            let got = (
                parsed.quantity.map(|q| q.to_decimal()),
                parsed.quantity_max.map(|q| q.to_decimal()),
                parsed.unit.map(|u| u.code),
                parsed.item.as_str(),
                parsed.note.as_deref(),
            );
            let want = (quantity.map(str::to_owned), max.map(str::to_owned), *unit, *item, *note);
            assert_eq!(got, want, "{line:?}");
            assert_eq!(parsed.original_text, *line);
        }
    }

    #[test]
    fn hostile_lines_do_not_panic() {
        for line in [
            "1 \u{212A}g flour",
            "salt to tas\u{212A}e",
            "İİ to taste",
            "99999999999999999999 g",
            "1 1/999999 cup",
            "999999 999999/1000000 g",
            "1/0 cup",
            "½½½",
            "((((",
            "1 ) ( cup",
            "-",
            "1 - - 2",
            "ﬁ",
            "1\u{0301} cup",
        ] {
            let _ = parse_line(line);
        }
    }
}
