//! The messages accounts send, in English and Dutch (by the person's
//! language), queued in the outbox inside the change's transaction.

use kluis_core::{PersonId, Result, TenantId};
use kluis_store::{Db, MasterKey, outbox};
use serde::Serialize;

/// What the mail worker delivers.
#[derive(Debug, Serialize)]
pub struct MailPayload<'a> {
    /// Recipient address.
    pub to: &'a str,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// Headers besides those the worker sets, as (name, value): the
    /// `List-Unsubscribe` pair of a mail about processing one may withdraw
    /// from or object to. Security mails carry none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(&'static str, String)>,
}

impl MailPayload<'_> {
    fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| kluis_core::DomainError::Internal(e.to_string()))
    }
}

/// The headers that let a mail client offer a one-click unsubscribe for
/// `link` (RFC 2369 and RFC 8058): it POSTs `List-Unsubscribe=One-Click` to it.
fn list_unsubscribe(link: &str) -> Vec<(&'static str, String)> {
    vec![("List-Unsubscribe", format!("<{link}>")), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".to_owned())]
}

/// Which message.
#[derive(Debug, Clone, Copy)]
pub enum Template {
    /// Prove you receive mail at this address.
    VerifyEmail,
    /// A password reset was asked for.
    PasswordReset,
    /// A sign-in from an unfamiliar device needs this code.
    DeviceCode,
}

fn dutch(language: Option<&str>) -> bool {
    language.is_some_and(|l| l == "nl" || l.starts_with("nl-"))
}

/// A link paragraph, or nothing.
fn link_paragraph(link: Option<&str>, nl: bool, action: (&str, &str)) -> String {
    match link {
        Some(link) if nl => format!("{}:\n\n{link}\n\nOf ", action.1),
        Some(link) => format!("{}:\n\n{link}\n\nOr ", action.0),
        None => String::new(),
    }
}

/// Capitalise the sentence after an optional "Or "/"Of ".
fn sentence(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        let mut chars = rest.chars();
        chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
    } else {
        format!("{prefix}{rest}")
    }
}

fn render(template: Template, language: Option<&str>, token: &str, link: Option<&str>) -> (String, String) {
    let (subject, text) = render_text(template, language, token, link);
    if link.is_none() {
        return (subject, text);
    }
    // Both the link and the code work, once.
    let text = text
        .replacen("It is valid for", "The link and the code are valid for", 1)
        .replacen("and works once", "and work once", 1)
        .replacen("De code is", "De link en de code zijn", 1)
        .replacen("geldig en werkt een keer", "geldig en werken een keer", 1);
    (subject, text)
}

