//! The messages of the request procedure, in English and Dutch (by the
//! person's language), queued in the outbox inside the change's
//! transaction: the code that verifies a request made from outside, the
//! link to an export, a refusal (with the right to complain), and the
//! reminders to the tenant's privacy contact.

use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::{Db, MasterKey, outbox};
use serde_json::json;

use crate::requests::{Kind, RefusalReason, Reminder, Request, format_date};

fn dutch(language: Option<&str>) -> bool {
    language.is_some_and(|l| l == "nl" || l.starts_with("nl-"))
}

/// What kind of request, in words.
fn kind_words(kind: Kind, nl: bool) -> &'static str {
    match (kind, nl) {
        (Kind::Access, false) => "access to your data",
        (Kind::Access, true) => "inzage in je gegevens",
        (Kind::Rectification, false) => "correction of your data",
        (Kind::Rectification, true) => "correctie van je gegevens",
        (Kind::Erasure, false) => "erasure of your data",
        (Kind::Erasure, true) => "verwijdering van je gegevens",
        (Kind::Restriction, false) => "restriction of the processing of your data",
        (Kind::Restriction, true) => "beperking van de verwerking van je gegevens",
        (Kind::Objection, false) => "objection to the processing of your data",
        (Kind::Objection, true) => "bezwaar tegen de verwerking van je gegevens",
        (Kind::Portability, false) => "a copy of your data to take elsewhere",
        (Kind::Portability, true) => "een kopie van je gegevens om mee te nemen",
    }
}

/// The supervisory authority a person may complain to (Art. 12(4), 77).
pub fn complaint_text(nl: bool) -> &'static str {
    if nl {
        "Ben je het hier niet mee eens? Dan kun je een klacht indienen bij de Autoriteit Persoonsgegevens (https://autoriteitpersoonsgegevens.nl) en naar de rechter stappen."
    } else {
        "If you disagree, you may lodge a complaint with a supervisory authority, in the Netherlands the Autoriteit Persoonsgegevens (https://autoriteitpersoonsgegevens.nl), and seek a judicial remedy."
    }
}

/// A refusal reason, in words.
pub fn reason_words(reason: RefusalReason, nl: bool) -> &'static str {
    match (reason, nl) {
        (RefusalReason::ManifestlyUnfounded, false) => "the request is manifestly unfounded",
        (RefusalReason::ManifestlyUnfounded, true) => "het verzoek is kennelijk ongegrond",
        (RefusalReason::Excessive, false) => "the request is excessive, in particular because it repeats",
        (RefusalReason::Excessive, true) => "het verzoek is buitensporig, met name omdat het zich herhaalt",
        (RefusalReason::IdentityNotVerified, false) => "we could not verify that you are the person concerned",
        (RefusalReason::IdentityNotVerified, true) => "we konden niet vaststellen dat jij de betrokkene bent",
        (RefusalReason::LegalObligation, false) => "a legal obligation requires us to keep processing the data",
        (RefusalReason::LegalObligation, true) => {
            "een wettelijke plicht verplicht ons de gegevens te blijven verwerken"
        }
        (RefusalReason::LegalClaims, false) => "the data is needed for legal claims",
        (RefusalReason::LegalClaims, true) => "de gegevens zijn nodig voor een rechtsvordering",
        (RefusalReason::RightsOfOthers, false) => "granting it would harm the rights and freedoms of others",
        (RefusalReason::RightsOfOthers, true) => "inwilligen zou de rechten en vrijheden van anderen schaden",
        (RefusalReason::NotApplicable, false) => "this right does not apply to this processing",
        (RefusalReason::NotApplicable, true) => "dit recht is niet van toepassing op deze verwerking",
    }
}

fn queue(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    person: Option<&PersonId>,
    to: &str,
    subject: String,
    text: String,
) -> Result<()> {
    let payload = json!({"to": to, "subject": subject, "text": text});
    let bytes = serde_json::to_vec(&payload).map_err(|e| DomainError::Internal(e.to_string()))?;
    outbox::enqueue(conn, master, tenant, person, "mail", &bytes)?;
    Ok(())
}

