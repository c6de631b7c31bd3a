use super::*;

#[test]
fn iso_durations_become_minutes() {
    assert_eq!(iso_minutes("PT1H30M"), Some(90));
    assert_eq!(iso_minutes("PT90M"), Some(90));
    assert_eq!(iso_minutes("P0DT0H45M"), Some(45));
    assert_eq!(iso_minutes("P1D"), Some(1440));
    assert_eq!(iso_minutes("PT0.5H"), Some(30));
    assert_eq!(iso_minutes("PT45S"), Some(1));
    assert_eq!(iso_minutes("P0DT0H50M0S"), Some(50));
    assert_eq!(iso_minutes("PTH5M"), Some(5), "a unit without its number");
    assert_eq!(iso_minutes("PT0M"), None, "zero is unknown");
    assert_eq!(
        duration(&serde_json::json!({"@type": "Duration", "@value": "PT20M"})),
        Some(20)
    );
    assert_eq!(iso_minutes("45 minutes"), None);
    assert_eq!(iso_minutes("PT1X"), None);
    assert_eq!(iso_minutes("P9999999Y"), None);
    assert_eq!(iso_minutes(""), None);
}

#[test]
fn yields_in_every_shape() {
    assert_eq!(yields(&serde_json::json!(4)), (Some("4".into()), Some("4".into())));
    assert_eq!(
        yields(&serde_json::json!("Serves 4-6")),
        (Some("4".into()), Some("Serves 4-6".into()))
    );
    assert_eq!(
        yields(&serde_json::json!(["4", "4 servings"])),
        (Some("4".into()), Some("4 servings".into()))
    );
    assert_eq!(yields(&serde_json::json!("a few")), (None, Some("a few".into())));
    assert_eq!(
        yields(&serde_json::json!(["10", "1 loaf (10 slices)"])),
        (Some("10".into()), Some("1 loaf (10 slices)".into()))
    );
}

#[test]
fn json_ld_as_sites_write_it() {
    let raw = "//<![CDATA[\n{\"name\": \"Dal\", \"steps\": \"Rinse.\nSimmer \\\"gently\\\".\tServe.\"}\n//]]>";
    let value = json_ld(raw).unwrap_or_default();
    assert_eq!(value["steps"], "Rinse.\nSimmer \"gently\".\tServe.");
    assert_eq!(json_ld("<!-- {\"a\": 1} -->").unwrap_or_default()["a"], 1);
    assert_eq!(json_ld("{\"a\": \"x\\\\\"}").unwrap_or_default()["a"], "x\\");
    assert_eq!(
        json_ld("{\"a\": [1, 2,],}").unwrap_or_default()["a"][1],
        2,
        "trailing commas"
    );
    assert_eq!(
        json_ld("{\"a\": \"x,]\",}").unwrap_or_default()["a"],
        "x,]",
        "not inside strings"
    );
    assert_eq!(json_ld("{\"a\": 1,,}"), None);
    assert_eq!(
        json_ld("\u{1}{\"a\": \"\u{1}\"}"),
        None,
        "a control outside strings is still broken"
    );
}

