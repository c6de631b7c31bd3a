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
            "tb",
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

/// The spellings of units in other languages, one table a language, as data (`src/recipes/units/*.txt`).
const LANGUAGE_TABLES: &[&str] = &[
    include_str!("units/de.txt"),
    include_str!("units/fr.txt"),
    include_str!("units/es.txt"),
    include_str!("units/it.txt"),
    include_str!("units/nl.txt"),
    include_str!("units/pt.txt"),
    include_str!("units/da-sv.txt"),
    include_str!("units/tr.txt"),
];

/// What a spelling in a language table stands for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Spelling {
    Unit(&'static Unit),
    /// A word between a unit and its item (`of = de, di`).
    Joining,
    /// A phrase that ends a line as a note (`notes = al gusto`).
    Note,
}

/// Every spelling the language tables give. A line naming no unit of `UNITS` (nor `of` or `notes`) is
/// ignored (a unit test checks there is none).
fn language_spellings() -> &'static [(Spelling, &'static str)] {
    static SPELLINGS: std::sync::LazyLock<Vec<(Spelling, &'static str)>> = std::sync::LazyLock::new(|| {
        let lines = LANGUAGE_TABLES
            .iter()
            .flat_map(|table| table.lines())
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| line.split_once('='));
        let mut out = Vec::new();
        for (code, spellings) in lines {
            let kind = match code.trim() {
                "of" => Spelling::Joining,
                "notes" => Spelling::Note,
                code => match UNITS.iter().find(|u| u.code == code) {
                    Some(unit) => Spelling::Unit(unit),
                    None => continue,
                },
            };
            out.extend(
                spellings
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| (kind, s)),
            );
        }
        out
    });
    &SPELLINGS
}

/// The spellings of one kind.
fn spelled(kind: Spelling) -> impl Iterator<Item = &'static str> {
    language_spellings()
        .iter()
        .filter(move |(k, _)| *k == kind)
        .map(|(_, s)| *s)
}

/// Note phrases that may end a line without a comma ("salt to taste").
const TRAILING_NOTES: &[&str] = &[
    "to taste",
    "as needed",
    "as required",
    "for serving",
    "to serve",
    "for garnish",
    "for frying",
    "for greasing",
    "for dusting",
    "for brushing",
    "for drizzling",
    "optional",
];

/// Sizes a cook puts between the amount and the unit ("1 heaped tsp", "½ small bunch"): the unit still
/// counts, the size becomes a note. Before anything but a unit ("3 medium eggs") they stay in the item.
const UNIT_SIZES: &[&str] = &[
    "small", "medium", "large", "big", "heaped", "heaping", "level", "rounded", "scant", "generous",
];

fn sized_unit(text: &str) -> Option<(String, &'static Unit, &str)> {
    UNIT_SIZES.iter().find_map(|size| {
        let after = strip_prefix_ignore_case(text, size)?.strip_prefix(' ')?;
        let (unit, rest) = unit_at(after)?;
        Some(((*size).to_owned(), unit, rest))
    })
}

/// Containers a measure can size ("1 13oz. can", "2 400 g tins").
const CONTAINERS: &[&str] = &["can", "jar", "bottle", "package", "bag", "box"];

/// "13oz. can coconut milk" after the amount: the measure of a container is a note, the container the unit.
fn measured_container(text: &str) -> Option<(String, &'static Unit, &str)> {
    let (size, _, after) = leading_amount(text)?;
    let (measure, after) = unit_at(after.trim_start())?;
    let (unit, rest) = unit_at(after.trim_start()).filter(|(u, _)| CONTAINERS.contains(&u.code))?;
    Some((format!("{size} {}", measure.display), unit, rest))
}

/// Words that make an amount approximate ("~5", "about 2 cups").
const APPROXIMATELY: &[&str] = &["~", "about ", "approx. ", "approximately ", "around ", "ca. ", "circa "];

/// What is taken of an item ("Juice of 1 lime"), longest first.
const PARTS_OF: &[&str] = &[
    "zest and juice of ",
    "juice and zest of ",
    "the juice of ",
    "the zest of ",
    "juice of ",
    "zest of ",
];

