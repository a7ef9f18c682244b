//! The messages of the request procedure, in English and Dutch (by the
//! person's language), queued in the outbox inside the change's
//! transaction: the code that verifies a request made from outside, the
//! link to an export, a refusal (with the right to complain), and the
//! reminders to the tenant's privacy contact; a breach at the platform to
//! that contact, and a high-risk breach to the people it concerns.

use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::{Db, MasterKey, outbox};
use serde_json::json;

use crate::breaches::Breach;
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
    /// Where the code is sent (`POST`); the mailed link is this plus `/{code}`.
    pub confirm_url: &'a str,
}

/// Mail the code that confirms a request made from outside: only whoever
/// reads the mailbox can confirm it. Sent whether or not the address is known.
pub fn queue_verification(conn: &mut Db, master: &MasterKey, tenant: &TenantId, v: Verification<'_>) -> Result<()> {
    let Verification { organisation, to, kind, code, confirm_url } = v;
    let what = kind_words(kind, false);
    let subject = format!("Confirm your request to {organisation}");
    let encoded: String = url::form_urlencoded::byte_serialize(code.as_bytes()).collect();
    let link = format!("{confirm_url}/{encoded}");
    let text = format!(
        "Hello,\n\nSomeone asked {organisation} for {what}, giving this e-mail address. If that was you,\nconfirm the request by opening this link and pressing its button:\n\n{link}\n\nOr give this code to the organisation's page. The link and the code are valid for 7 days\nand work once.\n\nCode: {code}\n\nIf it was not you, ignore this message: nothing happens without the link or the code.\n"
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

fn rfc3339(at: time::PrimitiveDateTime) -> String {
    kluis_core::time::utc(at).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn categories(breach: &Breach) -> String {
    breach.data_categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
}

/// A breach at the platform, to the tenant's privacy contact "without undue
/// delay" (Art. 33(2)): what happened, what data, the risk, and the clock
/// of the tenant's own report. In English and Dutch (the tenant keeps no
/// language); nothing in it names a person.
pub fn queue_platform_breach(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    to: &str,
    organisation: &str,
    breach: &Breach,
) -> Result<()> {
    let id = &breach.id;
    let detected = rfc3339(breach.detected_at);
    let due = rfc3339(breach.authority_due_at);
    let risk = breach.risk.as_str();
    let categories = categories(breach);
    let description = &breach.description;
    let measures = breach.measures.as_deref().unwrap_or("-");
    let subject = format!("Data breach at the platform / Datalek bij het platform ({id})");
    let text = format!(
        "Hello,\n\nThe platform {organisation} runs on had a personal-data breach that concerns {organisation}'s data.\nIt is in your breach register as {id} (source: platform).\n\nDetected: {detected}\nData categories: {categories}\nRisk as the platform assesses it: {risk}\nWhat happened: {description}\nMeasures taken: {measures}\n\nAs the controller you decide whether to report it to the supervisory authority: the report is\ndue by {due} (72 hours after detection, Art. 33 GDPR), or record why none is made.\n\n---\n\nHallo,\n\nHet platform waarop {organisation} draait heeft een datalek gehad dat gegevens van {organisation} raakt.\nHet staat in je register van datalekken als {id} (bron: platform).\n\nOntdekt: {detected}\nCategorieen gegevens: {categories}\nRisico volgens het platform: {risk}\nWat er gebeurde: {description}\nGenomen maatregelen: {measures}\n\nAls verwerkingsverantwoordelijke beslis je of je het meldt bij de Autoriteit Persoonsgegevens: de\nmelding moet uiterlijk {due} gedaan zijn (72 uur na ontdekking, art. 33 AVG), of leg vast waarom niet.\n"
    );
    queue(conn, master, tenant, None, to, subject, text)
}

/// What a person is told of a high-risk breach (Art. 34(2)).
#[derive(Debug, Clone, Copy)]
pub struct BreachNotice<'a> {
    /// The tenant's name.
    pub organisation: &'a str,
    /// The tenant's privacy contact, where to ask more.
    pub contact: Option<&'a str>,
    /// The breach.
    pub breach: &'a Breach,
}

/// Tell a person of a high-risk breach in their language (Dutch or
/// English): what happened, the likely consequences, the measures taken,
/// and whom to ask (Art. 34(2), 33(3)(b-d)).
pub fn queue_breach_notice(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    person: &PersonId,
    to: &str,
    language: Option<&str>,
    notice: BreachNotice<'_>,
) -> Result<()> {
    let BreachNotice { organisation, contact, breach } = notice;
    let nl = dutch(language);
    let description = &breach.description;
    let consequences = breach.consequences.as_deref().unwrap_or("-");
    let measures = breach.measures.as_deref().unwrap_or("-");
    let (subject, text) = if nl {
        let ask = match contact {
            Some(contact) => format!("Vragen? Mail {contact}."),
            None => format!("Vragen? Neem contact op met {organisation}."),
        };
        (
            format!("Belangrijk: datalek bij {organisation}"),
            format!(
                "Hallo,\n\nBij {organisation} is een datalek ontdekt dat jouw persoonsgegevens raakt en een hoog risico\nvoor je kan betekenen. Daarom laten we het je weten.\n\nWat er gebeurde: {description}\nMogelijke gevolgen: {consequences}\nWat we eraan doen: {measures}\n\n{ask}\n"
            ),
        )
    } else {
        let ask = match contact {
            Some(contact) => format!("Questions? Write to {contact}."),
            None => format!("Questions? Contact {organisation}."),
        };
        (
            format!("Important: a data breach at {organisation}"),
            format!(
                "Hello,\n\n{organisation} found a breach of personal data that concerns your data and may put you at\nhigh risk. That is why we tell you.\n\nWhat happened: {description}\nLikely consequences: {consequences}\nWhat we do about it: {measures}\n\n{ask}\n"
            ),
        )
    };
    queue(conn, master, tenant, Some(person), to, subject, text)
}
