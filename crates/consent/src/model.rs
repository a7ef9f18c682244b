//! The consent domain's types.

use kluis_core::category::Category;
use kluis_core::{ActorKind, PersonId};
use time::PrimitiveDateTime;

/// An enum stored and sent by its snake_case name.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in a stable order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parse a stored or wire name.
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// The lawful basis of a processing purpose (Art. 6(1) GDPR).
    LegalBasis {
        /// (a) the person consented.
        Consent = "consent",
        /// (b) needed for a contract with the person.
        Contract = "contract",
        /// (c) needed to comply with a legal obligation.
        LegalObligation = "legal_obligation",
        /// (d) needed to protect someone's vital interests.
        VitalInterests = "vital_interests",
        /// (e) a task in the public interest.
        PublicTask = "public_task",
        /// (f) the legitimate interests of the controller.
        LegitimateInterests = "legitimate_interests",
    }
);

impl LegalBasis {
    /// True exactly for `consent`.
    pub fn requires_consent(self) -> bool {
        self == LegalBasis::Consent
    }

    /// Whether the person may object (Art. 21): to processing on public
    /// task or legitimate interests, and to direct marketing, which kluis
    /// runs on consent. No right to object exists against a contract, a
    /// legal obligation or vital interests.
    pub fn objectable(self) -> bool {
        matches!(self, LegalBasis::Consent | LegalBasis::PublicTask | LegalBasis::LegitimateInterests)
    }

    /// A short description for the register.
    pub fn article(self) -> &'static str {
        match self {
            LegalBasis::Consent => "Art. 6(1)(a) consent",
            LegalBasis::Contract => "Art. 6(1)(b) contract",
            LegalBasis::LegalObligation => "Art. 6(1)(c) legal obligation",
            LegalBasis::VitalInterests => "Art. 6(1)(d) vital interests",
            LegalBasis::PublicTask => "Art. 6(1)(e) public task",
            LegalBasis::LegitimateInterests => "Art. 6(1)(f) legitimate interests",
        }
    }
}

named_enum!(
    /// What a recipient of personal data is to the tenant.
    RecipientRole {
        /// Processes on the tenant's behalf (mail, payment, hosting).
        Processor = "processor",
        /// Decides on its own purposes (event organisers, sponsors).
        Controller = "controller",
        /// A public authority (tax office).
        Authority = "authority",
    }
);

named_enum!(
    /// What a ledger event does.
    ConsentAction {
        /// Consent given (by the person themselves: also lifts their objection).
        Grant = "grant",
        /// Consent withdrawn.
        Withdraw = "withdraw",
        /// Objection (Art. 21), e.g. to direct marketing.
        Object = "object",
    }
);

named_enum!(
    /// Where a ledger event or acceptance came from.
    Source {
        /// A website form.
        Web = "web",
        /// An app.
        App = "app",
        /// An import of earlier records.
        Import = "import",
        /// A staff member in a back office.
        Admin = "admin",
        /// A one-click unsubscribe link (RFC 8058).
        Unsubscribe = "unsubscribe",
        /// The person, signed in, through the self-service API.
        OwnData = "self",
        /// The person's browser sent Global Privacy Control (`Sec-GPC: 1`).
        Gpc = "gpc",
    }
);

named_enum!(
    /// A kind of policy document.
    PolicyKind {
        /// Terms and conditions.
        Terms = "terms",
        /// Privacy policy.
        Privacy = "privacy",
        /// Cookie policy.
        Cookies = "cookies",
    }
);

/// The stored name of an actor kind.
pub fn actor_kind_name(kind: ActorKind) -> &'static str {
    match kind {
        ActorKind::Operator => "operator",
        ActorKind::Client => "client",
        ActorKind::Subject => "subject",
        ActorKind::System => "system",
    }
}

/// An actor kind from its stored name.
pub fn parse_actor_kind(name: &str) -> Option<ActorKind> {
    [ActorKind::Operator, ActorKind::Client, ActorKind::Subject, ActorKind::System]
        .into_iter()
        .find(|k| actor_kind_name(*k) == name)
}