fn render_text(template: Template, language: Option<&str>, token: &str, link: Option<&str>) -> (String, String) {
    let nl = dutch(language);
    match (template, nl) {
        (Template::VerifyEmail, false) => {
            let open =
                link_paragraph(link, nl, ("Please confirm that this is your e-mail address by opening this link", ""));
            let enter = if link.is_some() {
                sentence(&open, "enter this code in the app that sent you here")
            } else {
                "Please confirm that this is your e-mail address by entering this code in the app\nthat sent you here"
                    .to_owned()
            };
            (
                "Confirm your e-mail address".to_owned(),
                format!(
                    "Hello,\n\n{enter}. It is valid for 24 hours and works once.\n\nCode: {token}\n\nIf you did not ask for this, you can ignore this message.\n"
                ),
            )
        }
        (Template::VerifyEmail, true) => {
            let open = link_paragraph(link, nl, ("", "Bevestig dat dit jouw e-mailadres is door deze link te openen"));
            let enter = if link.is_some() {
                sentence(&open, "vul deze code in in de app die je hierheen stuurde")
            } else {
                "Bevestig dat dit jouw e-mailadres is door deze code in te vullen in de app die\nje hierheen stuurde"
                    .to_owned()
            };
            (
                "Bevestig je e-mailadres".to_owned(),
                format!(
                    "Hallo,\n\n{enter}. De code is 24 uur geldig en werkt een keer.\n\nCode: {token}\n\nHeb je hier niet om gevraagd? Dan kun je dit bericht negeren.\n"
                ),
            )
        }
        (Template::PasswordReset, false) => {
            let open = link_paragraph(
                link,
                nl,
                (
                    "Someone asked to reset the password of your account. If that was you, open\nthis link to choose a new password",
                    "",
                ),
            );
            let enter = if link.is_some() {
                sentence(&open, "enter this code together with your new password")
            } else {
                "Someone asked to reset the password of your account. If that was you, enter\nthis code together with your new password".to_owned()
            };
            (
                "Reset your password".to_owned(),
                format!(
                    "Hello,\n\n{enter}. It is valid for 1 hour and works once.\n\nCode: {token}\n\nIf it was not you, ignore this message: your password stays as it is.\n"
                ),
            )
        }
        (Template::PasswordReset, true) => {
            let open = link_paragraph(
                link,
                nl,
                (
                    "",
                    "Iemand vroeg om het wachtwoord van je account opnieuw in te stellen. Was jij dat?\nOpen dan deze link om een nieuw wachtwoord te kiezen",
                ),
            );
            let enter = if link.is_some() {
                sentence(&open, "vul deze code in met je nieuwe wachtwoord")
            } else {
                "Iemand vroeg om het wachtwoord van je account opnieuw in te stellen. Was jij dat?\nVul dan deze code in met je nieuwe wachtwoord".to_owned()
            };
            (
                "Stel je wachtwoord opnieuw in".to_owned(),
                format!(
                    "Hallo,\n\n{enter}. De code is 1 uur geldig en werkt een keer.\n\nCode: {token}\n\nWas jij het niet? Negeer dan dit bericht: je wachtwoord blijft zoals het is.\n"
                ),
            )
        }
        (Template::DeviceCode, false) => (
            "Your sign-in code".to_owned(),
            format!(
                "Hello,\n\nSomeone is signing in to your account from a device we do not know yet. If that\nis you, enter this code. It is valid for 10 minutes.\n\nCode: {token}\n\nIf it is not you, do not share the code, and change your password.\n"
            ),
        ),
        (Template::DeviceCode, true) => (
            "Je inlogcode".to_owned(),
            format!(
                "Hallo,\n\nEr wordt ingelogd op je account vanaf een apparaat dat we nog niet kennen. Ben jij\ndat? Vul dan deze code in. De code is 10 minuten geldig.\n\nCode: {token}\n\nBen jij het niet? Deel de code met niemand en wijzig je wachtwoord.\n"
            ),
        ),
    }
}

/// A mail to queue.
#[derive(Debug, Clone, Copy)]
pub struct Mail<'a> {
    /// Recipient address.
    pub to: &'a str,
    /// The person's language (Dutch for `nl`, else English).
    pub language: Option<&'a str>,
    /// Which message.
    pub template: Template,
    /// The single-use token it carries.
    pub token: &'a str,
    /// kluis's public URL, where a tenant's privacy centre is served: the
    /// link of a tenant with the centre on and no link base of its own.
    pub public_url: Option<&'a str>,
}

impl<'a> Mail<'a> {
    /// A security mail: it carries a code, and the tenant's link (`link`,
    /// the token in its place) where it set one; never an unsubscribe
    /// header (nobody may opt out of their own account's security).
    fn payload(&self, link: Option<&str>) -> MailPayload<'a> {
        let (subject, text) = render(self.template, self.language, self.token, link);
        MailPayload { to: self.to, subject, text, headers: Vec::new() }
    }
}

