//! The processing register (`consent:read` / `consent:write`), one file per
//! sub-resource: purposes with their legal basis, data categories,
//! recipients and retention; the recipients, with transfers outside the EEA
//! flagged; and the Art. 30 record built from both, as JSON or Markdown.
//! Every change is audited. The views the three share live here (the legal
//! basis, which consent records show too, in `routes`).

pub mod purposes;
pub mod recipients;
pub mod record;

use kluis_consent::{Recipient, RecipientRole};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

type Time = time::PrimitiveDateTime;

/// What a recipient is to the tenant.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleView {
    /// Processes on the tenant's behalf (mail, payment, hosting).
    Processor,
    /// Decides its own purposes (event organisers, sponsors).
    Controller,
    /// A public authority.
    Authority,
}

impl From<RoleView> for RecipientRole {
    fn from(r: RoleView) -> Self {
        match r {
            RoleView::Processor => RecipientRole::Processor,
            RoleView::Controller => RecipientRole::Controller,
            RoleView::Authority => RecipientRole::Authority,
        }
    }
}

impl From<RecipientRole> for RoleView {
    fn from(r: RecipientRole) -> Self {
        match r {
            RecipientRole::Processor => RoleView::Processor,
            RecipientRole::Controller => RoleView::Controller,
            RecipientRole::Authority => RoleView::Authority,
        }
    }
}

/// Someone personal data is disclosed to.
#[derive(Serialize, ToSchema)]
pub struct RecipientView {
    /// Recipient id.
    pub id: String,
    /// Organisation name.
    pub name: String,
    /// `processor`, `controller` or `authority`.
    pub role: RoleView,
    /// ISO 3166-1 alpha-2 country the data goes to.
    pub country: String,
    /// Whether that country is in the EEA (derived from it).
    pub in_eea: bool,
    /// The safeguard of a transfer outside the EEA.
    pub transfer_mechanism: Option<String>,
    /// Version for `If-Match`.
    pub version: i64,
    /// Created.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
}

impl From<Recipient> for RecipientView {
    fn from(r: Recipient) -> Self {
        RecipientView {
            id: r.id,
            name: r.name,
            role: r.role.into(),
            country: r.country,
            in_eea: r.in_eea,
            transfer_mechanism: r.transfer_mechanism,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}