/// A processing purpose of a tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purpose {
    /// Stable key, e.g. `marketing_email`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// What is done with the data and why.
    pub description: String,
    /// The lawful basis.
    pub legal_basis: LegalBasis,
    /// The catalogue categories it processes.
    pub data_categories: Vec<Category>,
    /// Ids of the recipients the data goes to.
    pub recipients: Vec<String>,
    /// How long data kept for it may live: an ISO 8601 duration.
    pub retention: String,
    /// People object to it by sending Global Privacy Control (sale, sharing).
    pub gpc: bool,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Created.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

impl Purpose {
    /// True exactly when the basis is consent.
    pub fn requires_consent(&self) -> bool {
        self.legal_basis.requires_consent()
    }
}

/// A purpose to create. Categories come as names so that the domain can
/// tell an unknown name from a special category in its answer.
#[derive(Clone, Debug)]
pub struct NewPurpose {
    /// `a-z`, `0-9` and `_`, starting with a letter, 2 to 64 characters.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The lawful basis.
    pub legal_basis: LegalBasis,
    /// Catalogue category names.
    pub data_categories: Vec<String>,
    /// Recipient ids of the tenant.
    pub recipients: Vec<String>,
    /// ISO 8601 duration.
    pub retention: String,
    /// People object to it by sending Global Privacy Control.
    pub gpc: bool,
}

/// A change to a purpose; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct PurposePatch {
    /// Display name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The lawful basis.
    pub legal_basis: Option<LegalBasis>,
    /// Catalogue category names (replaces the list).
    pub data_categories: Option<Vec<String>>,
    /// Recipient ids (replaces the list).
    pub recipients: Option<Vec<String>>,
    /// ISO 8601 duration.
    pub retention: Option<String>,
    /// People object to it by sending Global Privacy Control.
    pub gpc: Option<bool>,
}

/// Someone personal data is disclosed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// Recipient id.
    pub id: String,
    /// Name of the organisation.
    pub name: String,
    /// Processor, controller or authority.
    pub role: RecipientRole,
    /// ISO 3166-1 alpha-2 country where the data goes.
    pub country: String,
    /// Whether that country is in the EEA (derived from it).
    pub in_eea: bool,
    /// The safeguard of a transfer outside the EEA (SCC, adequacy decision, BCR).
    pub transfer_mechanism: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Created.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

/// A recipient to register.
#[derive(Clone, Debug)]
pub struct NewRecipient {
    /// Name.
    pub name: String,
    /// Role.
    pub role: RecipientRole,
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
    /// Required outside the EEA.
    pub transfer_mechanism: Option<String>,
}

/// A change to a recipient; `None` leaves a field, `Some(None)` clears the mechanism.
#[derive(Clone, Debug, Default)]
pub struct RecipientPatch {
    /// Name.
    pub name: Option<String>,
    /// Role.
    pub role: Option<RecipientRole>,
    /// Country.
    pub country: Option<String>,
    /// Transfer mechanism.
    pub transfer_mechanism: Option<Option<String>>,
}

/// Proof of where an event came from: the caller's IP, truncated before it
/// reaches this crate, and its user agent.
#[derive(Clone, Debug, Default)]
pub struct Proof {
    /// Truncated IP (IPv4 /16, IPv6 /48).
    pub ip_prefix: Option<String>,
    /// The User-Agent header, cut to 512 characters.
    pub user_agent: Option<String>,
}

/// One event of the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentEvent {
    /// Position in the tenant's ledger: gapless, in commit order.
    pub seq: i64,
    /// Event id.
    pub id: String,
    /// The person.
    pub person_id: PersonId,
    /// Purpose key.
    pub purpose: String,
    /// Grant, withdraw or object.
    pub action: ConsentAction,
    /// Where it came from.
    pub source: Source,
    /// The version of the policy shown when it was given.
    pub policy_version: Option<i64>,
    /// Truncated IP of the caller.
    pub ip_prefix: Option<String>,
    /// User agent of the caller.
    pub user_agent: Option<String>,
    /// Who recorded it.
    pub actor_kind: ActorKind,
    /// Their id (client id, or the person's own id for a subject).
    pub actor_id: String,
    /// When the person did it.
    pub occurred_at: PrimitiveDateTime,
    /// When a grant lapses.
    pub expires_at: Option<PrimitiveDateTime>,
    /// When kluis recorded it.
    pub recorded_at: PrimitiveDateTime,
}

