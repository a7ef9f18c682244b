//! RFC 8058 one-click unsubscribe: a signed link for a person and purpose,
//! for the `List-Unsubscribe` header of a mailing, and its redemption, which
//! needs no token (the link is the proof) and records a withdrawal (an
//! objection for purposes not based on consent) once.

use kluis_audit::{Action, Target};
use kluis_consent::unsubscribe::{self, Opened, Pending, Redeemed};
use kluis_consent::{ConsentAction, ConsentEvent, Proof};
use kluis_core::{Actor, ActorKind, DomainError, PersonId};
use kluis_people::persons;
use kluis_store::Db;
use kluis_store::tenancy::tenants;
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
/// is gone. Neither records anything. With Global Privacy Control (`gpc`:
/// the browser sent `Sec-GPC: 1`) the person's objection to the tenant's
/// `gpc` purposes is recorded too, once (see [`crate::processors::honour_gpc`]).
pub async fn one_click(app: &App, origin: &Origin, token: String, proof: Proof, gpc: bool) -> AppResult<ConsentEvent> {
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
            match unsubscribe::redeem(conn, &token, &actor, proof.clone())? {
                Redeemed::Recorded(event) => {
                    let ctx = kluis_audit::Context::new(&actor, token.tenant.clone(), origin.request_id, origin.ip);
                    let target = Target::person("consent", &token.person);
                    kluis_audit::record(conn, &ctx, audit_action(event.action), target, &FIELDS, Some(&event.purpose))?;
                    crate::webhooks::consent_changed(conn, &token.tenant, &event)?;
                    if gpc {
                        crate::processors::honour_gpc_in(conn, &ctx, &actor, &token.tenant, &token.person, &proof)?;
                    }
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

/// What a link is about, for the page a person sees when they open it.
#[derive(Debug, Clone)]
pub struct About {
    /// Purpose key.
    pub purpose: String,
    /// The purpose's display name (the tenant's words).
    pub purpose_name: String,
    /// The tenant's display name.
    pub tenant_name: String,
    /// The person's language, if they gave one (a BCP 47 tag).
    pub language: Option<String>,
    /// What using the link records: a withdrawal, or an objection.
    pub action: ConsentAction,
}

/// What looking a link up found.
enum Looked {
    Ready(Box<About>),
    Invalid,
    Expired,
    Used,
    Gone,
}

/// Look a link up, reading only: the same checks as [`one_click`], in the
/// same order, and the names to show.
fn look(conn: &mut Db, token: &str) -> Result<Looked, DomainError> {
    let token = match unsubscribe::open(conn, token)? {
        Opened::Valid(token) => token,
        Opened::Invalid => return Ok(Looked::Invalid),
        Opened::Expired => return Ok(Looked::Expired),
    };
    let language = match persons::language(conn, &token.tenant, &token.person) {
        Ok(language) => language,
        Err(DomainError::NotFound) => return Ok(Looked::Gone),
        Err(other) => return Err(other),
    };
    let (purpose, action) = match unsubscribe::pending(conn, &token)? {
        Pending::Ready { purpose, action } => (purpose, action),
        Pending::Used => return Ok(Looked::Used),
        Pending::Gone => return Ok(Looked::Gone),
    };
    let tenant = tenants::get(conn, &token.tenant)?;
    Ok(Looked::Ready(Box::new(About {
        purpose: purpose.key,
        purpose_name: purpose.name,
        tenant_name: tenant.name,
        language,
        action,
    })))
}

/// What a link would do, for the page a browser's GET shows: reads only,
/// records nothing and writes no audit entry (mail scanners follow links;
/// only the POST acts). A link kluis did not make, or an altered one, is
/// not found; a used or expired one, or one whose person or purpose is
/// gone, is gone. Rate-limited per client IP like the POST ([`throttle`]):
/// a page that answers whether a token is valid must not be a free oracle.
pub async fn preview(app: &App, origin: &Origin, token: String) -> AppResult<About> {
    throttle(app, origin)?;
    match app.read(move |conn| look(conn, &token)).await? {
        Looked::Ready(about) => Ok(*about),
        Looked::Invalid => Err(DomainError::NotFound.into()),
        Looked::Expired => {
            Err(AppError::Gone { code: "link_expired", detail: "this unsubscribe link has expired".into() })
        }
        Looked::Used => {
            Err(AppError::Gone { code: "link_used", detail: "this unsubscribe link was used already".into() })
        }
        Looked::Gone => Err(AppError::Gone {
            code: "link_gone",
            detail: "what this unsubscribe link points to no longer exists".into(),
        }),
    }
}

/// A redeemed link and what it was about.
#[derive(Debug, Clone)]
pub struct Confirmed {
    /// What was recorded.
    pub event: ConsentEvent,
    /// What the link was about, for the confirmation page.
    pub about: About,
}

/// Redeem a link as [`one_click`] does, with what it was about (looked up
/// first, so that a failure to read it records nothing): the POST of the
/// page's button and of RFC 8058 clients alike.
pub async fn confirm(app: &App, origin: &Origin, token: String, proof: Proof, gpc: bool) -> AppResult<Confirmed> {
    let looked = {
        let token = token.clone();
        app.read(move |conn| look(conn, &token)).await?
    };
    let event = one_click(app, origin, token, proof, gpc).await?;
    match looked {
        Looked::Ready(about) => Ok(Confirmed { event, about: *about }),
        // A link that did not open as ready a moment ago cannot redeem now.
        _ => Err(DomainError::Internal("an unsubscribe link redeemed that did not look ready".into()).into()),
    }
}
