//! A linear HTML tokenizer for imports, and the "marked" text it renders. Tags with their attributes (at most
//! [`MAX_ATTRS`] kept, values up to 64 KiB), text with character references decoded by the HTML5 table, the
//! content of raw-text elements as one text; no tree is built (the HTML5 tree builder's repairs, the adoption
//! agency and reconstructing formatting elements, are what turned 64 KB of `<b>` tags into 1.6 GB). Every
//! step looks at each byte a bounded number of times. [`super::page`] keeps what extraction needs of a page.
//!
//! Text comes out "marked": list items, blocks and line breaks are control characters in the text
//! ([`ITEM`], [`ITEM_END`], [`BLOCK`], [`BREAK`]), so that one string says both what the words are and where lines end.

use std::borrow::Cow;

/// Where a list item starts in marked text.
pub const ITEM: char = '\u{1}';
/// Where a list item ends.
pub const ITEM_END: char = '\u{4}';
/// Where a paragraph, a heading or another block starts or ends.
pub const BLOCK: char = '\u{2}';
/// A `<br>`.
pub const BREAK: char = '\u{3}';

/// Attributes kept per tag (the rest are read past), and the longest value kept.
pub const MAX_ATTRS: usize = 32;
const MAX_ATTR_BYTES: usize = 64 * 1024;

#[derive(Debug)]
pub enum Token<'a> {
    Start(Tag<'a>),
    End(&'a str),
    /// Entities decoded, except in scripts and styles.
    Text(Cow<'a, str>),
}

#[derive(Debug)]
pub struct Tag<'a> {
    pub name: &'a str,
    /// Raw (undecoded) values, at most [`MAX_ATTRS`].
    attrs: Vec<(&'a str, &'a str)>,
}

impl Tag<'_> {
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The first value of an attribute, entities decoded.
    pub fn attr(&self, name: &str) -> Option<Cow<'_, str>> {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| decode(v))
    }

    pub fn has(&self, name: &str) -> bool {
        self.attrs.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// Elements whose content is text up to their end tag; `true` where entities are decoded in it.
pub(super) fn raw_text(name: &str) -> Option<bool> {
    const RAW: &[(&str, bool)] = &[
        ("script", false),
        ("style", false),
        ("xmp", false),
        ("iframe", false),
        ("noembed", false),
        ("noframes", false),
        ("noscript", false),
        ("textarea", true),
        ("title", true),
    ];
    RAW.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, d)| *d)
}

pub(super) fn is_void(name: &str) -> bool {
    [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    ]
    .iter()
    .any(|n| n.eq_ignore_ascii_case(name))
}

/// Elements whose start and end break text into blocks (lines of an outline).
pub(super) fn is_block(name: &str) -> bool {
    [
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "table",
        "tr",
        "section",
        "article",
        "header",
        "footer",
        "aside",
        "nav",
        "main",
        "figure",
        "figcaption",
        "blockquote",
        "pre",
        "form",
        "fieldset",
        "details",
        "summary",
        "address",
        "hr",
    ]
    .iter()
    .any(|n| n.eq_ignore_ascii_case(name))
}

/// What a text-free element contributes to marked text.
pub(super) fn mark(name: &str) -> Option<char> {
    if name.eq_ignore_ascii_case("li") {
        Some(ITEM)
    } else if name.eq_ignore_ascii_case("br") {
        Some(BREAK)
    } else if name.eq_ignore_ascii_case("td") || name.eq_ignore_ascii_case("th") {
        // The cells of a row are one line ("1 Pck." | "Puddingpulver"), apart.
        Some(' ')
    } else {
        is_block(name).then_some(BLOCK)
    }
}

/// A linear HTML tokenizer: tags with their attributes, text, and the content of raw-text elements as one
/// text; comments, doctypes and processing instructions skipped. A tag cut off by the end of the input is
/// dropped, as browsers do.
pub struct Tokenizer<'a> {
    input: &'a str,
    pos: usize,
    /// Inside a raw-text element: its name and whether entities are decoded.
    raw: Option<(&'a str, bool)>,
}

