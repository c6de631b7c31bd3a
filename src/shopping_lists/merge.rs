//! From planned ingredients to shopping lines: scaled quantities merged by item and compatible unit, shown in
//! a sensible unit. Pure functions; the README's conversion table is this file's `measure`.
//!
//! - Mass and volume units convert within their dimension. Amounts in one system are summed exactly in that
//!   system (metric in g or ml, US mass in oz, US volume in tsp: 1 tbsp = 3 tsp, 1 fl oz = 6 tsp,
//!   1 cup = 48 tsp, 1 pint = 2 cups, 1 quart = 4 cups, 1 gallon = 16 cups); a line mixing systems is summed in
//!   g or ml (1 oz = 28.349523 g, 1 tsp = 4.928922 ml) and rounded to a whole g or ml (to 0.1 below 10).
//! - Shown in: kg from 1 000 g, mg below 1 g, l from 1 000 ml; lb from 1 lb in whole quarter pounds (any
//!   amount from 4 lb), else oz; cup from ¼ cup in whole eighths of a cup (any amount from 2 cups), else tbsp
//!   from 1 tbsp in whole half tablespoons (any amount from 8 tbsp), else tsp.
//! - Other units (cloves, cans, pinches…) are summed only with the same unit; amounts without a unit (2 eggs)
//!   are counts, summed together.
//! - A range ("2–3 cloves") counts as its upper end: enough to cook it.
//! - An item without a quantity ("salt to taste") is listed once, or joins a line of the same item that has one.
//! - Items match ignoring case, spacing and a plural ending ("Egg" and "eggs").

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use crate::recipes::quantity::Quantity;

/// One planned ingredient, already scaled to the entry's servings.
#[derive(Clone, Debug)]
pub struct Need {
    pub item: String,
    pub quantity: Option<Quantity>,
    /// A unit code from the parser's table (`g`, `cup`, `clove`, …).
    pub unit: Option<String>,
    pub recipe_id: Uuid,
    pub recipe_title: String,
}

