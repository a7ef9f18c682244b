//! Small HTML pages for people who open a link from a mail in a browser (the
//! unsubscribe link): no scripts, no external resources, one inline style
//! allowed by its hash, every interpolated value escaped. Markup comes only
//! from `'static` strings here; text (names a tenant chose, translations)
//! always passes through [`escape`].

pub mod centre;
pub mod requests;
pub mod unsubscribe;

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, Header, QualityItem};
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// The languages the pages speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English, for everyone else.
    En,
    /// Dutch.
    Nl,
}

impl Lang {
    /// The language of a BCP 47 tag, if the pages speak it (`nl-BE` is Dutch).
    pub fn of_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("nl") {
            Some(Lang::Nl)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
        }
    }
}

/// Who is asking, as far as the answer's form goes: a page or JSON, and the
/// browser's language.
#[derive(Clone, Copy, Debug)]
pub struct Visitor {
    /// Answer with a page (else JSON, as the API does).
    pub html: bool,
    browser: Option<Lang>,
}

impl Visitor {
    /// Read `Accept` (whichever of HTML and JSON it ranks first; `html` when
    /// it names neither, as `*/*` does) and `Accept-Language`.
    pub fn of(req: &HttpRequest, html: bool) -> Visitor {
        Visitor { html: prefers_html(req).unwrap_or(html), browser: browser_language(req) }
    }

    /// The language to speak to a person in: theirs when the pages speak it,
    /// else the browser's, else English.
    pub fn language(&self, person: Option<&str>) -> Lang {
        person.and_then(Lang::of_tag).or(self.browser).unwrap_or(Lang::En)
    }
}

/// The items of an `Accept*` header from most to least wanted (stable for
/// equal weights), without those it refuses (`q=0`).
fn wanted<T>(mut items: Vec<QualityItem<T>>) -> impl Iterator<Item = T> {
    items.sort_by_key(|item| std::cmp::Reverse(item.quality));
    items.into_iter().filter(|item| item.quality > header::Quality::ZERO).map(|item| item.item)
}

fn prefers_html(req: &HttpRequest) -> Option<bool> {
    let accept = header::Accept::parse(req).ok()?;
    wanted(accept.0).find_map(|mime| match (mime.type_().as_str(), mime.subtype().as_str()) {
        ("text", "html") | ("application", "xhtml+xml") => Some(true),
        ("application", "json") => Some(false),
        ("application", _) if mime.suffix() == Some(actix_web::mime::JSON) => Some(false),
        _ => None,
    })
}

fn browser_language(req: &HttpRequest) -> Option<Lang> {
    let accept = header::AcceptLanguage::parse(req).ok()?;
    wanted(accept.0).find_map(|preference| match preference {
        header::Preference::Specific(tag) => Lang::of_tag(tag.primary_language()),
        header::Preference::Any => None,
    })
}

/// Text made safe to put in an HTML element or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The pages' one style sheet, inline: the content security policy allows
/// exactly this text by its hash.
const STYLE: &str = "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;line-height:1.5;\
color:#1a1a1a;background:#f4f4f2;margin:0;padding:2rem 1rem}\
main{max-width:34rem;margin:0 auto;background:#fff;padding:1.5rem 2rem;border:1px solid #d4d4d0;border-radius:8px}\
h1{font-size:1.4rem;margin-top:0}\
button{font:inherit;font-weight:600;padding:.6rem 1.2rem;border:2px solid #1d4ed8;border-radius:6px;\
background:#1d4ed8;color:#fff;cursor:pointer}\
button:focus-visible{outline:3px solid #b45309;outline-offset:2px}\
.note{color:#4a4a4a;font-size:.9rem}";

static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
});

/// The content security policy of the pages: their own inline style, a
/// form that posts to their own origin, nothing else (the middleware sets it).
pub fn csp() -> &'static str {
    CSP.as_str()
}

/// One page: a heading, paragraphs, an optional button that POSTs to the
/// page's own address, and a note.
#[derive(Debug, Clone)]
pub struct Page {
    /// Its language.
    pub lang: Lang,
    /// The title and heading.
    pub title: String,
    /// Paragraphs of text.
    pub paragraphs: Vec<String>,
    /// The label of the button, if the page has one.
    pub button: Option<String>,
    /// A closing note in smaller print.
    pub note: Option<String>,
}

