//! Checks on a GraphQL document before the library validates it, for what async-graphql does not bound
//! itself: document size, token count, aliases, the size of the document with every fragment expanded,
//! fragment cycles, and (in production) introspection with an explicit error. Depth, complexity,
//! recursion and directives are set on the schema (`graphql::build`) and coded by `graphql::refusals`.
//!
//! The expanded size matters because validation walks a fragment's selection again at every spread: 13
//! fragments that each spread the previous one 10 times are 1.3 KB of text and 10¹³ fields to validate.
//! Here each fragment is measured once (memoised, cycle-safe, saturating), so deciding costs time linear
//! in the text.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet};
use async_graphql::{Name, Positioned};

pub const MAX_DOCUMENT_BYTES: usize = 15_000;
pub const MAX_TOKENS: usize = 1_000;
pub const MAX_ALIASES: usize = 15;
/// Documents that only introspect (`__schema`, `__type`, `__typename` at the root) are bounded by their own
/// shape instead of the data-query limits: nesting without counting `ofType` (the standard query reaches 6),
/// and `ofType` chains (graphql-js 16 nests 9). Abuse such as `types { fields { type { fields …` stays
/// bounded by the first, `ofType` towers by the second, and both by the expanded size.
pub const MAX_INTROSPECTION_DEPTH: u32 = 8;
pub const MAX_OF_TYPE_CHAIN: u32 = 12;
/// Fields of every operation and fragment definition with all spreads expanded. The standard
/// introspection query is about 400; a 20-recipe page with everything on it about 100.
pub const MAX_EXPANDED_FIELDS: u64 = 2_000;