/// An event to record.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// Purpose key.
    pub purpose: String,
    /// Grant, withdraw or object.
    pub action: ConsentAction,
    /// Where it came from.
    pub source: Source,
    /// The version of the policy shown.
    pub policy_version: Option<i64>,
    /// When the person did it; now when absent. Not in the future.
    pub occurred_at: Option<PrimitiveDateTime>,
    /// When a grant lapses; grants only, after `occurred_at`.
    pub expires_at: Option<PrimitiveDateTime>,
    /// Proof.
    pub proof: Proof,
}

/// The current state of one person and purpose, folded from the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentState {
    /// The person.
    pub person_id: PersonId,
    /// Purpose key.
    pub purpose: String,
    /// The action of the latest event (by `occurred_at`).
    pub action: ConsentAction,
    /// When that event occurred.
    pub decided_at: PrimitiveDateTime,
    /// Its seq.
    pub decided_seq: i64,
    /// When the deciding grant lapses.
    pub expires_at: Option<PrimitiveDateTime>,
    /// The latest objection.
    pub objected_at: Option<PrimitiveDateTime>,
    /// The latest grant by the person themselves, which lifts an earlier objection.
    pub lifted_at: Option<PrimitiveDateTime>,
}

impl ConsentState {
    /// True while an objection stands: made, and not lifted by the person since.
    pub fn objected(&self) -> bool {
        match (self.objected_at, self.lifted_at) {
            (Some(objected), Some(lifted)) => lifted < objected,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// How a person and purpose stand, as the person or a back office sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
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

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Granted => "granted",
            Status::Expired => "expired",
            Status::Withdrawn => "withdrawn",
            Status::Objected => "objected",
            Status::None => "none",
        }
    }
}

/// The answer of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the processing may happen now.
    pub allowed: bool,
    /// The purpose's lawful basis.
    pub basis: LegalBasis,
    /// Since when this answer holds; `None` when nothing about the person decides it.
    pub since: Option<PrimitiveDateTime>,
    /// How the person and purpose stand.
    pub status: Status,
    /// The person's processing is restricted (Art. 18): nothing is allowed
    /// until it is lifted, whatever the consent says. Set by the use cases,
    /// which consult the restriction; [`decide`] leaves it false.
    pub restricted: bool,
}

impl Decision {
    /// The same decision under a restriction: not allowed.
    pub fn restrict(&mut self) {
        self.allowed = false;
        self.restricted = true;
    }
}

/// Decide whether processing for a purpose on `basis` is allowed, given the
/// person's state, at `now`. For consent: only with an unexpired grant that
/// is the latest event and no standing objection. For public task and
/// legitimate interests: unless an objection stands. Otherwise: allowed.
pub fn decide(basis: LegalBasis, state: Option<&ConsentState>, now: PrimitiveDateTime) -> Decision {
    let objected = state.filter(|s| s.objected());
    let status = match state {
        None => Status::None,
        Some(s) if s.objected() => Status::Objected,
        Some(s) => match s.action {
            ConsentAction::Grant if s.expires_at.is_some_and(|at| at <= now) => Status::Expired,
            ConsentAction::Grant => Status::Granted,
            ConsentAction::Withdraw | ConsentAction::Object => Status::Withdrawn,
        },
    };
    let (allowed, since) = match basis {
        LegalBasis::Consent => match (status, state) {
            (Status::Granted, Some(s)) => (true, Some(s.decided_at)),
            (Status::Objected, Some(s)) => (false, s.objected_at),
            (Status::Expired, Some(s)) => (false, s.expires_at),
            (_, Some(s)) => (false, Some(s.decided_at)),
            (_, None) => (false, None),
        },
        LegalBasis::PublicTask | LegalBasis::LegitimateInterests => match objected {
            Some(s) => (false, s.objected_at),
            None => (true, state.and_then(|s| s.lifted_at)),
        },
        LegalBasis::Contract | LegalBasis::LegalObligation | LegalBasis::VitalInterests => (true, None),
    };
    Decision { allowed, basis, since, status, restricted: false }
}

/// A published version of a policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersion {
    /// Terms, privacy or cookies.
    pub kind: PolicyKind,
    /// 1, 2, ... per kind.
    pub version: i64,
    /// Title.
    pub title: String,
    /// The text (Markdown or plain).
    pub body: String,
    /// Whether it changes something people must accept again.
    pub material: bool,
    /// When it was published.
    pub published_at: PrimitiveDateTime,
}