impl<'a> Tokenizer<'a> {
    pub fn new(input: &'a str) -> Self {
        Self {
            input,
            pos: 0,
            raw: None,
        }
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    /// The raw-text element's content up to `</name` (any case), or to the end.
    fn raw_content(&mut self, name: &str, decoded: bool) -> Token<'a> {
        let rest = self.rest();
        let mut from = 0;
        let end = loop {
            let Some(at) = rest[from..].find("</").map(|at| at + from) else {
                break rest.len();
            };
            let after = &rest.as_bytes()[at + 2..];
            let closes = after.len() >= name.len()
                && after[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                && after
                    .get(name.len())
                    .is_none_or(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>');
            if closes {
                break at;
            }
            from = at + 2;
        };
        self.pos += end;
        let text = &rest[..end];
        Token::Text(if decoded { decode(text) } else { Cow::Borrowed(text) })
    }

    /// Skips past `close` (or to the end).
    fn skip_past(&mut self, close: &str) {
        self.pos = self
            .rest()
            .find(close)
            .map_or(self.input.len(), |at| self.pos + at + close.len());
    }

    /// A tag's name and attributes from just after `<` or `</`; `None` when the input ends inside it.
    fn tag(&mut self) -> Option<Tag<'a>> {
        let input = self.input;
        let bytes = input.as_bytes();
        let name_start = self.pos;
        let mut i = self.pos;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'/' && bytes[i] != b'>' {
            i += 1;
        }
        let name = &input[name_start..i];
        let mut attrs = Vec::new();
        loop {
            while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
                i += 1;
            }
            match bytes.get(i) {
                None => {
                    self.pos = i;
                    return None;
                }
                Some(b'>') => {
                    self.pos = i + 1;
                    return Some(Tag { name, attrs });
                }
                Some(_) => {}
            }
            let attr_start = i;
            // A name may start with '='; it ends at a space, '/', '>' or '='.
            i += 1;
            while i < bytes.len() && !matches!(bytes[i], b'/' | b'>' | b'=') && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let attr = &input[attr_start..i];
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let mut value = "";
            if bytes.get(i) == Some(&b'=') {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                match bytes.get(i) {
                    Some(&quote @ (b'"' | b'\'')) => {
                        let close = input[i + 1..].find(quote as char)?;
                        value = &input[i + 1..i + 1 + close];
                        i += close + 2;
                    }
                    _ => {
                        let start = i;
                        while i < bytes.len() && bytes[i] != b'>' && !bytes[i].is_ascii_whitespace() {
                            i += 1;
                        }
                        value = &input[start..i];
                    }
                }
            }
            if attrs.len() < MAX_ATTRS && value.len() <= MAX_ATTR_BYTES {
                attrs.push((attr, value));
            }
        }
    }
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            if let Some((name, decoded)) = self.raw.take() {
                if self.pos < self.input.len() {
                    return Some(self.raw_content(name, decoded));
                }
            }
            let rest = self.rest();
            if rest.is_empty() {
                return None;
            }
            if !rest.starts_with('<') {
                let end = rest.find('<').unwrap_or(rest.len());
                self.pos += end;
                return Some(Token::Text(decode(&rest[..end])));
            }
            let next = rest.as_bytes().get(1).copied().unwrap_or(b' ');
            if rest.starts_with("<!--") {
                self.pos += 4;
                // "<!-->" and "<!--->" are empty comments.
                let rest = self.rest();
                if rest.starts_with('>') || rest.starts_with("->") {
                    self.skip_past(">");
                } else {
                    self.skip_past("-->");
                }
            } else if next == b'!' || next == b'?' {
                self.skip_past(">");
            } else if next == b'/' && rest.as_bytes().get(2).is_some_and(u8::is_ascii_alphabetic) {
                self.pos += 2;
                let tag = self.tag()?;
                return Some(Token::End(tag.name));
            } else if next == b'/' {
                // "</>" is nothing; "</ x>" a comment.
                self.pos += 2;
                self.skip_past(">");
            } else if next.is_ascii_alphabetic() {
                self.pos += 1;
                let tag = self.tag()?;
                self.raw = raw_text(tag.name).map(|decoded| (tag.name, decoded));
                return Some(Token::Start(tag));
            } else {
                self.pos += 1;
                return Some(Token::Text(Cow::Borrowed("<")));
            }
        }
    }
}

