//! The pages of the link that confirms a data-subject request made from
//! outside (the mail's link), in English and Dutch: the question a GET shows
//! (it never acts: mail scanners follow links), the confirmation after the
//! button's POST, and what a link that does not work says.

use actix_web::HttpResponse;
use actix_web::ResponseError;
use actix_web::http::StatusCode;

use super::{Lang, Page, Visitor};
use crate::error::ApiError;

/// The question: pressing the button confirms the request.
pub fn ask(lang: Lang) -> Page {
    let (title, paragraphs, button, note) = match lang {
        Lang::En => (
            "Confirm your request",
            vec![
                "Someone made a request about their personal data, giving your e-mail address.".to_owned(),
                "If that was you, press the button to confirm it. The organisation then handles it and answers you by e-mail."
                    .to_owned(),
            ],
            "Confirm my request",
            "Nothing happens until you press the button. If it was not you, close this page.",
        ),
        Lang::Nl => (
            "Bevestig je verzoek",
            vec![
                "Iemand deed een verzoek over zijn of haar persoonsgegevens en gaf daarbij jouw e-mailadres op.".to_owned(),
                "Was jij dat? Druk dan op de knop om het te bevestigen. De organisatie handelt het daarna af en antwoordt je per e-mail."
                    .to_owned(),
            ],
            "Mijn verzoek bevestigen",
            "Er gebeurt niets totdat je op de knop drukt. Was jij het niet? Sluit dan deze pagina.",
        ),
    };
    Page { lang, title: title.to_owned(), paragraphs, button: Some(button.to_owned()), note: Some(note.to_owned()) }
}

/// The confirmation after the button's POST.
pub fn done(lang: Lang) -> Page {
    let (title, paragraph, note) = match lang {
        Lang::En => (
            "Request confirmed",
            "Your request is confirmed. The organisation answers it within a month, by e-mail.",
            "You can close this page.",
        ),
        Lang::Nl => (
            "Verzoek bevestigd",
            "Je verzoek is bevestigd. De organisatie beantwoordt het binnen een maand, per e-mail.",
            "Je kunt deze pagina sluiten.",
        ),
    };
    Page {
        lang,
        title: title.to_owned(),
        paragraphs: vec![paragraph.to_owned()],
        button: None,
        note: Some(note.to_owned()),
    }
}

/// A link that does not work (unknown, used or expired: `token_invalid`)
/// as a page for a browser; anything else, and any error for a JSON client,
/// as the API answers it.
pub fn failure(error: ApiError, visitor: &Visitor) -> Result<HttpResponse, ApiError> {
    let invalid = matches!(error, ApiError::BadRequest { code: "token_invalid", .. });
    if !(invalid && visitor.html) {
        return Err(error);
    }
    let lang = visitor.language(None);
    let (title, paragraph) = match lang {
        Lang::En => (
            "This link does not work",
            "It is not a whole link from the e-mail, it was used already, or it expired after 7 days. A request that was confirmed needs nothing more.",
        ),
        Lang::Nl => (
            "Deze link werkt niet",
            "Het is niet de hele link uit de e-mail, hij is al gebruikt, of hij is na 7 dagen verlopen. Een bevestigd verzoek heeft niets meer nodig.",
        ),
    };
    let page = Page { lang, title: title.to_owned(), paragraphs: vec![paragraph.to_owned()], button: None, note: None };
    debug_assert_eq!(error.status_code(), StatusCode::BAD_REQUEST);
    Ok(page.respond(error.status_code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_has_a_button_and_the_answer_none() {
        let html = ask(Lang::Nl).render();
        assert!(html.contains(">Mijn verzoek bevestigen</button>") && html.contains("<form method=\"post\">"));
        assert!(!done(Lang::En).render().contains("<form"));
    }

    #[test]
    fn only_an_invalid_link_becomes_a_page_and_only_for_a_browser() {
        let browser = Visitor { html: true, browser: Some(Lang::En) };
        let json = Visitor { html: false, browser: None };
        let invalid = || ApiError::BadRequest { code: "token_invalid", detail: String::new() };
        assert_eq!(failure(invalid(), &browser).unwrap().status(), StatusCode::BAD_REQUEST);
        assert!(failure(invalid(), &json).is_err());
        assert!(failure(ApiError::RateLimited(3), &browser).is_err());
    }
}