/// One line of the list.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub item: String,
    pub quantity: Option<Quantity>,
    pub unit: Option<&'static str>,
    /// The recipes it comes from, each once, in plan order.
    pub recipes: Vec<(Uuid, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dimension {
    Mass,
    Volume,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum System {
    Metric,
    Us,
}

/// A convertible unit: its amount in its system's base unit (g, ml, oz, tsp) and in the metric base.
struct Measure {
    dimension: Dimension,
    system: System,
    in_base: &'static str,
    in_metric: &'static str,
}

fn measure(unit: &str) -> Option<Measure> {
    use Dimension::{Mass, Volume};
    use System::{Metric, Us};
    let (dimension, system, in_base, in_metric) = match unit {
        "mg" => (Mass, Metric, "0.001", "0.001"),
        "g" => (Mass, Metric, "1", "1"),
        "kg" => (Mass, Metric, "1000", "1000"),
        "oz" => (Mass, Us, "1", "28.349523"),
        "lb" => (Mass, Us, "16", "453.59237"),
        "ml" => (Volume, Metric, "1", "1"),
        "cl" => (Volume, Metric, "10", "10"),
        "dl" => (Volume, Metric, "100", "100"),
        "l" => (Volume, Metric, "1000", "1000"),
        "tsp" => (Volume, Us, "1", "4.928922"),
        "tbsp" => (Volume, Us, "3", "14.786765"),
        "fl_oz" => (Volume, Us, "6", "29.57353"),
        "cup" => (Volume, Us, "48", "236.588237"),
        "pint" => (Volume, Us, "96", "473.176473"),
        "quart" => (Volume, Us, "192", "946.352946"),
        "gallon" => (Volume, Us, "768", "3785.411784"),
        _ => return None,
    };
    Some(Measure {
        dimension,
        system,
        in_base,
        in_metric,
    })
}

/// Whether amounts in `unit` are written as decimals (metric) rather than kitchen fractions.
pub fn is_metric(unit: &str) -> bool {
    measure(unit).is_some_and(|m| m.system == System::Metric)
}

fn q(text: &str) -> Option<Quantity> {
    Quantity::parse(text)
}

/// What an amount may be summed with.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Measured(Dimension),
    Unit(String),
    Count,
}

/// The amounts of one item in one group, as given.
struct Amounts {
    item: String,
    parts: Vec<(Quantity, Option<String>)>,
    recipes: Vec<(Uuid, String)>,
}

fn add_recipe(recipes: &mut Vec<(Uuid, String)>, id: Uuid, title: &str) {
    if !recipes.iter().any(|(r, _)| *r == id) {
        recipes.push((id, title.to_owned()));
    }
}

/// The matching key of an item: lower case, single spaces, without a plural ending.
pub fn item_key(item: &str) -> String {
    let key = item.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    if let Some(stem) = key.strip_suffix("ies").filter(|s| s.len() > 1) {
        format!("{stem}y")
    } else if let Some(stem) = key.strip_suffix("oes") {
        format!("{stem}o")
    } else if key.ends_with('s') && !key.ends_with("ss") && !key.ends_with("us") && key.len() > 3 {
        key[..key.len() - 1].to_owned()
    } else {
        key
    }
}

/// Merges the needs into lines, ordered by item, then mass, volume, other units, counts.
pub fn merge(needs: &[Need]) -> Vec<Line> {
    let mut groups: BTreeMap<(String, Group), Amounts> = BTreeMap::new();
    let mut unquantified: BTreeMap<String, Amounts> = BTreeMap::new();
    for need in needs {
        let key = item_key(&need.item);
        let Some(quantity) = need.quantity else {
            let entry = unquantified.entry(key).or_insert_with(|| Amounts {
                item: need.item.clone(),
                parts: Vec::new(),
                recipes: Vec::new(),
            });
            add_recipe(&mut entry.recipes, need.recipe_id, &need.recipe_title);
            continue;
        };
        let group = match need.unit.as_deref() {
            None => Group::Count,
            Some(unit) => measure(unit).map_or_else(|| Group::Unit(unit.to_owned()), |m| Group::Measured(m.dimension)),
        };
        let entry = groups.entry((key, group)).or_insert_with(|| Amounts {
            item: need.item.clone(),
            parts: Vec::new(),
            recipes: Vec::new(),
        });
        entry.parts.push((quantity, need.unit.clone()));
        add_recipe(&mut entry.recipes, need.recipe_id, &need.recipe_title);
    }
    let mut lines: Vec<(String, Line)> = Vec::new();
    for ((key, group), amounts) in groups {
        let Amounts { item, parts, recipes } = amounts;
        match total(&group, &parts) {
            Some((quantity, unit)) => lines.push((
                key,
                Line {
                    item,
                    quantity: Some(quantity),
                    unit,
                    recipes,
                },
            )),
            // Too large to add up exactly: each amount keeps its own line.
            None => lines.extend(parts.into_iter().map(|(quantity, unit)| {
                (
                    key.clone(),
                    Line {
                        item: item.clone(),
                        quantity: Some(quantity),
                        unit: unit.as_deref().and_then(unit_code),
                        recipes: recipes.clone(),
                    },
                )
            })),
        }
    }
    // Lines come out of the map in key order: the first line of each key is where its unquantified
    // mentions go.
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for (i, (key, _)) in lines.iter().enumerate() {
        first_line.entry(key.clone()).or_insert(i);
    }
    for (key, amounts) in unquantified {
        match first_line.get(&key).and_then(|&i| lines.get_mut(i)) {
            Some((_, line)) => {
                for (id, title) in &amounts.recipes {
                    add_recipe(&mut line.recipes, *id, title);
                }
            }
            None => lines.push((
                key,
                Line {
                    item: amounts.item,
                    quantity: None,
                    unit: None,
                    recipes: amounts.recipes,
                },
            )),
        }
    }
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    // A line's recipes in plan order, whichever group saw them first.
    let mut first_seen: HashMap<Uuid, usize> = HashMap::new();
    for (i, need) in needs.iter().enumerate() {
        first_seen.entry(need.recipe_id).or_insert(i);
    }
    lines
        .into_iter()
        .map(|(_, mut line)| {
            line.recipes.sort_by_key(|(id, _)| first_seen.get(id).copied());
            line
        })
        .collect()
}

/// The parser's static code for a unit code.
fn unit_code(code: &str) -> Option<&'static str> {
    crate::recipes::parser::UNITS
        .iter()
        .find(|u| u.code == code)
        .map(|u| u.code)
}

