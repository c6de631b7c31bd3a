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
        ("Juice of 1 lemon", Some("1"), None, None, "lemon", Some("juice")),
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
        // Real-world shapes from US, UK and metric recipe sites: hyphenated mixed numbers, package sizes,
        // parentheses with commas, `or` alternatives, `of`, sizes before units, trailing notes.
        ("1-1/2 pounds boneless skinless chicken breasts", Some("1.5"), None, Some("lb"), "boneless skinless chicken breasts", None),
        ("2-1/4 cups all-purpose flour", Some("2.25"), None, Some("cup"), "all-purpose flour", None),
        ("1-1/2 teaspoons baking soda", Some("1.5"), None, Some("tsp"), "baking soda", None),
        ("1-3/4 cups white sugar", Some("1.75"), None, Some("cup"), "white sugar", None),
        ("3-1/2 cups bread flour", Some("3.5"), None, Some("cup"), "bread flour", None),
        ("1-½ cups milk", Some("1.5"), None, Some("cup"), "milk", None),
        ("1 and 1/2 cups (190g) all-purpose flour", Some("1.5"), None, Some("cup"), "all-purpose flour", Some("190g")),
        ("2 and ½ tablespoons honey", Some("2.5"), None, Some("tbsp"), "honey", None),
        ("1 and 2 eggs", Some("1"), None, None, "and 2 eggs", None),
        ("3/4 cup packed brown sugar", Some("0.75"), None, Some("cup"), "packed brown sugar", None),
        ("1 (8 ounce) package cream cheese, softened", Some("1"), None, Some("package"), "cream cheese", Some("8 ounce, softened")),
        ("1 (15 ounce) can black beans, rinsed and drained", Some("1"), None, Some("can"), "black beans", Some("15 ounce, rinsed and drained")),
        ("2 cups dried figs (chopped, 16 ounces)", Some("2"), None, Some("cup"), "dried figs", Some("chopped, 16 ounces")),
        ("1 large egg (, slightly beaten)", Some("1"), None, None, "large egg", Some("slightly beaten")),
        ("1/2 cup (1 stick) unsalted butter, melted", Some("0.5"), None, Some("cup"), "unsalted butter", Some("1 stick, melted")),
        ("1 cup milk, or as needed", Some("1"), None, Some("cup"), "milk", Some("or as needed")),
        ("salt and ground black pepper to taste", None, None, None, "salt and ground black pepper", Some("to taste")),
        ("1 tablespoon chopped fresh parsley, or to taste", Some("1"), None, Some("tbsp"), "chopped fresh parsley", Some("or to taste")),
        ("2 (10.75 ounce) cans condensed cream of mushroom soup", Some("2"), None, Some("can"), "condensed cream of mushroom soup", Some("10.75 ounce")),
        ("1 pinch cayenne pepper, or to taste", Some("1"), None, Some("pinch"), "cayenne pepper", Some("or to taste")),
        ("4 cups chicken broth, divided", Some("4"), None, Some("cup"), "chicken broth", Some("divided")),
        ("1/4 teaspoon ground nutmeg", Some("0.25"), None, Some("tsp"), "ground nutmeg", None),
        ("1 1/2 cups shredded Cheddar cheese, divided", Some("1.5"), None, Some("cup"), "shredded Cheddar cheese", Some("divided")),
        ("3 tablespoons butter or margarine", Some("3"), None, Some("tbsp"), "butter or margarine", None),
        ("1 cup white sugar", Some("1"), None, Some("cup"), "white sugar", None),
        ("2 teaspoons vanilla extract", Some("2"), None, Some("tsp"), "vanilla extract", None),
        ("1/3 cup vegetable oil", Some("0.3333"), None, Some("cup"), "vegetable oil", None),
        ("6 slices bacon, chopped", Some("6"), None, Some("slice"), "bacon", Some("chopped")),
        ("1 (16 ounce) package spaghetti", Some("1"), None, Some("package"), "spaghetti", Some("16 ounce")),
        ("1 medium onion, diced", Some("1"), None, None, "medium onion", Some("diced")),
        ("2 cloves garlic, minced", Some("2"), None, Some("clove"), "garlic", Some("minced")),
        ("1 (28 ounce) can crushed tomatoes", Some("1"), None, Some("can"), "crushed tomatoes", Some("28 ounce")),
        ("1 teaspoon dried oregano", Some("1"), None, Some("tsp"), "dried oregano", None),
        ("1/2 teaspoon red pepper flakes (optional)", Some("0.5"), None, Some("tsp"), "red pepper flakes", Some("optional")),
        ("8 ounces sharp cheddar, grated (about 2 cups)", Some("8"), None, Some("oz"), "sharp cheddar", Some("grated (about 2 cups)")),
        ("1 1/4 pounds ground turkey", Some("1.25"), None, Some("lb"), "ground turkey", None),
        ("2 large russet potatoes, peeled and cubed", Some("2"), None, None, "large russet potatoes", Some("peeled and cubed")),
        ("1 cup frozen peas, thawed", Some("1"), None, Some("cup"), "frozen peas", Some("thawed")),
        ("1/2 cup heavy whipping cream", Some("0.5"), None, Some("cup"), "heavy whipping cream", None),
        ("3 cups cooked rice", Some("3"), None, Some("cup"), "cooked rice", None),
        ("1 quart vegetable oil for frying", Some("1"), None, Some("quart"), "vegetable oil", Some("for frying")),
        ("1 (.25 ounce) package active dry yeast", Some("1"), None, Some("package"), "active dry yeast", Some(".25 ounce")),
        ("2 1/2 cups warm water (110 degrees F/45 degrees C)", Some("2.5"), None, Some("cup"), "warm water", Some("110 degrees F/45 degrees C")),
        ("1 tablespoon white sugar", Some("1"), None, Some("tbsp"), "white sugar", None),
        ("1 teaspoon salt", Some("1"), None, Some("tsp"), "salt", None),
        ("1/4 cup olive oil", Some("0.25"), None, Some("cup"), "olive oil", None),
        ("2 ½ pounds beef chuck roast, cut into 1-inch cubes", Some("2.5"), None, Some("lb"), "beef chuck roast", Some("cut into 1-inch cubes")),
        ("1 cup dry red wine", Some("1"), None, Some("cup"), "dry red wine", None),
        ("3 medium carrots, sliced", Some("3"), None, None, "medium carrots", Some("sliced")),
        ("2 stalks celery, sliced", Some("2"), None, Some("stalk"), "celery", Some("sliced")),
        ("1 pound fresh mushrooms, quartered", Some("1"), None, Some("lb"), "fresh mushrooms", Some("quartered")),
        ("1 bay leaf", Some("1"), None, None, "bay leaf", None),
        ("2 sprigs fresh thyme", Some("2"), None, Some("sprig"), "fresh thyme", None),
        ("1 (6 ounce) can tomato paste", Some("1"), None, Some("can"), "tomato paste", Some("6 ounce")),
        ("1 teaspoon Worcestershire sauce", Some("1"), None, Some("tsp"), "Worcestershire sauce", None),
        ("12 ounces egg noodles", Some("12"), None, Some("oz"), "egg noodles", None),
        ("1 lemon, zested and juiced", Some("1"), None, None, "lemon", Some("zested and juiced")),
        ("1 bunch green onions, sliced", Some("1"), None, Some("bunch"), "green onions", Some("sliced")),
        ("1 tablespoon cornstarch mixed with 2 tablespoons water", Some("1"), None, Some("tbsp"), "cornstarch mixed with 2 tablespoons water", None),
        ("1 jalapeño pepper, seeded and minced", Some("1"), None, None, "jalapeño pepper", Some("seeded and minced")),
        ("1 pinch salt", Some("1"), None, Some("pinch"), "salt", None),
        ("2 cups fresh blueberries", Some("2"), None, Some("cup"), "fresh blueberries", None),
        ("1 1/3 cups milk", Some("1.3333"), None, Some("cup"), "milk", None),
        ("1 ½ teaspoons kosher salt", Some("1.5"), None, Some("tsp"), "kosher salt", None),
        ("¼ cup grated Parmesan cheese, plus more for serving", Some("0.25"), None, Some("cup"), "grated Parmesan cheese", Some("plus more for serving")),
        ("Kosher salt and freshly ground black pepper", None, None, None, "Kosher salt and freshly ground black pepper", None),
        ("2 tablespoons unsalted butter, at room temperature", Some("2"), None, Some("tbsp"), "unsalted butter", Some("at room temperature")),
        ("1 large shallot, thinly sliced", Some("1"), None, None, "large shallot", Some("thinly sliced")),
        ("1 pound dried spaghetti or linguine", Some("1"), None, Some("lb"), "dried spaghetti or linguine", None),
        ("200g plain flour", Some("200"), None, Some("g"), "plain flour", None),
        ("100g unsalted butter, softened", Some("100"), None, Some("g"), "unsalted butter", Some("softened")),
        ("2 tbsp olive oil", Some("2"), None, Some("tbsp"), "olive oil", None),
        ("1 tsp smoked paprika", Some("1"), None, Some("tsp"), "smoked paprika", None),
        ("300ml double cream", Some("300"), None, Some("ml"), "double cream", None),
        ("1 large onion, finely chopped", Some("1"), None, None, "large onion", Some("finely chopped")),
        ("2 garlic cloves, crushed", Some("2"), None, None, "garlic cloves", Some("crushed")),
        ("50g caster sugar", Some("50"), None, Some("g"), "caster sugar", None),
        ("1 vanilla pod, split", Some("1"), None, None, "vanilla pod", Some("split")),
        ("zest 1 lemon", None, None, None, "zest 1 lemon", None),
        ("½ small bunch parsley, chopped", Some("0.5"), None, Some("bunch"), "parsley", Some("small, chopped")),
        ("1 tbsp tomato purée", Some("1"), None, Some("tbsp"), "tomato purée", None),
        ("140g self-raising flour", Some("140"), None, Some("g"), "self-raising flour", None),
        ("3 medium eggs", Some("3"), None, None, "medium eggs", None),
        ("85g golden caster sugar", Some("85"), None, Some("g"), "golden caster sugar", None),
        ("1 litre vegetable stock", Some("1"), None, Some("l"), "vegetable stock", None),
        ("500g beef mince", Some("500"), None, Some("g"), "beef mince", None),
        ("1 tsp ground cumin", Some("1"), None, Some("tsp"), "ground cumin", None),
        ("150ml milk", Some("150"), None, Some("ml"), "milk", None),
        ("25g butter, melted", Some("25"), None, Some("g"), "butter", Some("melted")),
        ("1 egg, beaten", Some("1"), None, None, "egg", Some("beaten")),
        ("2 tbsp plain flour, for dusting", Some("2"), None, Some("tbsp"), "plain flour", Some("for dusting")),
        ("100ml white wine", Some("100"), None, Some("ml"), "white wine", None),
        ("1 red chilli, deseeded and finely chopped", Some("1"), None, None, "red chilli", Some("deseeded and finely chopped")),
        ("4 spring onions, sliced", Some("4"), None, None, "spring onions", Some("sliced")),
        ("200g basmati rice", Some("200"), None, Some("g"), "basmati rice", None),
        ("450g strong white bread flour", Some("450"), None, Some("g"), "strong white bread flour", None),
        ("1 tbsp clear honey", Some("1"), None, Some("tbsp"), "clear honey", None),
        ("75g dark chocolate, broken into pieces", Some("75"), None, Some("g"), "dark chocolate", Some("broken into pieces")),
        ("1kg floury potatoes, peeled", Some("1"), None, Some("kg"), "floury potatoes", Some("peeled")),
        ("2 tsp Dijon mustard", Some("2"), None, Some("tsp"), "Dijon mustard", None),
        ("3 tbsp mayonnaise", Some("3"), None, Some("tbsp"), "mayonnaise", None),
        ("1 cucumber, halved lengthways", Some("1"), None, None, "cucumber", Some("halved lengthways")),
        ("6 rashers streaky bacon", Some("6"), None, None, "rashers streaky bacon", None),
        ("1 pint whole milk", Some("1"), None, Some("pint"), "whole milk", None),
        ("2 tbsp chopped fresh coriander", Some("2"), None, Some("tbsp"), "chopped fresh coriander", None),
        ("100g frozen peas", Some("100"), None, Some("g"), "frozen peas", None),
        ("500 ml chicken stock", Some("500"), None, Some("ml"), "chicken stock", None),
        ("2 dl cream", Some("2"), None, Some("dl"), "cream", None),
        ("3 cl rum", Some("3"), None, Some("cl"), "rum", None),
        ("1 l water", Some("1"), None, Some("l"), "water", None),
        ("125 g butter, cubed", Some("125"), None, Some("g"), "butter", Some("cubed")),
        ("20 g fresh yeast", Some("20"), None, Some("g"), "fresh yeast", None),
        ("1 kg tomatoes", Some("1"), None, Some("kg"), "tomatoes", None),
        ("750 ml red wine", Some("750"), None, Some("ml"), "red wine", None),
        ("2,5 dl milk", Some("2.5"), None, Some("dl"), "milk", None),
        ("0,5 tsp salt", Some("0.5"), None, Some("tsp"), "salt", None),
        ("100 g sugar (or honey)", Some("100"), None, Some("g"), "sugar", Some("or honey")),
        ("1 cup (250 ml) milk", Some("1"), None, Some("cup"), "milk", Some("250 ml")),
        ("60 g (1/4 cup) butter", Some("60"), None, Some("g"), "butter", Some("1/4 cup")),
        ("180 g (1 1/2 cups) flour", Some("180"), None, Some("g"), "flour", Some("1 1/2 cups")),
        ("2 eggs (at room temperature)", Some("2"), None, None, "eggs", Some("at room temperature")),
        ("1 tsp (5 ml) vanilla extract", Some("1"), None, Some("tsp"), "vanilla extract", Some("5 ml")),
        ("200 ml (7 fl oz) coconut milk", Some("200"), None, Some("ml"), "coconut milk", Some("7 fl oz")),
        ("45 ml (3 tbsp) lemon juice", Some("45"), None, Some("ml"), "lemon juice", Some("3 tbsp")),
        ("3 tbsp (45 g) butter", Some("3"), None, Some("tbsp"), "butter", Some("45 g")),
        ("500 g (1 lb) minced beef", Some("500"), None, Some("g"), "minced beef", Some("1 lb")),
        ("15 ml soy sauce", Some("15"), None, Some("ml"), "soy sauce", None),
        ("5 g salt", Some("5"), None, Some("g"), "salt", None),
        ("2 kg potatoes", Some("2"), None, Some("kg"), "potatoes", None),
        ("300 g spinach, washed", Some("300"), None, Some("g"), "spinach", Some("washed")),
        ("2 to 3 tablespoons lemon juice", Some("2"), Some("3"), Some("tbsp"), "lemon juice", None),
        ("1–2 tsp chilli flakes", Some("1"), Some("2"), Some("tsp"), "chilli flakes", None),
        ("4-6 chicken thighs", Some("4"), Some("6"), None, "chicken thighs", None),
        ("1 or 2 jalapeños", Some("1"), Some("2"), None, "jalapeños", None),
        ("6 to 8 cups water", Some("6"), Some("8"), Some("cup"), "water", None),
        ("1/2 to 1 teaspoon salt", Some("0.5"), Some("1"), Some("tsp"), "salt", None),
        ("½–1 tsp cayenne", Some("0.5"), Some("1"), Some("tsp"), "cayenne", None),
        ("2-3 large tomatoes, chopped", Some("2"), Some("3"), None, "large tomatoes", Some("chopped")),
        ("1 1/2 to 2 pounds pork shoulder", Some("1.5"), Some("2"), Some("lb"), "pork shoulder", None),
        ("3-4 tablespoons milk", Some("3"), Some("4"), Some("tbsp"), "milk", None),
        ("1 cup butter or margarine, softened", Some("1"), None, Some("cup"), "butter or margarine", Some("softened")),
        ("2 cups of flour", Some("2"), None, Some("cup"), "flour", None),
        ("1 cup of sugar", Some("1"), None, Some("cup"), "sugar", None),
        ("a pinch of nutmeg", Some("1"), None, Some("pinch"), "nutmeg", None),
        ("a dash of hot sauce", Some("1"), None, Some("dash"), "hot sauce", None),
        ("3 cloves of garlic", Some("3"), None, Some("clove"), "garlic", None),
        ("1 teaspoon of salt", Some("1"), None, Some("tsp"), "salt", None),
        ("2 tablespoons of butter", Some("2"), None, Some("tbsp"), "butter", None),
        ("a handful of spinach", Some("1"), None, Some("handful"), "spinach", None),
        ("1 can of coconut milk", Some("1"), None, Some("can"), "coconut milk", None),
        ("4 slices of cheese", Some("4"), None, Some("slice"), "cheese", None),
        ("1 bunch of kale", Some("1"), None, Some("bunch"), "kale", None),
        ("2 sprigs of rosemary", Some("2"), None, Some("sprig"), "rosemary", None),
        ("1 head of broccoli, cut into florets", Some("1"), None, Some("head"), "broccoli", Some("cut into florets")),
        ("1 sheet of puff pastry", Some("1"), None, Some("sheet"), "puff pastry", None),
        ("1 (14 oz) can coconut milk", Some("1"), None, Some("can"), "coconut milk", Some("14 oz")),
        ("1 (14.5 ounce) can diced tomatoes", Some("1"), None, Some("can"), "diced tomatoes", Some("14.5 ounce")),
        ("2 (15 oz) cans kidney beans, drained", Some("2"), None, Some("can"), "kidney beans", Some("15 oz, drained")),
        ("1 (9 inch) pie crust", Some("1"), None, None, "pie crust", Some("9 inch")),
        ("1 (3 ounce) package lime gelatin", Some("1"), None, Some("package"), "lime gelatin", Some("3 ounce")),
        ("1 (12 fluid ounce) bottle beer", Some("1"), None, Some("bottle"), "beer", Some("12 fluid ounce")),
        ("1 (10 ounce) bag baby spinach", Some("1"), None, Some("bag"), "baby spinach", Some("10 ounce")),
        ("1 (1 pound) loaf French bread", Some("1"), None, None, "loaf French bread", Some("1 pound")),
        ("1 (2 pound) whole chicken", Some("1"), None, None, "whole chicken", Some("2 pound")),
        ("2 (8 ounce) packages cream cheese, softened", Some("2"), None, Some("package"), "cream cheese", Some("8 ounce, softened")),
        ("1 (17.3 ounce) package frozen puff pastry, thawed", Some("1"), None, Some("package"), "frozen puff pastry", Some("17.3 ounce, thawed")),
        ("1 (4 ounce) jar pimentos, drained", Some("1"), None, Some("jar"), "pimentos", Some("4 ounce, drained")),
        ("1 (5 ounce) box wild rice", Some("1"), None, Some("box"), "wild rice", Some("5 ounce")),
        ("⅔ cup buttermilk", Some("0.6667"), None, Some("cup"), "buttermilk", None),
        ("⅛ tsp ground cloves", Some("0.125"), None, Some("tsp"), "ground cloves", None),
        ("1⅓ cups water", Some("1.3333"), None, Some("cup"), "water", None),
        ("2½ cups flour", Some("2.5"), None, Some("cup"), "flour", None),
        ("0.25 cup honey", Some("0.25"), None, Some("cup"), "honey", None),
        ("1.5 lbs salmon", Some("1.5"), None, Some("lb"), "salmon", None),
        (".5 tsp salt", Some("0.5"), None, Some("tsp"), "salt", None),
        ("Salt", None, None, None, "Salt", None),
        ("Freshly ground black pepper", None, None, None, "Freshly ground black pepper", None),
        ("Vegetable oil, for frying", None, None, None, "Vegetable oil", Some("for frying")),
        ("Lemon wedges, for serving", None, None, None, "Lemon wedges", Some("for serving")),
        ("Chopped fresh chives, for garnish", None, None, None, "Chopped fresh chives", Some("for garnish")),
        ("Cooking spray", None, None, None, "Cooking spray", None),
        ("Water as needed", None, None, None, "Water", Some("as needed")),
        ("Sugar to taste", None, None, None, "Sugar", Some("to taste")),
        ("1 heaped tsp ground turmeric", Some("1"), None, Some("tsp"), "ground turmeric", Some("heaped")),
        ("2 large cloves garlic, smashed", Some("2"), None, Some("clove"), "garlic", Some("large, smashed")),
        ("1 level tablespoon cocoa powder", Some("1"), None, Some("tbsp"), "cocoa powder", Some("level")),
        ("1 small can sweetcorn, drained", Some("1"), None, Some("can"), "sweetcorn", Some("small, drained")),
        ("Oil for greasing", None, None, None, "Oil", Some("for greasing")),
        ("Crusty bread, to serve", None, None, None, "Crusty bread", Some("to serve")),
        ("2 tbsp olive oil, plus extra for drizzling", Some("2"), None, Some("tbsp"), "olive oil", Some("plus extra for drizzling")),
        ("Icing sugar for dusting", None, None, None, "Icing sugar", Some("for dusting")),
        ("", None, None, None, "", None),
    ];

    /// The cases the parser reads otherwise than labelled, each with what it read.
    fn misread(cases: &[Case]) -> Vec<String> {
        let mut wrong = Vec::new();
        for (line, quantity, max, unit, item, note) in cases {
            let parsed = parse_line(line);
            let got = (
                parsed.quantity.map(|q| q.to_decimal()),
                parsed.quantity_max.map(|q| q.to_decimal()),
                parsed.unit.map(|u| u.code),
                parsed.item.as_str(),
                parsed.note.as_deref(),
            );
            let want = (quantity.map(str::to_owned), max.map(str::to_owned), *unit, *item, *note);
            if got != want || parsed.original_text != *line {
                wrong.push(format!("{line:?}: got {got:?}, want {want:?}"));
            }
        }
        wrong
    }

    #[test]
    fn real_lines_parse_as_a_cook_would_read_them() {
        assert!(CASES.len() >= 200, "{} cases", CASES.len());
        let wrong = misread(CASES);
        assert!(
            wrong.is_empty(),
            "{} of {} lines:\n{}",
            wrong.len(),
            CASES.len(),
            wrong.join("\n")
        );
    }

    /// Lines in other languages, as recipe sites in those languages write them (one hand-labelled case a
    /// line, like `CASES`), and English shapes that real pages showed.
    #[rustfmt::skip]
    const MORE_CASES: &[Case] = &[
        // German
        ("2 EL Olivenöl", Some("2"), None, Some("tbsp"), "Olivenöl", None),
        ("1 TL Salz", Some("1"), None, Some("tsp"), "Salz", None),
        ("1 Prise Zucker", Some("1"), None, Some("pinch"), "Zucker", None),
        ("250 g Mehl", Some("250"), None, Some("g"), "Mehl", None),
        ("2 Zehen Knoblauch, gehackt", Some("2"), None, Some("clove"), "Knoblauch", Some("gehackt")),
        ("1 Pck. Vanillezucker", Some("1"), None, Some("package"), "Vanillezucker", None),
        ("1 Dose Tomaten (400 g)", Some("1"), None, Some("can"), "Tomaten", Some("400 g")),
        ("½ Bund Petersilie", Some("0.5"), None, Some("bunch"), "Petersilie", None),
        ("3 Scheiben Toastbrot", Some("3"), None, Some("slice"), "Toastbrot", None),
        ("1 Stück Ingwer", Some("1"), None, Some("piece"), "Ingwer", None),
        ("200 ml Sahne", Some("200"), None, Some("ml"), "Sahne", None),
        ("1 Msp. Muskatnuss", Some("1"), None, Some("pinch"), "Muskatnuss", None),
        // French
        ("2 cuillères à soupe d'huile d'olive", Some("2"), None, Some("tbsp"), "huile d'olive", None),
        ("1 c. à café de sel", Some("1"), None, Some("tsp"), "sel", None),
        ("200 g de farine", Some("200"), None, Some("g"), "farine", None),
        ("1 pincée de sel", Some("1"), None, Some("pinch"), "sel", None),
        ("3 gousses d'ail", Some("3"), None, Some("clove"), "ail", None),
        ("1 boîte de tomates concassées", Some("1"), None, Some("can"), "tomates concassées", None),
        ("2 tranches de jambon", Some("2"), None, Some("slice"), "jambon", None),
        ("1 sachet de levure chimique", Some("1"), None, Some("package"), "levure chimique", None),
        ("25 cl de lait", Some("25"), None, Some("cl"), "lait", None),
        // Spanish
        ("2 cucharadas de aceite de oliva", Some("2"), None, Some("tbsp"), "aceite de oliva", None),
        ("1 cucharadita de sal", Some("1"), None, Some("tsp"), "sal", None),
        ("200 gramos de harina", Some("200"), None, Some("g"), "harina", None),
        ("3 dientes de ajo", Some("3"), None, Some("clove"), "ajo", None),
        ("1 pizca de pimienta", Some("1"), None, Some("pinch"), "pimienta", None),
        ("1 taza de arroz", Some("1"), None, Some("cup"), "arroz", None),
        ("1 lata de garbanzos", Some("1"), None, Some("can"), "garbanzos", None),
        ("2 rebanadas de pan", Some("2"), None, Some("slice"), "pan", None),
        // Italian
        ("2 cucchiai di olio extravergine", Some("2"), None, Some("tbsp"), "olio extravergine", None),
        ("1 cucchiaino di sale", Some("1"), None, Some("tsp"), "sale", None),
        ("300 g di spaghetti", Some("300"), None, Some("g"), "spaghetti", None),
        ("2 spicchi d'aglio", Some("2"), None, Some("clove"), "aglio", None),
        ("1 pizzico di peperoncino", Some("1"), None, Some("pinch"), "peperoncino", None),
        ("4 fette di pane", Some("4"), None, Some("slice"), "pane", None),
        ("1 rametto di rosmarino", Some("1"), None, Some("sprig"), "rosmarino", None),
        // Dutch
        ("2 el olijfolie", Some("2"), None, Some("tbsp"), "olijfolie", None),
        ("1 tl zout", Some("1"), None, Some("tsp"), "zout", None),
        ("2 teentjes knoflook", Some("2"), None, Some("clove"), "knoflook", None),
        ("1 blik tomatenblokjes", Some("1"), None, Some("can"), "tomatenblokjes", None),
        ("1 snufje peper", Some("1"), None, Some("pinch"), "peper", None),
        ("1 bosje peterselie", Some("1"), None, Some("bunch"), "peterselie", None),
        // Portuguese
        ("2 colheres de sopa de azeite", Some("2"), None, Some("tbsp"), "azeite", None),
        ("2 colheres (sopa) de azeite", Some("2"), None, Some("tbsp"), "azeite", None),
        ("1 colher de chá de sal", Some("1"), None, Some("tsp"), "sal", None),
        ("2 xícaras de farinha de trigo", Some("2"), None, Some("cup"), "farinha de trigo", None),
        ("1 pitada de sal", Some("1"), None, Some("pinch"), "sal", None),
        ("3 dentes de alho", Some("3"), None, Some("clove"), "alho", None),
        ("1 lata de leite condensado", Some("1"), None, Some("can"), "leite condensado", None),
        // Danish and Swedish
        ("2 spsk olivenolie", Some("2"), None, Some("tbsp"), "olivenolie", None),
        ("1 tsk salt", Some("1"), None, Some("tsp"), "salt", None),
        ("2 fed hvidløg", Some("2"), None, Some("clove"), "hvidløg", None),
        ("1 dåse hakkede tomater", Some("1"), None, Some("can"), "hakkede tomater", None),
        ("2 msk smör", Some("2"), None, Some("tbsp"), "smör", None),
        ("3 dl mjölk", Some("3"), None, Some("dl"), "mjölk", None),
        ("1 krm salt", Some("1"), None, None, "krm salt", None),
        // Turkish
        ("2 yemek kaşığı zeytinyağı", Some("2"), None, Some("tbsp"), "zeytinyağı", None),
        ("1 çay kaşığı tuz", Some("1"), None, Some("tsp"), "tuz", None),
        ("2 su bardağı un", Some("2"), None, Some("cup"), "un", None),
        ("3 diş sarımsak", Some("3"), None, Some("clove"), "sarımsak", None),
        ("1 tutam maydanoz", Some("1"), None, Some("pinch"), "maydanoz", None),
        ("2 adet yumurta", Some("2"), None, Some("piece"), "yumurta", None),
        // More German
        ("500 g Kartoffeln, geschält", Some("500"), None, Some("g"), "Kartoffeln", Some("geschält")),
        ("1 kg Rinderhack", Some("1"), None, Some("kg"), "Rinderhack", None),
        ("2 Eier", Some("2"), None, None, "Eier", None),
        ("1 Zwiebel, fein gewürfelt", Some("1"), None, None, "Zwiebel", Some("fein gewürfelt")),
        ("100 ml Weißwein", Some("100"), None, Some("ml"), "Weißwein", None),
        ("3 EL Butter", Some("3"), None, Some("tbsp"), "Butter", None),
        ("½ TL Zimt", Some("0.5"), None, Some("tsp"), "Zimt", None),
        ("2 Stk. Paprika", Some("2"), None, Some("piece"), "Paprika", None),
        ("1 Glas Kapern", Some("1"), None, Some("jar"), "Kapern", None),
        ("4 Scheiben Speck", Some("4"), None, Some("slice"), "Speck", None),
        ("1 Liter Gemüsebrühe", Some("1"), None, Some("l"), "Gemüsebrühe", None),
        ("1 Tasse Reis", Some("1"), None, Some("cup"), "Reis", None),
        ("2 Knoblauchzehen", Some("2"), None, None, "Knoblauchzehen", None),
        ("1 Bund Schnittlauch, in Röllchen geschnitten", Some("1"), None, Some("bunch"), "Schnittlauch", Some("in Röllchen geschnitten")),
        ("1 Dose Kokosmilch (400 ml)", Some("1"), None, Some("can"), "Kokosmilch", Some("400 ml")),
        ("2-3 EL Honig", Some("2"), Some("3"), Some("tbsp"), "Honig", None),
        ("1 Päckchen Backpulver", Some("1"), None, Some("package"), "Backpulver", None),
        ("Salz nach Belieben", None, None, None, "Salz", Some("nach belieben")),
        // More French
        ("250 g de beurre", Some("250"), None, Some("g"), "beurre", None),
        ("3 œufs", Some("3"), None, None, "œufs", None),
        ("1 oignon, émincé", Some("1"), None, None, "oignon", Some("émincé")),
        ("2 c. à soupe de moutarde", Some("2"), None, Some("tbsp"), "moutarde", None),
        ("1 cuillère à café de cannelle", Some("1"), None, Some("tsp"), "cannelle", None),
        ("50 cl de crème fraîche", Some("50"), None, Some("cl"), "crème fraîche", None),
        ("1 l de bouillon de volaille", Some("1"), None, Some("l"), "bouillon de volaille", None),
        ("2 tasses de farine", Some("2"), None, Some("cup"), "farine", None),
        ("1 bocal de cornichons", Some("1"), None, Some("jar"), "cornichons", None),
        ("4 tranches de pain de mie", Some("4"), None, Some("slice"), "pain de mie", None),
        ("1 botte de radis", Some("1"), None, Some("bunch"), "radis", None),
        ("2 brins de thym", Some("2"), None, Some("sprig"), "thym", None),
        ("3 feuilles de laurier", Some("3"), None, Some("leaf"), "laurier", None),
        ("1 poignée de noix", Some("1"), None, Some("handful"), "noix", None),
        ("1,5 kg de pommes de terre", Some("1.5"), None, Some("kg"), "pommes de terre", None),
        ("1/2 citron", Some("0.5"), None, None, "citron", None),
        ("100 g de sucre en poudre", Some("100"), None, Some("g"), "sucre en poudre", None),
        ("2 c. à s. d'huile", Some("2"), None, Some("tbsp"), "huile", None),
        ("poivre à volonté", None, None, None, "poivre", Some("à volonté")),
        // More Spanish
        ("500 g de carne picada", Some("500"), None, Some("g"), "carne picada", None),
        ("2 huevos", Some("2"), None, None, "huevos", None),
        ("1 cebolla, picada", Some("1"), None, None, "cebolla", Some("picada")),
        ("1 cucharada de azúcar", Some("1"), None, Some("tbsp"), "azúcar", None),
        ("1/2 cucharadita de comino", Some("0.5"), None, Some("tsp"), "comino", None),
        ("250 ml de leche", Some("250"), None, Some("ml"), "leche", None),
        ("1 litro de agua", Some("1"), None, Some("l"), "agua", None),
        ("2 tazas de caldo de pollo", Some("2"), None, Some("cup"), "caldo de pollo", None),
        ("1 bote de tomate triturado", Some("1"), None, Some("jar"), "tomate triturado", None),
        ("1 sobre de levadura", Some("1"), None, Some("package"), "levadura", None),
        ("4 lonchas de jamón serrano", Some("4"), None, Some("slice"), "jamón serrano", None),
        ("1 manojo de cilantro", Some("1"), None, Some("bunch"), "cilantro", None),
        ("2 ramitas de romero", Some("2"), None, Some("sprig"), "romero", None),
        ("2 hojas de laurel", Some("2"), None, Some("leaf"), "laurel", None),
        ("1 puñado de almendras", Some("1"), None, Some("handful"), "almendras", None),
        ("1 kilo de patatas", Some("1"), None, Some("kg"), "patatas", None),
        ("200 gr de queso rallado", Some("200"), None, Some("g"), "queso rallado", None),
        ("sal al gusto", None, None, None, "sal", Some("al gusto")),
        // More Italian
        ("200 g di farina 00", Some("200"), None, Some("g"), "farina 00", None),
        ("3 uova", Some("3"), None, None, "uova", None),
        ("1 cipolla, tritata", Some("1"), None, None, "cipolla", Some("tritata")),
        ("2 cucchiai di zucchero", Some("2"), None, Some("tbsp"), "zucchero", None),
        ("1/2 cucchiaino di bicarbonato", Some("0.5"), None, Some("tsp"), "bicarbonato", None),
        ("500 ml di brodo vegetale", Some("500"), None, Some("ml"), "brodo vegetale", None),
        ("1 litro di latte", Some("1"), None, Some("l"), "latte", None),
        ("1 tazza di riso", Some("1"), None, Some("cup"), "riso", None),
        ("1 barattolo di pelati", Some("1"), None, Some("jar"), "pelati", None),
        ("1 bustina di lievito", Some("1"), None, Some("package"), "lievito", None),
        ("1 mazzetto di basilico", Some("1"), None, Some("bunch"), "basilico", None),
        ("2 foglie di salvia", Some("2"), None, Some("leaf"), "salvia", None),
        ("1 manciata di pinoli", Some("1"), None, Some("handful"), "pinoli", None),
        ("sale q.b.", None, None, None, "sale", Some("q.b.")),
        ("pepe nero a piacere", None, None, None, "pepe nero", Some("a piacere")),
        ("150 g di pancetta a cubetti", Some("150"), None, Some("g"), "pancetta a cubetti", None),
        ("1 spicchio d'aglio", Some("1"), None, Some("clove"), "aglio", None),
        ("2 fette di prosciutto crudo", Some("2"), None, Some("slice"), "prosciutto crudo", None),
        // More Dutch
        ("500 g bloem", Some("500"), None, Some("g"), "bloem", None),
        ("2 eieren", Some("2"), None, None, "eieren", None),
        ("1 ui, gesnipperd", Some("1"), None, None, "ui", Some("gesnipperd")),
        ("3 eetlepels suiker", Some("3"), None, Some("tbsp"), "suiker", None),
        ("1/2 theelepel kaneel", Some("0.5"), None, Some("tsp"), "kaneel", None),
        ("250 ml melk", Some("250"), None, Some("ml"), "melk", None),
        ("1 liter water", Some("1"), None, Some("l"), "water", None),
        ("1 kopje rijst", Some("1"), None, Some("cup"), "rijst", None),
        ("1 pakje boter", Some("1"), None, Some("package"), "boter", None),
        ("4 plakjes kaas", Some("4"), None, Some("slice"), "kaas", None),
        ("2 takjes tijm", Some("2"), None, Some("sprig"), "tijm", None),
        ("1 stuk gember", Some("1"), None, Some("piece"), "gember", None),
        ("zout naar smaak", None, None, None, "zout", Some("naar smaak")),
        ("2 tenen knoflook", Some("2"), None, Some("clove"), "knoflook", None),
        ("1 blikje mais", Some("1"), None, Some("can"), "mais", None),
        ("1 el olie", Some("1"), None, Some("tbsp"), "olie", None),
        // More Portuguese
        ("500 g de carne moída", Some("500"), None, Some("g"), "carne moída", None),
        ("3 ovos", Some("3"), None, None, "ovos", None),
        ("1 cebola picada", Some("1"), None, None, "cebola picada", None),
        ("1 colher (sopa) de manteiga", Some("1"), None, Some("tbsp"), "manteiga", None),
        ("1/2 colher (chá) de sal", Some("0.5"), None, Some("tsp"), "sal", None),
        ("200 ml de leite", Some("200"), None, Some("ml"), "leite", None),
        ("1 litro de água", Some("1"), None, Some("l"), "água", None),
        ("1 xícara (chá) de açúcar", Some("1"), None, Some("cup"), "açúcar", None),
        ("1 pacote de fermento", Some("1"), None, Some("package"), "fermento", None),
        ("4 fatias de pão", Some("4"), None, Some("slice"), "pão", None),
        ("1 maço de coentro", Some("1"), None, Some("bunch"), "coentro", None),
        ("2 folhas de louro", Some("2"), None, Some("leaf"), "louro", None),
        ("sal a gosto", None, None, None, "sal", Some("a gosto")),
        ("1 lata de creme de leite", Some("1"), None, Some("can"), "creme de leite", None),
        ("2 dentes de alho picados", Some("2"), None, Some("clove"), "alho picados", None),
        ("100 g de queijo ralado", Some("100"), None, Some("g"), "queijo ralado", None),
        ("1 pitada de noz-moscada", Some("1"), None, Some("pinch"), "noz-moscada", None),
        ("2 colheres de sopa de azeite de oliva", Some("2"), None, Some("tbsp"), "azeite de oliva", None),
        // More Danish and Swedish
        ("500 g hvedemel", Some("500"), None, Some("g"), "hvedemel", None),
        ("2 æg", Some("2"), None, None, "æg", None),
        ("1 løg, hakket", Some("1"), None, None, "løg", Some("hakket")),
        ("3 spsk sukker", Some("3"), None, Some("tbsp"), "sukker", None),
        ("½ tsk kanel", Some("0.5"), None, Some("tsp"), "kanel", None),
        ("2 dl fløde", Some("2"), None, Some("dl"), "fløde", None),
        ("1 liter vand", Some("1"), None, Some("l"), "vand", None),
        ("1 pakke gær", Some("1"), None, Some("package"), "gær", None),
        ("4 skiver rugbrød", Some("4"), None, Some("slice"), "rugbrød", None),
        ("salt efter smag", None, None, None, "salt", Some("efter smag")),
        ("500 g potatis", Some("500"), None, Some("g"), "potatis", None),
        ("2 ägg", Some("2"), None, None, "ägg", None),
        ("1 gul lök, finhackad", Some("1"), None, None, "gul lök", Some("finhackad")),
        ("2 tsk bakpulver", Some("2"), None, Some("tsp"), "bakpulver", None),
        ("1 burk krossade tomater", Some("1"), None, Some("can"), "krossade tomater", None),
        ("3 msk olivolja", Some("3"), None, Some("tbsp"), "olivolja", None),
        ("2 vitlöksklyftor", Some("2"), None, None, "vitlöksklyftor", None),
        ("4 skivor bacon", Some("4"), None, Some("slice"), "bacon", None),
        ("salt och peppar efter smak", None, None, None, "salt och peppar", Some("efter smak")),
        // More Turkish
        ("500 g kıyma", Some("500"), None, Some("g"), "kıyma", None),
        ("2 adet soğan", Some("2"), None, Some("piece"), "soğan", None),
        ("1 su bardağı pirinç", Some("1"), None, Some("cup"), "pirinç", None),
        ("3 yemek kaşığı tereyağı", Some("3"), None, Some("tbsp"), "tereyağı", None),
        ("1/2 çay kaşığı karabiber", Some("0.5"), None, Some("tsp"), "karabiber", None),
        ("200 ml süt", Some("200"), None, Some("ml"), "süt", None),
        ("1 litre su", Some("1"), None, Some("l"), "su", None),
        ("2 diş sarımsak, ezilmiş", Some("2"), None, Some("clove"), "sarımsak", Some("ezilmiş")),
        ("1 kutu domates", Some("1"), None, Some("can"), "domates", None),
        ("1 paket kabartma tozu", Some("1"), None, Some("package"), "kabartma tozu", None),
        ("4 dilim ekmek", Some("4"), None, Some("slice"), "ekmek", None),
        ("1 demet maydanoz", Some("1"), None, Some("bunch"), "maydanoz", None),
        ("3 yaprak defne", Some("3"), None, Some("leaf"), "defne", None),
        ("2 yumurta", Some("2"), None, None, "yumurta", None),
        ("1 kg patates", Some("1"), None, Some("kg"), "patates", None),
        ("tuz isteğe göre", None, None, None, "tuz", Some("isteğe göre")),
        // English shapes from real pages
        ("nagaimo: 160 g", Some("160"), None, Some("g"), "nagaimo", None),
        ("Juice of 1 lime", Some("1"), None, None, "lime", Some("juice")),
        ("Zest and juice of 2 lemons", Some("2"), None, None, "lemons", Some("zest and juice")),
        ("~5 – 6 tomatoes", Some("5"), Some("6"), None, "tomatoes", Some("about")),
        ("about 2 cups stock", Some("2"), None, Some("cup"), "stock", Some("about")),
        ("9 inch pound cake", None, None, None, "pound cake", Some("9 inch")),
        ("1 13oz. can coconut milk", Some("1"), None, Some("can"), "coconut milk", Some("13 oz")),
        ("1 TB butter", Some("1"), None, Some("tbsp"), "butter", None),
        ("1/2 cup sliced, toasted almonds", Some("0.5"), None, Some("cup"), "almonds", Some("sliced, toasted")),
        ("1 - 3 pound whole chicken", Some("1"), Some("3"), Some("lb"), "whole chicken", None),
    ];

    #[test]
    fn lines_in_other_languages_and_shapes_from_real_pages() {
        let wrong = misread(MORE_CASES);
        assert!(
            wrong.is_empty(),
            "{} of {} lines:\n{}",
            wrong.len(),
            MORE_CASES.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn every_language_table_names_known_units() {
        for table in LANGUAGE_TABLES {
            for line in table
                .lines()
                .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
            {
                let (code, spellings) = line.split_once('=').unwrap_or((line, ""));
                let code = code.trim();
                assert!(
                    code == "of" || code == "notes" || UNITS.iter().any(|u| u.code == code),
                    "{line}"
                );
                assert!(
                    spellings.split(',').all(|s| s.trim() == s.trim().to_lowercase()),
                    "lower case: {line}"
                );
            }
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