#[test]
fn values_are_counted_outside_strings() {
    assert!(few_values(r#"{"a": [1, 2], "b": "x,y:{[\"],"}"#, 6));
    assert!(!few_values(r#"{"a": [1, 2], "b": "x,y:{[\"],"}"#, 5));
    assert!(!few_values(&"{},".repeat(100_000), MAX_JSON_LD_VALUES));
}

/// Pages made of the pieces the reader and the extractors look at, cut anywhere (inside a tag, a reference,
/// a multi-byte character's neighbours, a JSON string), from a fixed-seed generator: reading never panics
/// and never keeps more than the page.
#[test]
fn any_page_is_read_without_a_panic() {
    const PIECES: &[&str] = &[
        "<",
        ">",
        "</",
        "/>",
        "<!--",
        "-->",
        "<!",
        "<?",
        "&",
        "&#",
        "&#x",
        "1F600",
        ";",
        "amp",
        "notin",
        "é",
        "💥",
        "\u{0}",
        " ",
        "\n",
        "=",
        "\"",
        "'",
        "script",
        "style",
        "template",
        "title",
        "li",
        "ol",
        "p",
        "br",
        "h2",
        "td",
        "tr",
        "itemscope",
        "itemtype=\"https://schema.org/Recipe\"",
        "itemprop=",
        "recipeIngredient",
        "recipeInstructions",
        "content=",
        "src=",
        "type=\"application/ld+json\"",
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"@type\"",
        "\"Recipe\"",
        "\"recipeIngredient\"",
        "\"image\"",
        "\"PT5M\"",
        "Ingredients",
        "Method",
        "meta",
        "property=\"og:image\"",
        "-1200x800.jpg",
        "http://",
        "x",
        "1 cup flour",
    ];
    for page in crate::imports::generated(PIECES, 0x2545_f491_4f6c_dd1d, 3_000, 0, 120) {
        let later = Instant::now() + std::time::Duration::from_secs(5);
        let read = page::read(&page, later).map(|p| p.outline.iter().map(|b| b.text.len()).sum::<usize>());
        assert!(read.is_ok_and(|kept| kept <= page.len() * 2), "{page:?}");
        if let Ok(Some((draft, _))) = from_html(&page, Some("https://cook.example/a/"), later) {
            assert!(
                draft.images.iter().all(|u| crate::imports::guard::address(u).is_ok()),
                "{page:?}"
            );
        }
        let _ = plain(&page);
    }
}

#[test]
fn a_page_without_structured_data_is_read_by_its_headings() {
    let html = "<html><head><title>Site | Nan's scones</title></head><body>
        <ul class=toc><li>Ingredients</li><li>Method</li></ul>
        <h1>Nan's scones</h1><p>Since 1962.</p>
        <h2>Ingredients</h2><h3>Dough</h3><ul><li>225 g flour</li><li>55 g butter</li></ul>
        <h3>To finish</h3><p>1 egg<br>jam</p>
        <h2>Method</h2><ol><li><p>Rub in.</p><p>Mix.</p></li><li>Bake.</li></ol>
        <h2>Comments</h2><ul><li>Lovely!</li></ul></body></html>";
    let (draft, found) = from_html(html, None, Instant::now() + std::time::Duration::from_secs(5))
        .ok()
        .flatten()
        .unwrap_or((Draft::default(), Found::Text));
    assert_eq!(found, Found::Outline);
    assert_eq!(draft.title.as_deref(), Some("Nan's scones"));
    assert_eq!(draft.ingredients, ["225 g flour", "55 g butter"]);
    let steps: Vec<&str> = draft.steps.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(steps, ["Rub in. Mix.", "Bake."]);
    let german = "<h1>Kuchen</h1><p><b>Zutaten:</b></p><p>200 g Mehl<br>2 EL Zucker</p>\
                  <p><b>Zubereitung:</b></p><p>Alles verrühren.</p>";
    let (draft, _) = from_html(german, None, Instant::now() + std::time::Duration::from_secs(5))
        .ok()
        .flatten()
        .unwrap_or((Draft::default(), Found::Text));
    assert_eq!(draft.ingredients, ["200 g Mehl", "2 EL Zucker"]);
    assert_eq!(draft.steps, [(None, "Alles verrühren.".to_owned())]);
}

#[test]
fn text_from_pages_is_plain() {
    assert_eq!(plain("Mac &amp; cheese <b>deluxe</b>\n&nbsp; "), "Mac & cheese deluxe");
    assert_eq!(
        plain("<script>alert(1)</script>Tea"),
        "Tea",
        "what a script holds is not text"
    );
    assert_eq!(plain("<style>b{}</style><noscript>on</noscript>Jam"), "Jam");
    assert_eq!(plain("Crisp &lt;b&gt;edges&lt;/b&gt;"), "Crisp edges", "escaped twice");
    assert_eq!(
        plain("&amp;lt;b&amp;gt;"),
        "&lt;b&gt;",
        "decoded once when that is not markup"
    );
    assert_eq!(plain("cook < 5 minutes & serve"), "cook < 5 minutes & serve");
    assert_eq!(plain("it&#39;s"), "it's");
}