/// The link a mail carries: the tenant's link base for its template
/// (`verify_email_url`, `reset_password_url`) with the token in its place;
/// without one, the page of the tenant's privacy centre when it is on.
fn link_for(conn: &mut Db, tenant: &TenantId, mail: &Mail<'_>) -> Result<Option<String>> {
    let action = match mail.template {
        Template::DeviceCode => return Ok(None),
        Template::VerifyEmail => "verify",
        Template::PasswordReset => "reset",
    };
    let tenant = kluis_store::tenancy::tenants::get(conn, tenant)?;
    let own = match mail.template {
        Template::VerifyEmail => tenant.verify_email_url,
        _ => tenant.reset_password_url,
    };
    let base = own.or_else(|| {
        let public_url = mail.public_url.filter(|_| tenant.privacy_centre)?;
        Some(centre_link(public_url, &tenant.slug, action))
    });
    Ok(base.map(|base| kluis_store::tenancy::rules::link_with(&base, mail.token)))
}

/// The link base of a page of the tenant's privacy centre: `action`
/// (`verify`, `reset`) and the token in the fragment, which browsers never
/// send to a server nor in a `Referer`.
pub fn centre_link(public_url: &str, slug: &str, action: &str) -> String {
    format!(
        "{}/privacy/{slug}/#{action}={}",
        public_url.trim_end_matches('/'),
        kluis_store::tenancy::rules::TOKEN_PLACEHOLDER
    )
}

/// Queue a mail to a person, inside the caller's transaction.
pub fn queue(conn: &mut Db, master: &MasterKey, tenant: &TenantId, person: &PersonId, mail: Mail<'_>) -> Result<()> {
    let link = link_for(conn, tenant, &mail)?;
    let payload = mail.payload(link.as_deref()).to_json()?;
    outbox::enqueue(conn, master, tenant, Some(person), "mail", &payload)?;
    Ok(())
}

/// A notice of a new purpose a person may object to.
#[derive(Debug, Clone, Copy)]
pub struct PurposeNotice<'a> {
    /// Recipient address.
    pub to: &'a str,
    /// The person's language.
    pub language: Option<&'a str>,
    /// The purpose's name.
    pub purpose: &'a str,
    /// The one-click objection link.
    pub link: &'a str,
}

impl<'a> PurposeNotice<'a> {
    /// The notice, with the link in its text and in `List-Unsubscribe`.
    fn payload(&self) -> MailPayload<'a> {
        let PurposeNotice { to, language, purpose, link } = *self;
        let (subject, text) = if dutch(language) {
            (
                "Nieuw gebruik van je gegevens".to_owned(),
                format!(
                    "Hallo,\n\nWe gaan je gegevens ook gebruiken voor: {purpose}.\nDat doen we op grond van een gerechtvaardigd belang, en je hebt het recht om\nbezwaar te maken. Open deze link en druk op de knop om je bezwaar vast te\nleggen:\n\n{link}\n"
                ),
            )
        } else {
            (
                "A new use of your data".to_owned(),
                format!(
                    "Hello,\n\nWe will also use your data for: {purpose}.\nWe do so on the ground of a legitimate interest, and you have the right to\nobject. Open this link and press its button to record your objection:\n\n{link}\n"
                ),
            )
        };
        MailPayload { to, subject, text, headers: list_unsubscribe(link) }
    }
}

/// Tell a person about a new processing purpose they may object to, with a
/// link to a page whose button records the objection (and the same link in
/// `List-Unsubscribe`, for mail clients' one-click); inside the caller's
/// transaction.
pub fn queue_purpose_notice(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    person: &PersonId,
    notice: PurposeNotice<'_>,
) -> Result<()> {
    let payload = notice.payload().to_json()?;
    outbox::enqueue(conn, master, tenant, Some(person), "mail", &payload)?;
    Ok(())
}

