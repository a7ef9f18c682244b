//! RFC 8058 one-click unsubscribe: a signed link for a person and purpose,
//! for the `List-Unsubscribe` header of a mailing, and its redemption, which
//! needs no token (the link is the proof) and records a withdrawal (an
//! objection for purposes not based on consent) once.

use kluis_audit::{Action, Target};
use kluis_consent::unsubscribe::{self, Opened, Redeemed};
use kluis_consent::{ConsentEvent, Proof};
use kluis_core::{Actor, ActorKind, DomainError, PersonId};
use kluis_people::persons;
use time::PrimitiveDateTime;

use crate::consent::audit_action;
use crate::limiter::Flow;
use crate::{App, AppError, AppResult, Origin, Scoped};

/// A one-click unsubscribe link.
#[derive(Debug, Clone)]
pub struct Link {
    /// `https://…/v1/unsubscribe/{token}`.
    pub url: String,
    /// When it stops working (whole seconds).
    pub expires_at: PrimitiveDateTime,
}

/// The public address of the link whose token is `token` (also what notice
/// mails carry).
pub fn url(app: &App, token: &str) -> String {
    format!("{}/v1/unsubscribe/{token}", app.settings.issuer.trim_end_matches('/'))
}

/// A signed link for a person of the caller's tenant (404 for one it does
/// not know) and a purpose one can withdraw from or object to (422
/// otherwise), valid for [`unsubscribe::LINK_TTL`]; an audited read.
pub async fn link(app: &App, caller: &Scoped<'_>, person: PersonId, purpose: String) -> AppResult<Link> {
    // Links carry their expiry in whole seconds.
    let expires_at = kluis_core::time::now() + unsubscribe::LINK_TTL;
    let expires_at = kluis_core::time::from_unix(kluis_core::time::unix(expires_at)).unwrap_or(expires_at);
    let tenant = caller.tenant.clone();
    let target = Target::person("consent", &person);
    let (token, purpose) = app
        .read(move |conn| {
            persons::version(conn, &tenant, &person)?;
            let token = unsubscribe::issue(conn, &tenant, &person, &purpose, expires_at)?;
            Ok((token, purpose))
        })
        .await?;
    app.audit_reads.read(&caller.audit(), Action::UnsubscribeLink, target, &["unsubscribe_link"], Some(&purpose)).await;
    Ok(Link { url: url(app, &token), expires_at })
}

/// What redeeming a link found, inside its transaction (every branch
/// commits: redeeming clears used tokens past their expiry whatever it finds).
enum Outcome {
    Recorded(Box<ConsentEvent>),
    Invalid,
    Expired,
    Used,
    Gone,
}

/// The fields an unsubscribe records (kluis sets each of them).
const FIELDS: [&str; 3] = ["purpose", "action", "source"];

/// Count a request on an unsubscribe link (the one-click POST, and the page
/// a browser GETs) against the per-IP rate: 429 beyond it. Mail providers
/// send one-click unsubscribes for many people from few addresses, so the
/// default rate is generous.
pub fn throttle(app: &App, origin: &Origin) -> AppResult<()> {
    app.rates.hit_ip(Flow::UnsubscribePerIp, origin.ip)
}

/// Redeem a link: record its withdrawal or objection with source
/// `unsubscribe` by the system actor `unsubscribe`, and its audit entry.
/// Rate-limited per client IP ([`throttle`]). An altered link is a bad
/// request; a used or expired one, or one whose person or purpose is gone,
/// is gone. Neither records anything.
pub async fn one_click(app: &App, origin: &Origin, token: String, proof: Proof) -> AppResult<ConsentEvent> {
    throttle(app, origin)?;
    let origin = origin.clone();
    let outcome = app
        .in_transaction(move |conn| {
            let token = match unsubscribe::open(conn, &token)? {
                Opened::Valid(token) => token,
                Opened::Invalid => return Ok(Outcome::Invalid),
                Opened::Expired => return Ok(Outcome::Expired),
            };
            match persons::version(conn, &token.tenant, &token.person) {
                Ok(_) => {}
                Err(DomainError::NotFound) => return Ok(Outcome::Gone),
                Err(other) => return Err(other.into()),
            }
            let actor = Actor {
                kind: ActorKind::System,
                id: "unsubscribe".to_owned(),
                tenant: Some(token.tenant.clone()),
                scopes: Vec::new(),
                purposes: Vec::new(),
            };
            match unsubscribe::redeem(conn, &token, &actor, proof)? {
                Redeemed::Recorded(event) => {
                    let ctx = kluis_audit::Context::new(&actor, token.tenant.clone(), origin.request_id, origin.ip);
                    let target = Target::person("consent", &token.person);
                    kluis_audit::record(conn, &ctx, audit_action(event.action), target, &FIELDS, Some(&event.purpose))?;
                    Ok(Outcome::Recorded(event))
                }
                Redeemed::Used => Ok(Outcome::Used),
                Redeemed::Gone => Ok(Outcome::Gone),
            }
        })
        .await?;
    match outcome {
        Outcome::Recorded(event) => Ok(*event),
        Outcome::Invalid => Err(AppError::BadRequest {
            code: "invalid_link",
            detail: "this unsubscribe link is not one kluis made, or it was altered".into(),
        }),
        Outcome::Expired => {
            Err(AppError::Gone { code: "link_expired", detail: "this unsubscribe link has expired".into() })
        }
        Outcome::Used => {
            Err(AppError::Gone { code: "link_used", detail: "this unsubscribe link was used already".into() })
        }
        Outcome::Gone => Err(AppError::Gone {
            code: "link_gone",
            detail: "what this unsubscribe link points to no longer exists".into(),
        }),
    }
}