/// Lengths after a number that size the item ("9 inch pound cake", "20 cm tin").
const LENGTHS: &[&str] = &["inch ", "inches ", "-inch ", "in. ", "\" ", "cm ", "-cm "];

/// Parses one line; never fails (an unparsable line is all item).
pub fn parse_line(line: &str) -> ParsedIngredient {
    let original_text = line.to_owned();
    let mut text: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
    text = text.trim_start_matches(['-', '*', '•', '·', ' ']).to_owned();
    let mut notes: Vec<String> = Vec::new();
    // "~5 tomatoes", "about 2 cups stock": the amount is approximate.
    if let Some(after) = APPROXIMATELY.iter().find_map(|p| strip_prefix_ignore_case(&text, p)) {
        notes.push("about".to_owned());
        text = after.trim_start().to_owned();
    }
    // "Juice of 1 lime": what is taken of the item is a note.
    if let Some((part, after)) = PARTS_OF
        .iter()
        .find_map(|p| Some((*p, strip_prefix_ignore_case(&text, p)?)))
    {
        if leading_amount(after.trim_start()).is_some() {
            notes.push(part.trim_end_matches(" of ").to_lowercase());
            text = after.trim_start().to_owned();
        }
    }
    // "nagaimo: 160 g": the item first, its amount after a colon.
    let mut named = None;
    if leading_amount(&text).is_none() {
        if let Some((item, amount)) = text.split_once(": ") {
            if leading_amount(amount).is_some() && !item.is_empty() {
                named = Some(item.trim().to_owned());
                text = amount.to_owned();
            }
        }
    }

    let (quantity, quantity_max, rest) = match leading_amount(&text) {
        Some((q, max, rest)) => (Some(q), max, rest.to_owned()),
        None => match article(&text) {
            Some(rest) if unit_at(rest).is_some() => (Quantity::new(1, 1), None, rest.to_owned()),
            _ => (None, None, text.clone()),
        },
    };
    let mut rest = rest.trim_start().to_owned();
    // "9 inch pound cake": a number with a length is the size of the item, not an amount of it.
    if let Some(length) = quantity.and(LENGTHS.iter().find(|l| rest.starts_with(*l))) {
        let size = text[..text.len() - rest.len()].trim_end();
        notes.push(format!("{size} {}", length.trim()));
        let item = rest[length.len()..].trim_start().to_owned();
        return finish(None, None, None, item, notes, original_text);
    }
    take_parenthetical(&mut rest, &mut notes);
    let unit = match quantity.and_then(|_| unit_at(&rest)) {
        Some((unit, after)) => {
            rest = after.trim_start().to_owned();
            Some(unit)
        }
        None => match quantity.and_then(|_| sized_unit(&rest).or_else(|| measured_container(&rest))) {
            Some((size, unit, after)) => {
                notes.push(size);
                rest = after.trim_start().to_owned();
                Some(unit)
            }
            None => None,
        },
    };
    if let Some(item) = named {
        rest = format!("{item} {rest}").trim().to_owned();
    }
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
        if let Some(after) = after_joining_word(&rest) {
            rest = after.to_owned();
        }
    }
    finish(quantity, quantity_max, unit, rest, notes, original_text)
}

