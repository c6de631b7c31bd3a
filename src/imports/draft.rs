//! The draft an import reads a page or a text into, before anything is saved, and where it was found.

/// Where the draft came from, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    JsonLd,
    Microdata,
    /// No structured data: the lists under the page's "Ingredients" and "Method" headings.
    Outline,
    OpenGraph,
    Text,
}

/// What a page or a text says about a recipe, before anything is saved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Draft {
    pub title: Option<String>,
    pub description: Option<String>,
    pub prep_minutes: Option<i32>,
    pub cook_minutes: Option<i32>,
    pub total_minutes: Option<i32>,
    /// Decimal text ("4").
    pub servings: Option<String>,
    pub yield_text: Option<String>,
    /// Ingredient lines as written.
    pub ingredients: Vec<String>,
    /// (section, text).
    pub steps: Vec<(Option<String>, String)>,
    /// Absolute http(s) URLs, page order, no repeats.
    pub images: Vec<String>,
}

impl Draft {
    /// The total time, else what the source says of preparation and cooking (either may be all there is).
    pub fn total(&self) -> Option<i32> {
        self.total_minutes.or(match (self.prep_minutes, self.cook_minutes) {
            (None, None) => None,
            (p, c) => Some(p.unwrap_or(0).saturating_add(c.unwrap_or(0))),
        })
    }
}

/// Lines and steps kept from one page: a page with more is not a recipe a cook would import whole.
pub const MAX_PARTS: usize = 200;

/// `Some` unless the text is empty.
pub fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}
