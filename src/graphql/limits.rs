//! Checks on a GraphQL document before execution, for what async-graphql does not bound itself:
//! document size, token count, aliases, and (in production) introspection with an explicit error.
//! Depth, complexity, recursion and directives are set on the schema (`graphql::build`).

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::Positioned;

pub const MAX_DOCUMENT_BYTES: usize = 15_000;
pub const MAX_TOKENS: usize = 1_000;
pub const MAX_ALIASES: usize = 15;

/// A refused document; `kind` names the limit for the security log.
#[derive(Debug, PartialEq, Eq)]
pub struct Violation {
    pub kind: &'static str,
    pub message: String,
}

fn violation(kind: &'static str, message: String) -> Violation {
    Violation { kind, message }
}

/// Checks a document; returns it parsed (`None` when it does not parse: execution reports that error).
pub fn check(query: &str, introspection_allowed: bool) -> Result<Option<ExecutableDocument>, Violation> {
    if query.len() > MAX_DOCUMENT_BYTES {
        return Err(violation(
            "document_size",
            format!("document larger than {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    if count_tokens(query) > MAX_TOKENS {
        return Err(violation(
            "tokens",
            format!("document has more than {MAX_TOKENS} tokens"),
        ));
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return Ok(None);
    };
    let mut stats = Stats::default();
    for (_, operation) in document.operations.iter() {
        stats.walk(&operation.node.selection_set);
    }
    for fragment in document.fragments.values() {
        stats.walk(&fragment.node.selection_set);
    }
    if stats.aliases > MAX_ALIASES {
        return Err(violation("aliases", format!("too many aliases (limit {MAX_ALIASES})")));
    }
    if stats.introspection && !introspection_allowed {
        return Err(violation("introspection", "introspection is disabled".into()));
    }
    Ok(Some(document))
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

    #[test]
    fn aliases_are_counted_through_fragments() {
        let many: String = (0..16).map(|i| format!("a{i}: health {{ status }} ")).collect();
        assert_eq!(
            check(&format!("{{ {many} }}"), true).err().map(|v| v.kind),
            Some("aliases")
        );
        let in_fragment: String = (0..16).map(|i| format!("a{i}: status ")).collect();
        let doc = format!("{{ health {{ ...F }} }} fragment F on HealthReport {{ {in_fragment} }}");
        assert_eq!(check(&doc, true).err().map(|v| v.kind), Some("aliases"));
        let few: String = (0..15).map(|i| format!("a{i}: health {{ status }} ")).collect();
        assert!(check(&format!("{{ {few} }}"), true).is_ok());
    }

    #[test]
    fn size_tokens_and_introspection() {
        assert_eq!(
            check(&" ".repeat(15_001), true).err().map(|v| v.kind),
            Some("document_size")
        );
        assert_eq!(check(&"{a}".repeat(400), true).err().map(|v| v.kind), Some("tokens"));
        assert_eq!(
            check("{ __schema { types { name } } }", false).err().map(|v| v.kind),
            Some("introspection")
        );
        assert_eq!(
            check("{ h: __type(name: \"X\") { name } }", false)
                .err()
                .map(|v| v.kind),
            Some("introspection")
        );
        assert!(check("{ __typename }", false).is_ok());
        assert!(check("{ __schema { types { name } } }", true).is_ok());
        assert!(check("{ unclosed", true).is_ok_and(|doc| doc.is_none()));
    }
}