/// The sum of a group's amounts in the unit it is shown in; `None` when it does not fit a `Quantity`.
fn total(group: &Group, parts: &[(Quantity, Option<String>)]) -> Option<(Quantity, Option<&'static str>)> {
    let sum = |factor: &dyn Fn(Option<&str>) -> Option<Quantity>| {
        parts.iter().try_fold(Quantity::new(0, 1)?, |acc, (quantity, unit)| {
            acc.checked_add(quantity.checked_mul(factor(unit.as_deref())?)?)
        })
    };
    match group {
        Group::Count => Some((sum(&|_| q("1"))?, None)),
        Group::Unit(unit) => Some((sum(&|_| q("1"))?, unit_code(unit))),
        Group::Measured(dimension) => {
            let measures: Vec<Measure> = parts.iter().filter_map(|(_, u)| measure(u.as_deref()?)).collect();
            let system = measures.first()?.system;
            if measures.iter().all(|m| m.system == system) {
                let base = sum(&|u| q(measure(u?)?.in_base))?;
                Some(shown(*dimension, system, base))
            } else {
                let metric = round_converted(sum(&|u| q(measure(u?)?.in_metric))?)?;
                Some(shown(*dimension, System::Metric, metric))
            }
        }
    }
}

/// A converted metric amount rounded to a whole unit, or to 0.1 below 10.
fn round_converted(amount: Quantity) -> Option<Quantity> {
    amount.rounded(if amount >= q("10")? { 1 } else { 10 })
}