/// The item and notes of what follows the amount and unit, and the parsed line.
fn finish(
    quantity: Option<Quantity>,
    quantity_max: Option<Quantity>,
    unit: Option<&'static Unit>,
    rest: String,
    mut notes: Vec<String>,
    original_text: String,
) -> ParsedIngredient {
    let (item, comma_note) = match note_comma(&rest) {
        Some(at) => (rest[..at].trim().to_owned(), Some(rest[at + 1..].trim().to_owned())),
        None => (rest.trim().to_owned(), None),
    };
    // "sliced, toasted almonds": preparations before the item, not the item before a note.
    let (item, comma_note) = match comma_note {
        Some(after) if participle(&item) => {
            let words: Vec<&str> = after.split_whitespace().collect();
            let done = words.iter().take_while(|w| participle(w)).count();
            if done < words.len() {
                let prepared = std::iter::once(item.as_str())
                    .chain(words[..done].iter().copied())
                    .collect::<Vec<_>>();
                (words[done..].join(" "), Some(prepared.join(", ")))
            } else {
                (item, Some(after))
            }
        }
        other => (item, other),
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
    for phrase in TRAILING_NOTES.iter().copied().chain(spelled(Spelling::Note)) {
        let cut = item.len().checked_sub(phrase.len()).filter(|cut| *cut > 0);
        let ends = |cut: &usize| {
            item.get(*cut..).is_some_and(|tail| tail.eq_ignore_ascii_case(phrase)) && item[..*cut].ends_with([' ', ','])
        };
        if let Some(head) = cut.filter(ends) {
            item = item[..head].trim().trim_end_matches(',').trim().to_owned();
            notes.push(phrase.to_owned());
            break;
        }
    }
    notes.extend(comma_note);
    // "1 large egg (, slightly beaten)": what a site left around a note is not part of it.
    let notes: Vec<String> = notes
        .iter()
        .map(|n| {
            n.trim_matches(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .to_owned()
        })
        .filter(|n| !n.is_empty())
        .collect();
    ParsedIngredient {
        quantity,
        quantity_max,
        unit,
        item,
        note: (!notes.is_empty()).then(|| notes.join(", ")),
        original_text,
    }
}

/// A single word that says how an item was prepared ("sliced", "toasted", "peeled").
fn participle(word: &str) -> bool {
    let word = word.trim_end_matches(',');
    !word.contains(' ') && word.len() > 3 && word.to_ascii_lowercase().ends_with("ed")
}

/// Where the note starts: the first comma outside parentheses ("dried figs (chopped, 16 ounces), halved"), or
/// the first comma at all when a parenthesis is never closed.
fn note_comma(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    if depth > 0 {
        text.find(',')
    } else {
        None
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
    let english = UNITS
        .iter()
        .flat_map(|unit| unit.aliases.iter().map(move |a| (unit, *a)));
    let others = language_spellings().iter().filter_map(|(kind, s)| match kind {
        Spelling::Unit(unit) => Some((*unit, *s)),
        _ => None,
    });
    let mut best: Option<(&'static Unit, &str)> = None;
    for (unit, alias) in english.chain(others) {
        if let Some(after) = strip_prefix_ignore_case(text, alias) {
            // A spelling ending in '.' or ')' ends a word by itself ("c. à s.", "colher (sopa)").
            let whole_word = alias.ends_with(['.', ')']) || after.chars().next().is_none_or(|c| !c.is_alphanumeric());
            if whole_word && best.is_none_or(|(_, rest)| after.len() < rest.len()) {
                best = Some((unit, after));
            }
        }
    }
    best
}

/// The text after a word that joins a unit to its item: "of" and the tables' `of` words ("de", "d'", "di").
fn after_joining_word(text: &str) -> Option<&str> {
    std::iter::once("of")
        .chain(spelled(Spelling::Joining))
        .find_map(|word| {
            let after = strip_prefix_ignore_case(text, word)?;
            if word.ends_with('\'') {
                Some(after)
            } else {
                after.strip_prefix(' ')
            }
        })
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
        } else if let Some(fraction) = rest
            .strip_prefix('-')
            .or_else(|| strip_prefix_ignore_case(after, "and ").map(str::trim_start))
            .and_then(proper_fraction)
        {
            // "1-1/2 pounds", "1 and 1/2 cups": mixed numbers as US sites write them (a range never ends
            // below 1).
            q = q.checked_add(fraction.0)?;
            rest = fraction.1;
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

/// A fraction below 1 at the start of `text` (`1/2`, `½`) and what follows it.
fn proper_fraction(text: &str) -> Option<(Quantity, &str)> {
    let one = Quantity::new(1, 1)?;
    if let Some(c) = text.chars().next().filter(|c| Quantity::from_vulgar(*c).is_some()) {
        return Some((Quantity::from_vulgar(c)?, &text[c.len_utf8()..]));
    }
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '/'))
        .unwrap_or(text.len());
    let token = &text[..end];
    let fraction = Quantity::parse(token).filter(|f| token.contains('/') && *f < one)?;
    Some((fraction, &text[end..]))
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
mod tests;