/// Confirm to a person that their data was erased at their request, in
/// their language, at the address read before the erasure. The message is
/// queued without the person's id (they no longer exist); it names the
/// receipt, which the tenant can show them.
pub fn queue_erasure_confirmation(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    to: &str,
    language: Option<&str>,
    receipt: &str,
) -> Result<()> {
    let (subject, text) = if dutch(language) {
        (
            "Je gegevens zijn gewist".to_owned(),
            format!(
                "Hallo,\n\nOp jouw verzoek hebben we al je gegevens gewist: je profiel, account,\ncontactgegevens, apparaten en toestemmingen. Je kunt niet meer inloggen.\nDit is het laatste bericht dat je van ons krijgt op dit adres.\n\nKenmerk van de wissing: {receipt}\n\nWe bewaren alleen een onherleidbaar kenmerk, zodat je gegevens ook na het\nterugzetten van een back-up gewist blijven.\n"
            ),
        )
    } else {
        (
            "Your data has been erased".to_owned(),
            format!(
                "Hello,\n\nAs you asked, we have erased all your data: your profile, account, contact\ndetails, devices and consents. You can no longer sign in. This is the last\nmessage you will receive from us at this address.\n\nErasure reference: {receipt}\n\nWe keep only a reference that cannot be traced back to you, so that your data\nstays erased even when a backup is restored.\n"
            ),
        )
    };
    let payload = MailPayload { to, subject, text, headers: Vec::new() }.to_json()?;
    outbox::enqueue(conn, master, tenant, None, "mail", &payload)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn stored(payload: &MailPayload<'_>) -> Value {
        serde_json::from_slice(&payload.to_json().unwrap()).unwrap()
    }

    #[test]
    fn a_purpose_notice_carries_the_one_click_headers() {
        let link = "https://kluis.example/v1/unsubscribe/abc.def";
        let notice = PurposeNotice { to: "a@example.nl", language: Some("nl"), purpose: "Fraudepreventie", link };
        let payload = stored(&notice.payload());
        assert_eq!(
            payload["headers"],
            json!([
                ["List-Unsubscribe", "<https://kluis.example/v1/unsubscribe/abc.def>"],
                ["List-Unsubscribe-Post", "List-Unsubscribe=One-Click"]
            ])
        );
        assert!(payload["text"].as_str().unwrap().contains(link));
        assert_eq!(payload["subject"], "Nieuw gebruik van je gegevens");
    }

    #[test]
    fn security_mails_carry_no_unsubscribe_header() {
        for template in [Template::VerifyEmail, Template::PasswordReset, Template::DeviceCode] {
            let mail = Mail { to: "a@example.nl", language: None, template, token: "123456", public_url: None };
            let payload = stored(&mail.payload(Some("https://app.example.nl/x?t=123456")));
            assert_eq!(payload.get("headers"), None, "{template:?}");
            assert!(payload["text"].as_str().unwrap().contains("123456"));
        }
    }

    #[test]
    fn a_mail_with_a_link_keeps_the_code_as_a_fallback() {
        for (template, language) in [
            (Template::VerifyEmail, None),
            (Template::VerifyEmail, Some("nl")),
            (Template::PasswordReset, None),
            (Template::PasswordReset, Some("nl-BE")),
        ] {
            let mail = Mail { to: "a@example.nl", language, template, token: "kv_tok", public_url: None };
            let with = stored(&mail.payload(Some("https://app.example.nl/v?token=kv_tok")))["text"]
                .as_str()
                .unwrap()
                .to_owned();
            let without = stored(&mail.payload(None))["text"].as_str().unwrap().to_owned();
            assert!(with.contains("\n\nhttps://app.example.nl/v?token=kv_tok\n\n"), "{with}");
            assert!(with.contains("Code: kv_tok") && without.contains("Code: kv_tok"));
            assert!(!without.contains("https://"), "{without}");
            // Every sentence starts with a capital.
            for text in [&with, &without] {
                assert!(
                    !text.contains(". or")
                        && !text.contains(". of")
                        && !text.contains("\n\nor ")
                        && !text.contains("\n\nof "),
                    "{text}"
                );
            }
        }
    }
}
