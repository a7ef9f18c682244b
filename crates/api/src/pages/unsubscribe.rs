//! The pages of an unsubscribe link, in English and Dutch: the question a
//! GET shows (it never acts: mail scanners follow links), the confirmation
//! after the button's POST, and what a link that no longer works says.

use actix_web::HttpResponse;
use actix_web::ResponseError;
use kluis_app::unsubscribe::About;
use kluis_consent::ConsentAction;

use super::{Lang, Page, Visitor};
use crate::error::ApiError;

/// The question: what pressing the button records, for which purpose and tenant.
pub fn ask(about: &About, lang: Lang) -> Page {
    let About { purpose_name: purpose, tenant_name: tenant, .. } = about;
    let objection = matches!(about.action, ConsentAction::Object);
    let (title, paragraphs, button, note) = match (lang, objection) {
        (Lang::En, false) => (
            format!("Unsubscribe: {purpose}"),
            vec![
                format!("You can withdraw the consent you gave {tenant} for: {purpose}."),
                format!("Press the button to withdraw it. {tenant} then no longer uses your data for this."),
            ],
            "Withdraw my consent",
            "Nothing changes until you press the button.",
        ),
        (Lang::En, true) => (
            format!("Object: {purpose}"),
            vec![
                format!("{tenant} uses your data for: {purpose}. You have the right to object to that."),
                format!("Press the button to record your objection with {tenant}."),
            ],
            "Object",
            "Nothing changes until you press the button.",
        ),
        (Lang::Nl, false) => (
            format!("Afmelden: {purpose}"),
            vec![
                format!("Je kunt de toestemming intrekken die je {tenant} gaf voor: {purpose}."),
                format!(
                    "Druk op de knop om je toestemming in te trekken. {tenant} gebruikt je gegevens daarna niet meer hiervoor."
                ),
            ],
            "Toestemming intrekken",
            "Er verandert niets totdat je op de knop drukt.",
        ),
        (Lang::Nl, true) => (
            format!("Bezwaar maken: {purpose}"),
            vec![
                format!(
                    "{tenant} gebruikt je gegevens voor: {purpose}. Je hebt het recht om daartegen bezwaar te maken."
                ),
                format!("Druk op de knop om je bezwaar bij {tenant} vast te leggen."),
            ],
            "Bezwaar maken",
            "Er verandert niets totdat je op de knop drukt.",
        ),
    };
    Page { lang, title, paragraphs, button: Some(button.to_owned()), note: Some(note.to_owned()) }
}

/// The confirmation after the button's POST.
pub fn done(about: &About, lang: Lang) -> Page {
    let About { purpose_name: purpose, tenant_name: tenant, .. } = about;
    let objection = matches!(about.action, ConsentAction::Object);
    let (title, paragraph, note) = match (lang, objection) {
        (Lang::En, false) => (
            "Consent withdrawn",
            format!("{tenant} has recorded that you withdrew your consent for: {purpose}."),
            "You can close this page.",
        ),
        (Lang::En, true) => (
            "Objection recorded",
            format!("{tenant} has recorded your objection to: {purpose}."),
            "You can close this page.",
        ),
        (Lang::Nl, false) => (
            "Toestemming ingetrokken",
            format!("{tenant} heeft vastgelegd dat je je toestemming hebt ingetrokken voor: {purpose}."),
            "Je kunt deze pagina sluiten.",
        ),
        (Lang::Nl, true) => (
            "Bezwaar vastgelegd",
            format!("{tenant} heeft je bezwaar vastgelegd tegen: {purpose}."),
            "Je kunt deze pagina sluiten.",
        ),
    };
    Page { lang, title: title.to_owned(), paragraphs: vec![paragraph], button: None, note: Some(note.to_owned()) }
}

/// Why a link does not work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    Invalid,
    Expired,
    Used,
    Gone,
}