/// Character references decoded: named (the HTML5 table, with the legacy forms that need no `;`), decimal
/// and hexadecimal (NUL, surrogates and out-of-range numbers as U+FFFD). Each reference looks at most 40
/// bytes ahead, so decoding is linear.
pub fn decode(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        match reference(rest) {
            Some((decoded, used)) => {
                out.extend(decoded.into_iter().flatten());
                rest = &rest[used..];
            }
            None => out.push('&'),
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The characters a reference after `&` stands for and how many bytes it used.
fn reference(after: &str) -> Option<([Option<char>; 2], usize)> {
    let bytes = after.as_bytes();
    if bytes.first() == Some(&b'#') {
        let hex = matches!(bytes.get(1), Some(b'x' | b'X'));
        let start = if hex { 2 } else { 1 };
        let digits = bytes[start..]
            .iter()
            .take(40)
            .take_while(|b| if hex { b.is_ascii_hexdigit() } else { b.is_ascii_digit() })
            .count();
        if digits == 0 {
            return None;
        }
        let number = u32::from_str_radix(&after[start..start + digits], if hex { 16 } else { 10 }).unwrap_or(u32::MAX);
        let c = match number {
            0 => '\u{fffd}',
            0x80..=0x9f => windows_1252(number),
            n => char::from_u32(n).unwrap_or('\u{fffd}'),
        };
        let used = start + digits + usize::from(bytes.get(start + digits) == Some(&b';'));
        return Some(([Some(c), None], used));
    }
    let name_len = bytes.iter().take(40).take_while(|b| b.is_ascii_alphanumeric()).count();
    if name_len == 0 {
        return None;
    }
    let with_semicolon = bytes.get(name_len) == Some(&b';');
    // The longest name the table knows ("&notit;" is "¬it;" when "notit;" is not a name).
    let candidates = (1..=name_len).rev().map(|n| (n, &after[..n]));
    for (n, name) in candidates {
        let key = if n == name_len && with_semicolon {
            &after[..=n]
        } else {
            name
        };
        if let Some(&(first, second)) = web_atoms::NAMED_ENTITIES.get(key) {
            if first == 0 {
                continue;
            }
            let c = |v: u32| (v != 0).then(|| char::from_u32(v)).flatten();
            return Some(([c(first), c(second)], key.len()));
        }
    }
    None
}

/// C1 numbers as browsers read them (Windows-1252), e.g. `&#150;` is an en dash.
fn windows_1252(number: u32) -> char {
    const TABLE: [u32; 32] = [
        0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d,
        0x017d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
        0x0153, 0x9d, 0x017e, 0x0178,
    ];
    let mapped = TABLE[(number - 0x80) as usize];
    char::from_u32(mapped).unwrap_or('\u{fffd}')
}

/// What an end tag contributes to marked text.
pub(super) fn end_mark(name: &str) -> Option<char> {
    match mark(name)? {
        ITEM => Some(ITEM_END),
        BREAK => None,
        m => Some(m),
    }
}

/// Text appended to marked text: control characters (which would read as marks) become spaces.
pub(super) fn push_text(out: &mut String, text: &str, cap: usize) {
    for c in text.chars() {
        if out.len() + c.len_utf8() > cap {
            return;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
}

pub(super) fn push_mark(out: &mut String, mark: char, cap: usize) {
    if out.len() < cap && !out.ends_with(mark) {
        out.push(mark);
    }
}

/// Marked text of an HTML fragment (or of text with entities): what scripts, styles, templates and frames
/// hold is not text.
pub fn render(html: &str, cap: usize) -> String {
    let mut out = String::new();
    let mut hidden = 0usize;
    for token in Tokenizer::new(html) {
        match token {
            Token::Start(tag) if tag.is("template") => hidden += 1,
            Token::End(name) if name.eq_ignore_ascii_case("template") => hidden = hidden.saturating_sub(1),
            Token::Start(tag) => {
                if let Some(m) = mark(tag.name) {
                    push_mark(&mut out, m, cap);
                }
                if let Some(false) = raw_text(tag.name) {
                    hidden += 1;
                }
            }
            Token::End(name) => {
                if let Some(m) = end_mark(name) {
                    push_mark(&mut out, m, cap);
                }
                if let Some(false) = raw_text(name) {
                    hidden = hidden.saturating_sub(1);
                }
            }
            Token::Text(text) if hidden == 0 => push_text(&mut out, &text, cap),
            Token::Text(_) => {}
        }
    }
    out
}

/// Whitespace collapsed to single spaces, marks included.
pub fn collapse(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The lines of marked text, split at every mark: list items, blocks and line breaks.
pub fn broken(marked: &str) -> Vec<String> {
    marked
        .split([ITEM, ITEM_END, BLOCK, BREAK])
        .map(collapse)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The list items of marked text (what a list item holds in paragraphs or lines read as one; text outside
/// items dropped), else its blocks, else the whole text: one entry per step.
pub fn items(marked: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for c in marked.chars() {
        match c {
            ITEM => out.extend(current.replace(String::new())),
            ITEM_END => out.extend(current.take()),
            c => {
                if let Some(text) = current.as_mut() {
                    text.push(c);
                }
            }
        }
    }
    out.extend(current);
    let items: Vec<String> = out.iter().map(|t| collapse(t)).filter(|l| !l.is_empty()).collect();
    if !items.is_empty() {
        return items;
    }
    marked.split(BLOCK).map(collapse).filter(|l| !l.is_empty()).collect()
}

/// Plain text of an HTML fragment or of text with entities: tags stripped with what scripts, styles and
/// templates hold, entities decoded, one space. Text that is still markup once decoded (`&lt;b&gt;`, as
/// sites that escape twice write it) is stripped once more.
pub fn plain(text: &str) -> String {
    let mut text = text.to_owned();
    for _ in 0..2 {
        if !text.contains(['<', '&']) {
            break;
        }
        text = render(&text, usize::MAX);
        if !text.contains('<') {
            break;
        }
    }
    collapse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_decode_as_browsers_read_them() {
        assert_eq!(decode("Mac &amp; cheese&nbsp;&hellip;"), "Mac & cheese\u{a0}…");
        assert_eq!(decode("it&#39;s &#x2014; &#150; &#0;"), "it's — – \u{fffd}");
        assert_eq!(
            decode("&notit; &amp &unknown; & &#; &#x;"),
            "¬it; & &unknown; & &#; &#x;"
        );
        assert_eq!(decode("&#99999999999999999999;"), "\u{fffd}");
    }

    #[test]
    fn tokens_of_a_messy_page() {
        let html = "<!DOCTYPE html><p class=a title='x > y' data-x=1 hidden>Hi &amp; bye<br/>\
                    <script>if (a < b) { x = '</p>' }</script ><!-- </p> -->cook < 5 min</P></unclosed";
        let tokens: Vec<String> = Tokenizer::new(html)
            .map(|t| match t {
                Token::Start(tag) => format!("<{} {:?}>", tag.name, tag.attr("title")),
                Token::End(name) => format!("</{name}>"),
                Token::Text(text) => text.into_owned(),
            })
            .collect();
        assert_eq!(
            tokens,
            [
                "<p Some(\"x > y\")>",
                "Hi & bye",
                "<br None>",
                "<script None>",
                "if (a < b) { x = '</p>' }",
                "</script>",
                "cook ",
                "<",
                " 5 min",
                "</P>"
            ]
        );
    }

    #[test]
    fn rendered_text_marks_items_blocks_and_breaks() {
        let marked = render(
            "<ol><li><p>Mix.</p><p>Rest.</p></li><li>Bake<br>well.</li></ol><style>b{}</style><template>no</template>",
            1 << 20,
        );
        assert_eq!(items(&marked), ["Mix. Rest.", "Bake well."]);
        assert_eq!(broken(&marked), ["Mix.", "Rest.", "Bake", "well."]);
        assert_eq!(items(&render("<p>One</p><p>Two</p>", 1 << 20)), ["One", "Two"]);
        assert_eq!(items(&render("just text\u{1}", 1 << 20)), ["just text"]);
    }
}
