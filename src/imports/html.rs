//! A bounded reader of HTML for imports. A page is tokenized once, left to right, and only what extraction
//! needs is kept: JSON-LD script bodies (borrowed from the page, never copied), `og:*`/`twitter:*` meta, the
//! `<title>`, the properties of the first microdata `Recipe` scope, and an outline of headings and list items
//! for pages with no structured data. There is no tree building: the HTML5 tree builder's repairs (the
//! adoption agency, reconstructing formatting elements) are what turned 64 KB of `<b>` tags into 1.6 GB.
//! Every step is linear in the input and every kept thing has a cap, so memory is bounded by construction;
//! the deadline is checked inside the loop.
//!
//! Text comes out "marked": list items, blocks and line breaks are control characters in the text
//! ([`ITEM`], [`ITEM_END`], [`BLOCK`], [`BREAK`]), so that one string says both what the words are and where lines end.

use std::borrow::Cow;
use std::time::Instant;

/// Where a list item starts in marked text.
pub const ITEM: char = '\u{1}';
/// Where a list item ends.
pub const ITEM_END: char = '\u{4}';
/// Where a paragraph, a heading or another block starts or ends.
pub const BLOCK: char = '\u{2}';
/// A `<br>`.
pub const BREAK: char = '\u{3}';

/// Attributes kept per tag (the rest are read past), and the longest value kept.
const MAX_ATTRS: usize = 32;
const MAX_ATTR_BYTES: usize = 64 * 1024;
/// Open elements tracked; deeper ones are read as if they had no children of their own.
const MAX_DEPTH: usize = 256;
/// How far down the open elements an end tag looks for its start (a stray end tag costs at most this).
const END_TAG_REACH: usize = 32;
const MAX_JSON_LD_BLOCKS: usize = 32;
const MAX_METAS: usize = 64;
const MAX_META_BYTES: usize = 4 * 1024;
const MAX_TITLE_BYTES: usize = 2 * 1024;
const MAX_PROPS: usize = 1_000;
/// Marked text kept per microdata property and for all of them.
const MAX_PROP_BYTES: usize = 64 * 1024;
const MAX_MICRODATA_BYTES: usize = 1024 * 1024;
const MAX_OUTLINE_BLOCKS: usize = 4_000;
const MAX_OUTLINE_BYTES: usize = 512 * 1024;
/// Tokens between two looks at the clock.
const CLOCK_EVERY: usize = 4_096;