impl Failure {
    /// The link errors of [`kluis_app::unsubscribe`]; anything else is not one.
    fn of(error: &ApiError) -> Option<Failure> {
        match error {
            ApiError::NotFound | ApiError::BadRequest { code: "invalid_link", .. } => Some(Failure::Invalid),
            ApiError::Gone { code: "link_expired", .. } => Some(Failure::Expired),
            ApiError::Gone { code: "link_used", .. } => Some(Failure::Used),
            ApiError::Gone { .. } => Some(Failure::Gone),
            _ => None,
        }
    }

    fn page(self, lang: Lang) -> Page {
        let (title, paragraph) = match (lang, self) {
            (Lang::En, Failure::Invalid) => {
                ("This link is not valid", "Check that you opened the whole link from the e-mail.")
            }
            (Lang::En, Failure::Expired) => {
                ("This link has expired", "This link is no longer valid. Ask the sender for a new one.")
            }
            (Lang::En, Failure::Used) => (
                "This link was used already",
                "Your choice was recorded when the link was first used. Nothing more needs to be done.",
            ),
            (Lang::En, Failure::Gone) => ("This link no longer works", "What this link was about no longer exists."),
            (Lang::Nl, Failure::Invalid) => {
                ("Deze link is niet geldig", "Controleer of je de hele link uit de e-mail hebt geopend.")
            }
            (Lang::Nl, Failure::Expired) => {
                ("Deze link is verlopen", "Deze link is niet meer geldig. Vraag de afzender om een nieuwe.")
            }
            (Lang::Nl, Failure::Used) => (
                "Deze link is al gebruikt",
                "Je keuze is vastgelegd toen de link de eerste keer werd gebruikt. Je hoeft niets meer te doen.",
            ),
            (Lang::Nl, Failure::Gone) => ("Deze link werkt niet meer", "Waar deze link over ging, bestaat niet meer."),
        };
        Page { lang, title: title.to_owned(), paragraphs: vec![paragraph.to_owned()], button: None, note: None }
    }
}

/// A link error as a page for a browser, with the error's status; for a
/// JSON client, and for any other error (throttling, an unavailable
/// database), the problem as the API answers it.
pub fn failure(error: ApiError, visitor: &Visitor) -> Result<HttpResponse, ApiError> {
    match Failure::of(&error) {
        Some(failure) if visitor.html => Ok(failure.page(visitor.language(None)).respond(error.status_code())),
        _ => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn about(action: ConsentAction) -> About {
        About {
            purpose: "news".into(),
            purpose_name: "Nieuwsbrief <b>".into(),
            tenant_name: "Fietsen & Co".into(),
            language: None,
            action,
        }
    }

    #[test]
    fn the_question_names_purpose_and_tenant_escaped_and_says_what_the_button_does() {
        let html = ask(&about(ConsentAction::Withdraw), Lang::Nl).render();
        assert!(html.contains("Afmelden: Nieuwsbrief &lt;b&gt;") && html.contains("Fietsen &amp; Co"), "{html}");
        assert!(html.contains(">Toestemming intrekken</button>"));
        let html = ask(&about(ConsentAction::Object), Lang::En).render();
        assert!(html.contains("Object: Nieuwsbrief &lt;b&gt;") && html.contains(">Object</button>"), "{html}");
        assert!(!done(&about(ConsentAction::Object), Lang::Nl).render().contains("<form"));
    }

    #[test]
    fn only_link_errors_become_pages_and_only_for_browsers() {
        let browser = Visitor { html: true, browser: Some(Lang::Nl) };
        let json = Visitor { html: false, browser: None };
        let page = failure(ApiError::NotFound, &browser).unwrap();
        assert_eq!(page.status(), actix_web::http::StatusCode::NOT_FOUND);
        let gone = ApiError::Gone { code: "link_expired", detail: String::new() };
        assert_eq!(failure(gone, &browser).unwrap().status(), actix_web::http::StatusCode::GONE);
        assert!(failure(ApiError::NotFound, &json).is_err());
        assert!(failure(ApiError::RateLimited(3), &browser).is_err());
        assert_eq!(Failure::of(&ApiError::Gone { code: "link_used", detail: String::new() }), Some(Failure::Used));
    }
}
