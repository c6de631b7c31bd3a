//! What a page holds for extraction, read in one pass of the tokenizer ([`super::html`]) and kept within caps:
//! JSON-LD script bodies (borrowed from the page, never copied), `og:*`/`twitter:*` meta, the `<title>`, the
//! properties of the first microdata `Recipe` scope, and an outline of headings, list items and paragraphs for
//! pages with no structured data. Open elements are tracked on a stack of bounded depth, closed by name within a
//! bounded reach, with the few implied closes that list and paragraph structure needs. Every kept thing has a
//! cap, so memory is bounded by construction; the deadline is checked inside the loop.

use std::borrow::Cow;
use std::time::Instant;

use super::html::{
    collapse, end_mark, is_block, is_void, mark, push_mark, push_text, raw_text, render, Tag, Token, Tokenizer,
};

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
            self.mark_open(m);
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
            self.mark_open(m);
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

    /// A mark in what is being gathered: the properties' text and the current outline block's.
    fn mark_open(&mut self, m: char) {
        for &(_, prop) in &self.gathering {
            push_mark(&mut self.page.props[prop].value, m, MAX_PROP_BYTES);
        }
        if let Some(block) = self.stack.last().and_then(|o| o.block) {
            push_mark(&mut self.page.outline[block].text, m, MAX_OUTLINE_BYTES);
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
    use crate::imports::html::{broken, items};
    use std::time::Duration;

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(10)
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