/// A version to publish.
#[derive(Clone, Debug)]
pub struct NewPolicyVersion {
    /// Title.
    pub title: String,
    /// The text.
    pub body: String,
    /// Whether people must accept it again.
    pub material: bool,
}

/// A person's acceptance of a policy version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptance {
    /// Acceptance id.
    pub id: String,
    /// The person.
    pub person_id: PersonId,
    /// Which document.
    pub kind: PolicyKind,
    /// Which version.
    pub version: i64,
    /// Where it came from.
    pub source: Source,
    /// Truncated IP of the caller.
    pub ip_prefix: Option<String>,
    /// User agent of the caller.
    pub user_agent: Option<String>,
    /// When.
    pub accepted_at: PrimitiveDateTime,
}

/// An acceptance to record.
#[derive(Clone, Debug)]
pub struct NewAcceptance {
    /// Which document.
    pub kind: PolicyKind,
    /// Which version: a published one.
    pub version: i64,
    /// Where it came from (not `unsubscribe`).
    pub source: Source,
    /// Proof.
    pub proof: Proof,
}

/// Where a person stands with one kind of policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyStanding {
    /// Which document.
    pub kind: PolicyKind,
    /// The newest version they accepted.
    pub accepted_version: Option<i64>,
    /// The current published version.
    pub current_version: Option<i64>,
    /// True when a material version newer than the accepted one exists.
    pub reacceptance_due: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> PrimitiveDateTime {
        kluis_core::time::from_unix(1_800_000_000 + secs).unwrap()
    }

    fn state(action: ConsentAction, decided: i64) -> ConsentState {
        ConsentState {
            person_id: PersonId("p".into()),
            purpose: "marketing_email".into(),
            action,
            decided_at: at(decided),
            decided_seq: 1,
            expires_at: None,
            objected_at: None,
            lifted_at: None,
        }
    }

    #[test]
    fn consent_needs_an_unexpired_latest_grant_and_no_objection() {
        let now = at(100);
        let none = decide(LegalBasis::Consent, None, now);
        assert_eq!((none.allowed, none.since, none.status), (false, None, Status::None));
        let granted = state(ConsentAction::Grant, 10);
        assert_eq!(decide(LegalBasis::Consent, Some(&granted), now).since, Some(at(10)));
        assert!(decide(LegalBasis::Consent, Some(&granted), now).allowed);
        let expired = ConsentState { expires_at: Some(at(50)), ..granted.clone() };
        let d = decide(LegalBasis::Consent, Some(&expired), now);
        assert_eq!((d.allowed, d.since, d.status), (false, Some(at(50)), Status::Expired));
        let withdrawn = state(ConsentAction::Withdraw, 20);
        assert!(!decide(LegalBasis::Consent, Some(&withdrawn), now).allowed);
        let objected = ConsentState { objected_at: Some(at(30)), ..granted.clone() };
        let d = decide(LegalBasis::Consent, Some(&objected), now);
        assert_eq!((d.allowed, d.since, d.status), (false, Some(at(30)), Status::Objected));
        let lifted = ConsentState { lifted_at: Some(at(40)), ..objected };
        assert!(decide(LegalBasis::Consent, Some(&lifted), now).allowed);
    }

    #[test]
    fn other_bases_are_allowed_unless_objected_where_the_law_allows_it() {
        let now = at(100);
        let objected = ConsentState { objected_at: Some(at(30)), ..state(ConsentAction::Object, 30) };
        for basis in [LegalBasis::LegitimateInterests, LegalBasis::PublicTask] {
            assert!(decide(basis, None, now).allowed);
            assert!(!decide(basis, Some(&objected), now).allowed);
        }
        for basis in [LegalBasis::Contract, LegalBasis::LegalObligation, LegalBasis::VitalInterests] {
            assert!(!basis.objectable());
            let d = decide(basis, None, now);
            assert_eq!((d.allowed, d.since), (true, None));
        }
    }

    #[test]
    fn names_round_trip() {
        for basis in LegalBasis::ALL {
            assert_eq!(LegalBasis::parse(basis.as_str()), Some(*basis));
            assert_eq!(basis.requires_consent(), *basis == LegalBasis::Consent);
        }
        assert_eq!(Source::parse("self"), Some(Source::OwnData));
        assert_eq!(parse_actor_kind("subject"), Some(ActorKind::Subject));
        assert!(PolicyKind::parse("imprint").is_none());
    }
}