/// An amount in its system's base unit, in the unit a cook would buy it in: the largest unit in which it is
/// at least one of that unit and a kitchen amount (whole eighths of a cup, halves of a tablespoon, quarters
/// of a pound), or plainly large (from 2 cups, 4 lb).
fn shown(dimension: Dimension, system: System, base: Quantity) -> (Quantity, Option<&'static str>) {
    let fits = |per: &str, at_least: &str, steps: u64, large: &str| {
        let (Some(per), Some(at_least), Some(large)) = (q(per), q(at_least), q(large)) else {
            return false;
        };
        let steps = Quantity::new(steps, 1).and_then(|s| base.checked_div(per)?.checked_mul(s));
        base >= at_least && (base >= large || steps.is_some_and(Quantity::is_whole))
    };
    let (unit, per) = match (dimension, system) {
        (Dimension::Mass, System::Metric) if base >= q("1000").unwrap_or(base) => ("kg", "1000"),
        (Dimension::Mass, System::Metric) if base < q("1").unwrap_or(base) => ("mg", "0.001"),
        (Dimension::Mass, System::Metric) => ("g", "1"),
        (Dimension::Mass, System::Us) if fits("16", "16", 4, "64") => ("lb", "16"),
        (Dimension::Mass, System::Us) => ("oz", "1"),
        (Dimension::Volume, System::Metric) if base >= q("1000").unwrap_or(base) => ("l", "1000"),
        (Dimension::Volume, System::Metric) => ("ml", "1"),
        (Dimension::Volume, System::Us) if fits("48", "12", 8, "96") => ("cup", "48"),
        (Dimension::Volume, System::Us) if fits("3", "3", 2, "24") => ("tbsp", "3"),
        (Dimension::Volume, System::Us) => ("tsp", "1"),
    };
    let amount = q(per).and_then(|p| base.checked_div(p)).unwrap_or(base);
    (amount, unit_code(unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(item: &str, quantity: Option<&str>, unit: Option<&str>, recipe: u128) -> Need {
        Need {
            item: item.into(),
            quantity: quantity.map(|t| Quantity::parse(t).unwrap_or_else(|| panic!("{t}"))),
            unit: unit.map(Into::into),
            recipe_id: Uuid::from_u128(recipe),
            recipe_title: format!("R{recipe}"),
        }
    }

    fn shown_lines(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| match l.quantity {
                Some(q) => format!("{} {} {}", q.to_decimal(), l.unit.unwrap_or("-"), l.item),
                None => l.item.clone(),
            })
            .collect()
    }

    #[test]
    fn units_of_one_system_add_up_exactly_and_are_shown_in_a_sensible_unit() {
        let lines = merge(&[
            need("flour", Some("1000"), Some("g"), 1),
            need("Flour", Some("500"), Some("g"), 2),
            need("milk", Some("1"), Some("cup"), 1),
            need("milk", Some("2"), Some("tbsp"), 2),
            need("sugar", Some("1"), Some("tsp"), 1),
            need("sugar", Some("2"), Some("tsp"), 1),
            need("butter", Some("8"), Some("oz"), 1),
            need("butter", Some("1"), Some("lb"), 2),
            need("stock", Some("750"), Some("ml"), 1),
            need("stock", Some("50"), Some("cl"), 2),
            need("saffron", Some("0.5"), Some("g"), 1),
        ]);
        assert_eq!(
            shown_lines(&lines),
            [
                "1.5 lb butter",
                "1.5 kg flour",
                "1.125 cup milk",
                "500 mg saffron",
                "1.25 l stock",
                "1 tbsp sugar"
            ]
        );
        assert_eq!(lines[1].recipes.len(), 2, "both recipes, once each");
    }

    #[test]
    fn us_amounts_are_shown_as_a_cook_measures_them() {
        let lines = merge(&[
            need("sugar", Some("8.5"), Some("tbsp"), 1),
            need("oil", Some("1/3"), Some("cup"), 1),
            need("oil", Some("10"), Some("tbsp"), 2),
            need("cheese", Some("17"), Some("oz"), 1),
            need("beef", Some("4.1"), Some("lb"), 1),
            need("milk", Some("2.1"), Some("cup"), 1),
            need("cumin", Some("1/2"), Some("tbsp"), 1),
        ]);
        assert_eq!(
            shown_lines(&lines),
            [
                "4.1 lb beef",
                "17 oz cheese",
                "1.5 tsp cumin",
                "2.1 cup milk",
                "15.3333 tbsp oil",
                "8.5 tbsp sugar"
            ]
        );
    }

    #[test]
    fn mixed_systems_meet_in_metric_and_round() {
        let lines = merge(&[
            need("butter", Some("8"), Some("oz"), 1),
            need("butter", Some("100"), Some("g"), 2),
            need("vanilla", Some("1"), Some("tsp"), 1),
            need("vanilla", Some("2"), Some("ml"), 2),
        ]);
        // 226.796 + 100 = 326.796 g → 327 g; 4.929 + 2 = 6.929 ml → 6.9 ml.
        assert_eq!(shown_lines(&lines), ["327 g butter", "6.9 ml vanilla"]);
    }

    #[test]
    fn other_units_counts_and_unquantified_items_stay_apart_or_once() {
        let lines = merge(&[
            need("garlic", Some("2"), Some("clove"), 1),
            need("garlic", Some("1"), Some("clove"), 2),
            need("garlic", Some("1"), Some("head"), 3),
            need("egg", Some("2"), None, 1),
            need("eggs", Some("3"), None, 2),
            need("salt", None, None, 1),
            need("Salt", None, None, 2),
            need("pepper", Some("1"), Some("tsp"), 1),
            need("pepper", None, None, 2),
        ]);
        assert_eq!(
            shown_lines(&lines),
            ["5 - egg", "3 clove garlic", "1 head garlic", "1 tsp pepper", "salt"]
        );
        assert_eq!(
            lines[3].recipes.len(),
            2,
            "the unquantified pepper joins the measured line"
        );
        assert_eq!(lines[4].recipes.len(), 2, "salt listed once for both recipes");
    }

    #[test]
    fn item_keys_ignore_case_spacing_and_plurals() {
        assert_eq!(item_key("  Cherry   Tomatoes "), "cherry tomato");
        assert_eq!(item_key("berries"), "berry");
        assert_eq!(item_key("eggs"), "egg");
        assert_eq!(item_key("Glass noodles"), "glass noodle");
        assert_eq!(item_key("couscous"), "couscous");
        assert_eq!(item_key("gas"), "gas");
    }
}
