//! Consent (`consent:read` / `consent:write`): recording grants, withdrawals
//! and objections for a person with their proof, a person's current state
//! and history, the check processors call before every mailing (single and
//! batch), the changes feed, and RFC 8058 one-click unsubscribe links, one
//! file per sub-resource; the views they share are here. Every recorded
//! event is audited; checks and feed pages are counted per client and day
//! instead of audited one by one (in `kluis_app::consent`).

pub mod changes;
pub mod checks;
pub mod consents;
pub mod unsubscribe;

use kluis_consent::{ConsentAction, ConsentEvent, Source, actor_kind_name, ledger};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::LegalBasisView;

type Time = time::PrimitiveDateTime;

/// What an event does.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ConsentActionView)]
pub enum ActionView {
    /// Consent given.
    Grant,
    /// Consent withdrawn.
    Withdraw,
    /// Objection (Art. 21), e.g. to direct marketing; it stands until the person lifts it.
    Object,
}

impl From<ActionView> for ConsentAction {
    fn from(a: ActionView) -> Self {
        match a {
            ActionView::Grant => ConsentAction::Grant,
            ActionView::Withdraw => ConsentAction::Withdraw,
            ActionView::Object => ConsentAction::Object,
        }
    }
}

impl From<ConsentAction> for ActionView {
    fn from(a: ConsentAction) -> Self {
        match a {
            ConsentAction::Grant => ActionView::Grant,
            ConsentAction::Withdraw => ActionView::Withdraw,
            ConsentAction::Object => ActionView::Object,
        }
    }
}

/// Where a recorded event or acceptance came from.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceView {
    /// A website form.
    Web,
    /// An app.
    App,
    /// An import of earlier records.
    Import,
    /// A staff member in a back office.
    Admin,
    /// A one-click unsubscribe link (set by kluis).
    Unsubscribe,
    /// The person through the self-service API (set by kluis).
    #[serde(rename = "self")]
    OwnData,
    /// The person's browser sent Global Privacy Control, `Sec-GPC: 1` (set by kluis).
    Gpc,
}

impl From<Source> for SourceView {
    fn from(s: Source) -> Self {
        match s {
            Source::Web => SourceView::Web,
            Source::App => SourceView::App,
            Source::Import => SourceView::Import,
            Source::Admin => SourceView::Admin,
            Source::Unsubscribe => SourceView::Unsubscribe,
            Source::OwnData => SourceView::OwnData,
            Source::Gpc => SourceView::Gpc,
        }
    }
}

/// Where a client says an event or acceptance came from.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientSourceView {
    /// A website form.
    Web,
    /// An app.
    App,
    /// An import of earlier records.
    Import,
    /// A staff member in a back office.
    Admin,
}

impl From<ClientSourceView> for Source {
    fn from(s: ClientSourceView) -> Self {
        match s {
            ClientSourceView::Web => Source::Web,
            ClientSourceView::App => Source::App,
            ClientSourceView::Import => Source::Import,
            ClientSourceView::Admin => Source::Admin,
        }
    }
}

/// How a person stands with a purpose.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusView {
    /// Consent given and valid.
    Granted,
    /// Consent given but lapsed.
    Expired,
    /// Consent withdrawn.
    Withdrawn,
    /// An objection stands.
    Objected,
    /// Nothing recorded.
    None,
}

impl From<kluis_consent::Status> for StatusView {
    fn from(s: kluis_consent::Status) -> Self {
        use kluis_consent::Status;
        match s {
            Status::Granted => StatusView::Granted,
            Status::Expired => StatusView::Expired,
            Status::Withdrawn => StatusView::Withdrawn,
            Status::Objected => StatusView::Objected,
            Status::None => StatusView::None,
        }
    }
}

/// A ledger event with its proof.
#[derive(Serialize, ToSchema)]
pub struct ConsentEventView {
    /// Event id.
    pub id: String,
    /// Position in the tenant's ledger (commit order).
    pub seq: i64,
    /// The person.
    pub person_id: String,
    /// Purpose key.
    pub purpose: String,
    /// `grant`, `withdraw` or `object`.
    pub action: ActionView,
    /// Where it came from.
    pub source: SourceView,
    /// The version of the policy shown.
    pub policy_version: Option<i64>,
    /// The recording caller's IP, truncated (IPv4 /16, IPv6 /48).
    pub ip_prefix: Option<String>,
    /// The recording caller's user agent.
    pub user_agent: Option<String>,
    /// `client`, `subject` (the person) or `system`.
    pub actor_kind: String,
    /// The client id, or the person's own id.
    pub actor_id: String,
    /// When the person did it.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Time,
    /// When a grant lapses.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Time>,
    /// When kluis recorded it.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Time,
}

impl From<ConsentEvent> for ConsentEventView {
    fn from(e: ConsentEvent) -> Self {
        ConsentEventView {
            id: e.id,
            seq: e.seq,
            person_id: e.person_id.0,
            purpose: e.purpose,
            action: e.action.into(),
            source: e.source.into(),
            policy_version: e.policy_version,
            ip_prefix: e.ip_prefix,
            user_agent: e.user_agent,
            actor_kind: actor_kind_name(e.actor_kind).to_owned(),
            actor_id: e.actor_id,
            occurred_at: e.occurred_at,
            expires_at: e.expires_at,
            recorded_at: e.recorded_at,
        }
    }
}

impl From<ledger::Standing> for StandingView {
    fn from(s: ledger::Standing) -> Self {
        StandingView {
            purpose: s.purpose,
            name: s.name,
            description: s.description,
            legal_basis: s.decision.basis.into(),
            status: s.decision.status.into(),
            allowed: s.decision.allowed,
            since: s.decision.since,
            expires_at: s.expires_at,
            restricted: s.decision.restricted,
        }
    }
}

/// How a person stands with one purpose now.
#[derive(Serialize, ToSchema)]
pub struct StandingView {
    /// Purpose key.
    pub purpose: String,
    /// The purpose's display name.
    pub name: String,
    /// What is done with the data and why, as the tenant describes the purpose.
    pub description: String,
    /// Its lawful basis.
    pub legal_basis: LegalBasisView,
    /// `granted`, `expired`, `withdrawn`, `objected` or `none`.
    pub status: StatusView,
    /// Whether processing for it is allowed now.
    pub allowed: bool,
    /// Since when this holds; null when nothing about the person decides it.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<Time>,
    /// When the current grant lapses.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Time>,
    /// The person's processing is restricted (Art. 18): nothing is allowed until it is lifted.
    pub restricted: bool,
}

/// A person's current state per purpose.
#[derive(Serialize, ToSchema)]
pub struct StandingList {
    /// Every purpose of the tenant, by key.
    pub items: Vec<StandingView>,
}