/// A page took longer to read than its deadline.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the page took too long to read")]
pub struct Deadline;

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

    fn has(&self, name: &str) -> bool {
        self.attrs.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// Elements whose content is text up to their end tag; `true` where entities are decoded in it.
fn raw_text(name: &str) -> Option<bool> {
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

fn is_void(name: &str) -> bool {
    [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    ]
    .iter()
    .any(|n| n.eq_ignore_ascii_case(name))
}

/// Elements whose start and end break text into blocks (lines of an outline).
fn is_block(name: &str) -> bool {
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
fn mark(name: &str) -> Option<char> {
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
fn end_mark(name: &str) -> Option<char> {
    match mark(name)? {
        ITEM => Some(ITEM_END),
        BREAK => None,
        m => Some(m),
    }
}

/// Text appended to marked text: control characters (which would read as marks) become spaces.
fn push_text(out: &mut String, text: &str, cap: usize) {
    for c in text.chars() {
        if out.len() + c.len_utf8() > cap {
            return;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
}

fn push_mark(out: &mut String, mark: char, cap: usize) {
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

/// One microdata property of the recipe scope: its names (`itemprop` may list several) and its value as
/// marked text (an attribute value is rendered as a fragment, since sites put HTML in `content`).
#[derive(Debug, Default)]
pub struct Prop {
    pub names: String,
    pub value: String,
    /// The value came from `src`/`href` (an address, not text).
    pub address: bool,
}

impl Prop {
    pub fn is(&self, name: &str) -> bool {
        self.names.split_whitespace().any(|n| n == name)
    }
}

/// An outline entry of a page: a heading (its level) or a list item or paragraph, as marked text.
#[derive(Debug)]
pub struct Block {
    pub heading: Option<u8>,
    pub list_item: bool,
    pub text: String,
}

/// What a page holds for extraction.
#[derive(Debug, Default)]
pub struct Page<'a> {
    /// `<script type="application/ld+json">` bodies, in page order.
    pub json_ld: Vec<&'a str>,
    /// `og:*`, `twitter:*` and `description` meta, key lower-cased.
    pub meta: Vec<(String, String)>,
    pub title: Option<String>,
    /// Whether a microdata `Recipe` scope was found, and its own properties.
    pub microdata: bool,
    pub props: Vec<Prop>,
    pub outline: Vec<Block>,
}

impl Page<'_> {
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

struct Open<'a> {
    name: &'a str,
    /// The nearest element at or above this one that opens an item scope, by index in the stack.
    owner: Option<usize>,
    /// The innermost outline block at or above this one.
    block: Option<usize>,
}

/// The state of one reading: the page so far, the open elements, and the budgets.
struct Reader<'a> {
    page: Page<'a>,
    stack: Vec<Open<'a>>,
    /// The recipe scope's index in `stack` while it is open; `done` once it closed.
    recipe: Option<usize>,
    done: bool,
    /// Properties gathering text: (index of their element in `stack`, index in `props`), innermost last.
    gathering: Vec<(usize, usize)>,
    microdata_bytes: usize,
    outline_bytes: usize,
    in_title: bool,
    in_json_ld: bool,
    /// Inside a template or a script-like element: its text is not the page's.
    hidden: usize,
}

/// Properties nested in properties that still gather text: deeper ones are kept with their attribute
/// value only, so a text token costs at most this many appends.
const MAX_GATHERING: usize = 4;

/// Reads `html` within `deadline`, keeping what extraction needs (see the module's description).
pub fn read(html: &str, deadline: Instant) -> Result<Page<'_>, Deadline> {
    let mut reader = Reader {
        page: Page::default(),
        stack: Vec::new(),
        recipe: None,
        done: false,
        gathering: Vec::new(),
        microdata_bytes: 0,
        outline_bytes: 0,
        in_title: false,
        in_json_ld: false,
        hidden: 0,
    };
    for (count, token) in Tokenizer::new(html).enumerate() {
        if count % CLOCK_EVERY == CLOCK_EVERY - 1 && Instant::now() > deadline {
            return Err(Deadline);
        }
        match token {
            Token::Start(tag) => reader.start(&tag),
            Token::End(name) => reader.end(name),
            Token::Text(text) => reader.text(text),
        }
    }
    Ok(reader.page)
}

impl<'a> Reader<'a> {
    fn start(&mut self, tag: &Tag<'a>) {
        self.in_title = tag.is("title") && self.page.title.is_none();
        self.in_json_ld = tag.is("script")
            && tag.attr("type").is_some_and(|t| {
                t.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"))
            });
        if tag.is("meta") {
            keep_meta(&mut self.page, tag);
        }
        if raw_text(tag.name) == Some(false) {
            self.hidden += 1;
            return;
        }
        self.close_implied(tag.name);
        if let Some(m) = mark(tag.name) {
            self.mark_gathering(m);
        }
        if let (Some(m), Some(block)) = (mark(tag.name), self.stack.last().and_then(|o| o.block)) {
            push_mark(&mut self.page.outline[block].text, m, MAX_OUTLINE_BYTES);
        }
        let owner = self.stack.last().and_then(|o| o.owner);
        let in_recipe = self.recipe.is_some() && owner == self.recipe;
        let gathers = if in_recipe { self.prop(tag) } else { None };
        let opens_recipe = !self.done
            && self.recipe.is_none()
            && tag.has("itemscope")
            && tag.attr("itemtype").is_some_and(|t| {
                t.split_whitespace()
                    .any(|t| t.rsplit('/').next().is_some_and(|t| t.eq_ignore_ascii_case("recipe")))
            });
        if is_void(tag.name) || self.stack.len() >= MAX_DEPTH {
            return;
        }
        if tag.is("template") {
            self.hidden += 1;
        }
        let at = self.stack.len();
        if opens_recipe {
            self.recipe = Some(at);
            self.page.microdata = true;
        }
        if let Some(prop) = gathers.filter(|_| self.gathering.len() < MAX_GATHERING) {
            self.gathering.push((at, prop));
        }
        let block = self.outline_block(tag).or(self.stack.last().and_then(|o| o.block));
        self.stack.push(Open {
            name: tag.name,
            owner: if tag.has("itemscope") { Some(at) } else { owner },
            block,
        });
    }

    /// A property of the recipe scope: kept with its attribute value, or (the index returned) to gather the
    /// element's text.
    fn prop(&mut self, tag: &Tag<'_>) -> Option<usize> {
        let names = tag.attr("itemprop")?;
        if self.page.props.len() >= MAX_PROPS || self.microdata_bytes >= MAX_MICRODATA_BYTES {
            return None;
        }
        let attr = ["content", "datetime"].iter().find_map(|a| tag.attr(a));
        let link = ["src", "href"].iter().find_map(|a| tag.attr(a));
        let (value, address) = match (attr, link) {
            (Some(value), _) => (render(&value, MAX_PROP_BYTES), false),
            (None, Some(url)) => (url.into_owned(), true),
            (None, None) => (String::new(), false),
        };
        self.microdata_bytes += value.len();
        let whole = !value.is_empty() || address;
        self.page.props.push(Prop {
            names: names.chars().take(256).collect(),
            value,
            address,
        });
        (!whole).then_some(self.page.props.len() - 1)
    }

    fn end(&mut self, name: &str) {
        self.in_title = false;
        self.in_json_ld = false;
        if raw_text(name) == Some(false) {
            self.hidden = self.hidden.saturating_sub(1);
            return;
        }
        let Some(at) = self
            .stack
            .iter()
            .rev()
            .take(END_TAG_REACH)
            .position(|o| o.name.eq_ignore_ascii_case(name))
            .map(|from_top| self.stack.len() - 1 - from_top)
        else {
            return;
        };
        if let Some(m) = end_mark(name) {
            self.mark_gathering(m);
            if let Some(block) = self.stack.last().and_then(|o| o.block) {
                push_mark(&mut self.page.outline[block].text, m, MAX_OUTLINE_BYTES);
            }
        }
        self.pop_to(at);
    }

    fn text(&mut self, text: Cow<'a, str>) {
        if self.in_json_ld {
            if let Cow::Borrowed(body) = text {
                if self.page.json_ld.len() < MAX_JSON_LD_BLOCKS {
                    self.page.json_ld.push(body);
                }
            }
            return;
        }
        if self.in_title {
            let title: String = text.chars().take(MAX_TITLE_BYTES).collect();
            self.page.title = Some(collapse(&title));
            return;
        }
        if self.hidden > 0 {
            return;
        }
        for &(_, prop) in &self.gathering {
            if self.microdata_bytes >= MAX_MICRODATA_BYTES {
                break;
            }
            let value = &mut self.page.props[prop].value;
            let before = value.len();
            push_text(value, &text, MAX_PROP_BYTES);
            self.microdata_bytes += value.len() - before;
        }
        if let Some(block) = self.stack.last().and_then(|o| o.block) {
            let kept = &mut self.page.outline[block].text;
            let before = kept.len();
            let cap = (before + MAX_OUTLINE_BYTES).saturating_sub(self.outline_bytes);
            push_text(kept, &text, cap);
            self.outline_bytes += kept.len() - before;
        }
    }

    fn mark_gathering(&mut self, m: char) {
        for &(_, prop) in &self.gathering {
            push_mark(&mut self.page.props[prop].value, m, MAX_PROP_BYTES);
        }
    }

    /// A new outline entry for a heading, list item or paragraph, within the outline's caps.
    fn outline_block(&mut self, tag: &Tag<'_>) -> Option<usize> {
        let outline = &mut self.page.outline;
        if outline.len() >= MAX_OUTLINE_BLOCKS || self.outline_bytes >= MAX_OUTLINE_BYTES {
            return None;
        }
        let heading = match tag.name.as_bytes() {
            [b'h' | b'H', level @ b'1'..=b'6'] => Some(level - b'0'),
            _ => None,
        };
        let list_item = tag.is("li");
        // A paragraph inside a list item is part of the item.
        let in_item = self
            .stack
            .last()
            .and_then(|o| o.block)
            .is_some_and(|b| outline[b].list_item);
        let paragraph = tag.is("p") && !in_item;
        if heading.is_none() && !list_item && !paragraph {
            return None;
        }
        outline.push(Block {
            heading,
            list_item,
            text: String::new(),
        });
        Some(outline.len() - 1)
    }

    /// Closes what a start tag implies is closed: an open `li` at a new `li` (unless a list is nearer), an
    /// open `p` at a block, a same-named `dt`/`dd`/`tr`/`td`/`th`/`option` on top.
    fn close_implied(&mut self, name: &str) {
        let stack = &self.stack;
        let top = stack.len().checked_sub(1);
        let is = |at: usize, n: &str| stack[at].name.eq_ignore_ascii_case(n);
        let at = if name.eq_ignore_ascii_case("li") {
            (stack.len().saturating_sub(8)..stack.len())
                .rev()
                .find(|at| is(*at, "li") || is(*at, "ul") || is(*at, "ol"))
                .filter(|at| is(*at, "li"))
        } else if is_block(name) {
            top.filter(|at| is(*at, "p"))
        } else {
            let paired = ["dt", "dd", "tr", "td", "th", "option"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name));
            top.filter(|at| paired && is(*at, name))
        };
        if let Some(at) = at {
            self.pop_to(at);
        }
    }

    /// Pops the open elements from `at` up, closing the recipe scope when it is among them.
    fn pop_to(&mut self, at: usize) {
        if self.recipe.is_some_and(|r| r >= at) {
            self.recipe = None;
            self.done = true;
        }
        let templates = self.stack[at..]
            .iter()
            .filter(|o| o.name.eq_ignore_ascii_case("template"))
            .count();
        self.hidden = self.hidden.saturating_sub(templates);
        while self.gathering.last().is_some_and(|(open, _)| *open >= at) {
            self.gathering.pop();
        }
        self.stack.truncate(at);
    }
}

fn keep_meta(page: &mut Page<'_>, tag: &Tag<'_>) {
    if page.meta.len() >= MAX_METAS {
        return;
    }
    let Some(key) = tag.attr("property").or_else(|| tag.attr("name")) else {
        return;
    };
    let key = key.trim().to_ascii_lowercase();
    if !(key.starts_with("og:") || key.starts_with("twitter:") || key == "description") {
        return;
    }
    if let Some(content) = tag.attr("content").filter(|c| c.len() <= MAX_META_BYTES) {
        page.meta.push((key, content.into_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

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

    #[test]
    fn a_memory_bomb_is_read_in_bounded_memory() {
        // The page from the issue: the tree builder made millions of elements of it.
        let html = format!("<div>{}</div>{}", "<b id=i>".repeat(2800), "<div>x</div>".repeat(2900));
        let page = read(&html, later()).unwrap_or_default();
        assert!(page.outline.is_empty());
        // Deep nesting, thousands of attributes on one tag, and an unclosed quote are read in one pass.
        let deep = format!("{}{}", "<div itemscope itemprop=x>".repeat(100_000), "x".repeat(10));
        assert!(read(&deep, later()).is_ok());
        let attrs = format!(
            "<p {}>text</p>",
            (0..200_000).map(|i| format!("a{i}=1 ")).collect::<String>()
        );
        assert!(read(&attrs, later()).is_ok());
        assert!(read("<p title=\"never closed", later()).is_ok());
    }

    #[test]
    fn the_deadline_is_checked_inside_the_loop() {
        let html = "<b>".repeat(100_000);
        assert_eq!(read(&html, Instant::now()).err(), Some(Deadline));
    }

    #[test]
    fn microdata_of_the_recipe_scope_only() {
        let html = r#"<div itemscope itemtype="https://schema.org/Recipe">
            <h1 itemprop="name">Soup</h1>
            <div itemprop="author" itemscope itemtype="https://schema.org/Person"><span itemprop="name">Ann</span></div>
            <meta itemprop="recipeInstructions" content="&lt;p&gt;Boil.&lt;/p&gt;&lt;p&gt;Serve.&lt;/p&gt;">
            <div itemprop="recipeIngredient">1 leek<br>2 potatoes</div>
            <img itemprop="image" src="/soup.jpg">
        </div><span itemprop="name">Outside</span>"#;
        let page = read(html, later()).unwrap_or_default();
        assert!(page.microdata);
        let names: Vec<String> = page
            .props
            .iter()
            .filter(|p| p.is("name"))
            .map(|p| collapse(&p.value))
            .collect();
        assert_eq!(names, ["Soup"]);
        let value = |name: &str| {
            page.props
                .iter()
                .find(|p| p.is(name))
                .map(|p| p.value.as_str())
                .unwrap_or_default()
        };
        assert_eq!(items(value("recipeInstructions")), ["Boil.", "Serve."]);
        assert_eq!(broken(value("recipeIngredient")), ["1 leek", "2 potatoes"]);
        assert!(page
            .props
            .iter()
            .any(|p| p.is("image") && p.address && p.value == "/soup.jpg"));
    }
}