impl Page {
    /// The document. The form has no `action`: it posts to the address the
    /// page was opened at, and its button sends `List-Unsubscribe=One-Click`,
    /// the body an RFC 8058 client sends.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("<!DOCTYPE html>\n<html lang=\"");
        out.push_str(self.lang.tag());
        out.push_str("\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        out.push_str("<meta name=\"robots\" content=\"noindex, nofollow\">\n<title>");
        out.push_str(&escape(&self.title));
        out.push_str("</title>\n<style>");
        out.push_str(STYLE);
        out.push_str("</style>\n</head>\n<body>\n<main>\n<h1>");
        out.push_str(&escape(&self.title));
        out.push_str("</h1>\n");
        for paragraph in &self.paragraphs {
            out.push_str("<p>");
            out.push_str(&escape(paragraph));
            out.push_str("</p>\n");
        }
        if let Some(label) = &self.button {
            out.push_str(
                "<form method=\"post\">\n<button type=\"submit\" name=\"List-Unsubscribe\" value=\"One-Click\">",
            );
            out.push_str(&escape(label));
            out.push_str("</button>\n</form>\n");
        }
        if let Some(note) = &self.note {
            out.push_str("<p class=\"note\">");
            out.push_str(&escape(note));
            out.push_str("</p>\n");
        }
        out.push_str("</main>\n</body>\n</html>\n");
        out
    }

    /// The page as a response with `status`.
    pub fn respond(&self, status: StatusCode) -> HttpResponse {
        HttpResponse::build(status).content_type("text/html; charset=utf-8").body(self.render())
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn escape_leaves_no_markup_and_keeps_text() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape("Nieuwsbrief – één"), "Nieuwsbrief – één");
    }

    #[test]
    fn a_page_escapes_everything_it_is_given() {
        let evil = "</p><img src=x onerror=alert(1)>\"'&";
        let page = Page {
            lang: Lang::Nl,
            title: evil.to_owned(),
            paragraphs: vec![evil.to_owned()],
            button: Some(evil.to_owned()),
            note: Some(evil.to_owned()),
        };
        let html = page.render();
        assert!(!html.contains("<img") && !html.contains("</p><"), "{html}");
        assert_eq!(html.matches("&lt;/p&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;").count(), 5);
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"nl\">"));
        assert!(html.contains("<form method=\"post\">"));
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_style() {
        let html = Page { lang: Lang::En, title: "t".into(), paragraphs: vec![], button: None, note: None }.render();
        let style = html.split("<style>").nth(1).and_then(|rest| rest.split("</style>").next()).unwrap();
        let hash = STANDARD.encode(Sha256::digest(style.as_bytes()));
        assert!(csp().contains(&format!("style-src 'sha256-{hash}';")), "{}", csp());
        assert!(!csp().contains("unsafe") && !csp().contains("script-src"));
        assert!(!html.contains("<script") && !html.contains("http"), "nothing external, no scripts");
    }

    #[test]
    fn accept_and_accept_language_choose_the_form_and_language() {
        let browser = TestRequest::default()
            .insert_header(("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"))
            .insert_header(("accept-language", "de-DE,nl;q=0.8,en;q=0.5"))
            .to_http_request();
        let visitor = Visitor::of(&browser, false);
        assert!(visitor.html);
        assert_eq!(
            (visitor.language(None), visitor.language(Some("en-GB")), visitor.language(Some("fr"))),
            (Lang::Nl, Lang::En, Lang::Nl)
        );
        let json = TestRequest::default().insert_header(("accept", "application/problem+json")).to_http_request();
        assert!(!Visitor::of(&json, true).html);
        let json =
            TestRequest::default().insert_header(("accept", "text/html;q=0.5, application/json")).to_http_request();
        assert!(!Visitor::of(&json, true).html);
        let anything = TestRequest::default().insert_header(("accept", "*/*")).to_http_request();
        assert!(Visitor::of(&anything, true).html && !Visitor::of(&anything, false).html);
        let bare = TestRequest::default().to_http_request();
        assert_eq!(Visitor::of(&bare, true).language(None), Lang::En);
        assert_eq!(Visitor::of(&bare, true).language(Some("nl-BE")), Lang::Nl);
    }
}