/// The code that confirms a request made from outside.
#[derive(Debug, Clone, Copy)]
pub struct Verification<'a> {
    /// The tenant's name.
    pub organisation: &'a str,
    /// The address the request gave.
    pub to: &'a str,
    /// What was asked.
    pub kind: Kind,
    /// The single-use code.
    pub code: &'a str,
    /// Where the code is sent.
    pub confirm_url: &'a str,
}

/// Mail the code that confirms a request made from outside: only whoever
/// reads the mailbox can confirm it. Sent whether or not the address is known.
pub fn queue_verification(conn: &mut Db, master: &MasterKey, tenant: &TenantId, v: Verification<'_>) -> Result<()> {
    let Verification { organisation, to, kind, code, confirm_url } = v;
    let what = kind_words(kind, false);
    let subject = format!("Confirm your request to {organisation}");
    let text = format!(
        "Hello,\n\nSomeone asked {organisation} for {what}, giving this e-mail address. If that was you,\nconfirm the request by sending this code to {confirm_url}\n(the organisation's page does that for you). It is valid for 7 days and works once.\n\nCode: {code}\n\nIf it was not you, ignore this message: nothing happens without the code.\n"
    );
    queue(conn, master, tenant, None, to, subject, text)
}

/// The link to a completed access or portability request's export; it works once.
pub fn queue_download(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    person: &PersonId,
    to: &str,
    language: Option<&str>,
    link: &str,
) -> Result<()> {
    let (subject, text) = if dutch(language) {
        (
            "Je gegevens staan klaar".to_owned(),
            format!(
                "Hallo,\n\nJe verzoek is afgehandeld. Via deze link kun je al je gegevens een keer\ndownloaden; de link is 30 dagen geldig. Ingelogd kun je ze ook ophalen bij je verzoek.\n\n{link}\n"
            ),
        )
    } else {
        (
            "Your data is ready".to_owned(),
            format!(
                "Hello,\n\nYour request has been answered. With this link you can download all your data\nonce; it is valid for 30 days. Signed in, you can also fetch it from your request.\n\n{link}\n"
            ),
        )
    };
    queue(conn, master, tenant, Some(person), to, subject, text)
}

/// A refusal: the reason, the explanation, and the right to complain.
pub fn queue_refusal(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    person: Option<&PersonId>,
    to: &str,
    language: Option<&str>,
    request: &Request,
) -> Result<()> {
    let nl = dutch(language);
    let reason = request.refusal_reason.map(|r| reason_words(r, nl)).unwrap_or_default();
    let explanation = request.refusal_text.as_deref().unwrap_or_default();
    let what = kind_words(request.kind, nl);
    let complaint = complaint_text(nl);
    let (subject, text) = if nl {
        (
            "Je verzoek is afgewezen".to_owned(),
            format!(
                "Hallo,\n\nWe hebben je verzoek om {what} afgewezen, omdat {reason}.\n\n{explanation}\n\n{complaint}\n"
            ),
        )
    } else {
        (
            "Your request was refused".to_owned(),
            format!(
                "Hello,\n\nWe refused your request for {what}, because {reason}.\n\n{explanation}\n\n{complaint}\n"
            ),
        )
    };
    queue(conn, master, tenant, person, to, subject, text)
}

/// A reminder to the privacy contact: a request is due within a week, or overdue.
pub fn queue_reminder(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    to: &str,
    request: &Request,
    reminder: Reminder,
) -> Result<()> {
    let due = format_date(request.due_on);
    let kind = request.kind.as_str();
    let id = &request.id;
    let (subject, text) = match reminder {
        Reminder::DueSoon => (
            format!("A {kind} request is due on {due}"),
            format!(
                "Hello,\n\nThe {kind} request {id} must be answered by the end of {due}\n(one month after receipt, Art. 12(3) GDPR). It is now `{}`.\n",
                request.state.as_str()
            ),
        ),
        Reminder::Overdue => (
            format!("OVERDUE: a {kind} request was due on {due}"),
            format!(
                "Hello,\n\nThe {kind} request {id} was due by the end of {due} and is still `{}`.\nAnswer it now, or refuse it with a reason: the person may complain to the supervisory\nauthority about a request left unanswered.\n",
                request.state.as_str()
            ),
        ),
    };
    queue(conn, master, tenant, None, to, subject, text)
}