/// Why a document was refused before validation.
#[derive(Debug)]
pub enum Refusal {
    /// Over a limit; `kind` names it (security log and `extensions.limit`).
    Limit { kind: &'static str, message: String },
    /// Introspection where it is disabled.
    Introspection,
    /// Not a GraphQL document.
    Parse(async_graphql::ServerError),
    /// A fragment that spreads itself, directly or not (a validation error, decided here for free).
    FragmentCycle(String),
}

fn limit(kind: &'static str, message: String) -> Refusal {
    Refusal::Limit { kind, message }
}

/// A document that passed: parsed, with its expanded size (what validating it will cost).
#[derive(Debug)]
pub struct Checked {
    pub document: ExecutableDocument,
    pub expanded_fields: u64,
    /// Every operation selects only introspection fields (bounded above; run without the data limits).
    pub introspection_only: bool,
}

/// Checks a document and returns it parsed.
pub fn check(query: &str, introspection_allowed: bool) -> Result<Checked, Refusal> {
    if query.len() > MAX_DOCUMENT_BYTES {
        return Err(limit(
            "document_size",
            format!("document larger than {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    if count_tokens(query) > MAX_TOKENS {
        return Err(limit("tokens", format!("document has more than {MAX_TOKENS} tokens")));
    }
    let document = async_graphql::parser::parse_query(query).map_err(|e| Refusal::Parse(e.into()))?;
    let mut stats = Stats::default();
    let mut measures = Measurer::new(&document.fragments);
    let mut operations = Vec::new();
    for (_, operation) in document.operations.iter() {
        stats.walk(&operation.node.selection_set);
        operations.push(measures.set(&operation.node.selection_set.node));
    }
    // Unused fragments are validated too, so they count.
    let mut expanded_fields = operations.iter().fold(0u64, |n, m| n.saturating_add(m.fields));
    for (name, fragment) in &document.fragments {
        stats.walk(&fragment.node.selection_set);
        expanded_fields = expanded_fields.saturating_add(measures.fragment(name).fields);
    }
    if let Some(name) = measures.cycle {
        return Err(Refusal::FragmentCycle(format!("fragment \"{name}\" spreads itself")));
    }
    if expanded_fields > MAX_EXPANDED_FIELDS {
        return Err(limit(
            "expanded_fields",
            format!("document has more than {MAX_EXPANDED_FIELDS} fields with its fragments expanded"),
        ));
    }
    if stats.aliases > MAX_ALIASES {
        return Err(limit("aliases", format!("too many aliases (limit {MAX_ALIASES})")));
    }
    if stats.introspection && !introspection_allowed {
        return Err(Refusal::Introspection);
    }
    let introspection_only = operations.iter().all(|m| m.introspection_only);
    let too_deep = |m: &Measure| m.depth > MAX_INTROSPECTION_DEPTH || m.of_type > MAX_OF_TYPE_CHAIN;
    if introspection_only && operations.iter().any(too_deep) {
        return Err(limit(
            "introspection_depth",
            format!(
                "introspection nested deeper than {MAX_INTROSPECTION_DEPTH} levels or {MAX_OF_TYPE_CHAIN} ofType levels"
            ),
        ));
    }
    Ok(Checked {
        document,
        expanded_fields,
        introspection_only,
    })
}

/// A selection with every fragment spread expanded.
#[derive(Clone, Copy, Debug)]
struct Measure {
    /// Fields (saturating).
    fields: u64,
    /// Deepest nesting, not counting `ofType` levels.
    depth: u32,
    /// Deepest chain of `ofType` levels.
    of_type: u32,
    /// Every field at this level is an introspection root field (`__schema`, `__type`, `__typename`).
    introspection_only: bool,
}

impl Measure {
    const EMPTY: Self = Self {
        fields: 0,
        depth: 0,
        of_type: 0,
        introspection_only: true,
    };

    /// Two sibling selections together.
    fn and(self, other: Self) -> Self {
        Self {
            fields: self.fields.saturating_add(other.fields),
            depth: self.depth.max(other.depth),
            of_type: self.of_type.max(other.of_type),
            introspection_only: self.introspection_only && other.introspection_only,
        }
    }
}

/// Measures selections in time linear in the text: each fragment is measured once (memoised), a fragment
/// met while being measured is a cycle (recorded, counted as empty), and counts saturate.
struct Measurer<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// `None` while the fragment is being measured.
    memo: HashMap<&'a str, Option<Measure>>,
    cycle: Option<&'a str>,
}

impl<'a> Measurer<'a> {
    fn new(fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>) -> Self {
        Self {
            fragments,
            memo: HashMap::new(),
            cycle: None,
        }
    }

    fn set(&mut self, set: &'a SelectionSet) -> Measure {
        set.items.iter().fold(Measure::EMPTY, |siblings, item| {
            let measure = match &item.node {
                Selection::Field(field) => {
                    let children = self.set(&field.node.selection_set.node);
                    let name = field.node.name.node.as_str();
                    let of_type = name == "ofType";
                    Measure {
                        fields: children.fields.saturating_add(1),
                        depth: children.depth.saturating_add(u32::from(!of_type)),
                        of_type: children.of_type.saturating_add(u32::from(of_type)),
                        introspection_only: matches!(name, "__schema" | "__type" | "__typename"),
                    }
                }
                Selection::InlineFragment(inline) => self.set(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node),
            };
            siblings.and(measure)
        })
    }

    fn fragment(&mut self, name: &'a str) -> Measure {
        match self.memo.get(name) {
            Some(Some(measure)) => return *measure,
            Some(None) => {
                self.cycle.get_or_insert(name);
                return Measure::EMPTY;
            }
            None => {}
        }
        // An unknown fragment expands to nothing; validation names it.
        let Some((name, definition)) = self.fragments.get_key_value(name) else {
            return Measure::EMPTY;
        };
        let name: &'a str = name;
        self.memo.insert(name, None);
        let measure = self.set(&definition.node.selection_set.node);
        self.memo.insert(name, Some(measure));
        measure
    }
}

#[derive(Default)]
struct Stats {
    aliases: usize,
    introspection: bool,
}

impl Stats {
    fn walk(&mut self, set: &Positioned<SelectionSet>) {
        for item in &set.node.items {
            match &item.node {
                Selection::Field(field) => {
                    self.aliases += usize::from(field.node.alias.is_some());
                    let name = field.node.name.node.as_str();
                    self.introspection |= name == "__schema" || name == "__type";
                    self.walk(&field.node.selection_set);
                }
                Selection::InlineFragment(fragment) => self.walk(&fragment.node.selection_set),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
}

/// Lexical tokens as the GraphQL spec counts them (punctuators, names, numbers, strings); commas,
/// white space and comments are ignored.
pub fn count_tokens(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut i, mut tokens) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if query[i..].starts_with("\"\"\"") => {
                tokens += 1;
                i += 3;
                while i < bytes.len() && !query[i..].starts_with("\"\"\"") {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 3;
            }
            b'"' => {
                tokens += 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'.' if query[i..].starts_with("...") => {
                tokens += 1;
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                tokens += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || b"_.-+".contains(&bytes[i])) {
                    i += 1;
                }
            }
            _ => {
                tokens += 1;
                i += 1;
            }
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_like_the_spec() {
        assert_eq!(count_tokens("{ health { status } }"), 6);
        assert_eq!(
            count_tokens("query Q($a: Int = -1.5e3) { f(x: $a, s: \"a \\\" b\") # c\n }"),
            22
        );
        assert_eq!(count_tokens("\"\"\"block \"\" string\"\"\" { a ...F }"), 6);
    }

    fn refused(query: &str, introspection_allowed: bool) -> Option<&'static str> {
        match check(query, introspection_allowed) {
            Ok(_) => None,
            Err(Refusal::Limit { kind, .. }) => Some(kind),
            Err(Refusal::Introspection) => Some("introspection"),
            Err(Refusal::Parse(_)) => Some("parse"),
            Err(Refusal::FragmentCycle(_)) => Some("cycle"),
        }
    }

    /// `levels` fragments, each spreading the previous one `fan_out` times (the shape that stalled us).
    fn fan_out_chain(levels: usize, fan_out: usize) -> String {
        let mut doc = format!("{{ health {{ ...F{levels} }} }}\nfragment F1 on HealthReport {{ status }}\n");
        for level in 2..=levels {
            let spreads = format!("...F{} ", level - 1).repeat(fan_out);
            doc.push_str(&format!("fragment F{level} on HealthReport {{ {spreads}}}\n"));
        }
        doc
    }

    #[test]
    fn aliases_are_counted_through_fragments() {
        let many: String = (0..16).map(|i| format!("a{i}: health {{ status }} ")).collect();
        assert_eq!(refused(&format!("{{ {many} }}"), true), Some("aliases"));
        let in_fragment: String = (0..16).map(|i| format!("a{i}: status ")).collect();
        let doc = format!("{{ health {{ ...F }} }} fragment F on HealthReport {{ {in_fragment} }}");
        assert_eq!(refused(&doc, true), Some("aliases"));
        let few: String = (0..15).map(|i| format!("a{i}: health {{ status }} ")).collect();
        assert_eq!(refused(&format!("{{ {few} }}"), true), None);
    }

    #[test]
    fn size_tokens_parse_and_introspection() {
        assert_eq!(refused(&" ".repeat(15_001), true), Some("document_size"));
        assert_eq!(refused(&"{a}".repeat(400), true), Some("tokens"));
        assert_eq!(refused("{ __schema { types { name } } }", false), Some("introspection"));
        assert_eq!(
            refused("{ h: __type(name: \"X\") { name } }", false),
            Some("introspection")
        );
        assert_eq!(refused("{ __typename }", false), None);
        assert_eq!(refused("{ __schema { types { name } } }", true), None);
        assert_eq!(refused("{ unclosed", true), Some("parse"));
    }

    #[test]
    fn the_reported_fan_out_chain_is_refused_by_its_expanded_size() {
        let doc = fan_out_chain(13, 10);
        assert!(
            doc.len() < 1_500 && count_tokens(&doc) < MAX_TOKENS,
            "under the text limits"
        );
        assert_eq!(refused(&doc, true), Some("expanded_fields"));
        // 8^24 is past u64: the count saturates instead of overflowing.
        assert_eq!(refused(&fan_out_chain(25, 8), true), Some("expanded_fields"));
        assert_eq!(refused(&fan_out_chain(3, 10), true), None);
    }

    #[test]
    fn inline_fragments_unused_fragments_and_several_operations_count() {
        let inline = format!(
            "{{ health {{ {}status{} }} }}",
            "... on HealthReport { ".repeat(8),
            " }".repeat(8)
        );
        assert_eq!(check(&inline, true).map(|c| c.expanded_fields).ok(), Some(2));
        let wide = format!("fragment W on HealthReport {{ {} }}", "status ".repeat(120));
        let unused = format!(
            "{{ health {{ status }} }} {wide} fragment X on HealthReport {{ {} }}",
            "...W ".repeat(20)
        );
        assert_eq!(refused(&unused, true), Some("expanded_fields"));
        let ops: String = (0..20)
            .map(|i| format!("query Q{i} {{ health {{ ...W ...W ...W }} }} "))
            .collect();
        assert_eq!(refused(&format!("{ops} {wide}"), true), Some("expanded_fields"));
    }

    #[test]
    fn fragment_cycles_are_refused_without_recursing_forever() {
        assert_eq!(
            refused("{ health { ...A } } fragment A on HealthReport { ...A }", true),
            Some("cycle")
        );
        let ring = "{ health { ...A } } fragment A on HealthReport { status ...B } \
                    fragment B on HealthReport { ...C } fragment C on HealthReport { ...A }";
        assert_eq!(refused(ring, true), Some("cycle"));
        assert_eq!(refused("{ health { ...Missing } }", true), None, "left to validation");
    }

    #[test]
    fn the_standard_introspection_query_passes_and_introspection_towers_do_not() {
        let standard = include_str!("../../tests/fixtures/introspection/graphql-js-16.graphql");
        let checked = check(standard, true).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(checked.introspection_only);
        assert!(
            checked.expanded_fields < MAX_EXPANDED_FIELDS / 2,
            "{}",
            checked.expanded_fields
        );
        let tower = format!(
            "{{ __schema {{ types {{ fields {{ type {{ {}name{} }} }} }} }} }}",
            "ofType { ".repeat(13),
            " }".repeat(13)
        );
        assert_eq!(refused(&tower, true), Some("introspection_depth"));
        let fields =
            "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }";
        assert_eq!(refused(fields, true), Some("introspection_depth"));
        let mixed = "{ health { status } __schema { types { name } } }";
        assert!(check(mixed, true).is_ok_and(|c| !c.introspection_only));
    }
}
