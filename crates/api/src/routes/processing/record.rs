//! The record of processing activities (Art. 30 GDPR), built from the
//! purposes and recipients, as JSON or Markdown.

use actix_web::http::header::{ACCEPT, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, get, web};
use kluis_consent::Recipient;
use kluis_consent::register::{self, Register};
use kluis_core::Scope;
use serde::Serialize;
use utoipa::ToSchema;

use super::{RecipientView, Time};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::AuthErrors;
use crate::routes::LegalBasisView;
use crate::state::AppState;

/// A data category and the person fields it covers.
#[derive(Serialize, ToSchema)]
pub struct CategoryView {
    /// Dotted catalogue name, e.g. `user.contact.email`.
    pub name: String,
    /// The person fields it covers.
    pub fields: Vec<String>,
}

/// A tenant-defined attribute serving a purpose.
#[derive(Serialize, ToSchema)]
pub struct RegisterAttributeView {
    /// Its key (`sector`).
    pub key: String,
    /// Its data category.
    pub category: String,
}

/// A transfer of personal data outside the EEA.
#[derive(Serialize, ToSchema)]
pub struct TransferView {
    /// The recipient.
    pub recipient_id: String,
    /// Its name.
    pub name: String,
    /// Its country (outside the EEA).
    pub country: String,
    /// The safeguard.
    pub transfer_mechanism: Option<String>,
}

/// One processing activity of the register.
#[derive(Serialize, ToSchema)]
pub struct ActivityView {
    /// Purpose key.
    pub purpose: String,
    /// Purpose name.
    pub name: String,
    /// What is done and why.
    pub description: String,
    /// The lawful basis.
    pub legal_basis: LegalBasisView,
    /// True when consent is asked and recorded per person.
    pub requires_consent: bool,
    /// Categories of personal data, with the fields they cover.
    pub data_categories: Vec<CategoryView>,
    /// The tenant-defined attributes that serve it, with their categories.
    pub attributes: Vec<RegisterAttributeView>,
    /// Who receives the data.
    pub recipients: Vec<RecipientView>,
    /// Transfers outside the EEA among them.
    pub transfers: Vec<TransferView>,
    /// Retention, an ISO 8601 duration.
    pub retention: String,
}

/// The record of processing activities (Art. 30 GDPR).
#[derive(Serialize, ToSchema)]
pub struct RegisterView {
    /// The controller: the tenant.
    pub controller: String,
    /// When this record was made.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub generated_at: Time,
    /// Always false: kluis refuses special categories of personal data.
    pub special_categories: bool,
    /// One activity per purpose.
    pub activities: Vec<ActivityView>,
    /// Every recipient.
    pub recipients: Vec<RecipientView>,
    /// Every transfer outside the EEA.
    pub transfers: Vec<TransferView>,
}

fn transfer(r: &Recipient) -> TransferView {
    TransferView {
        recipient_id: r.id.clone(),
        name: r.name.clone(),
        country: r.country.clone(),
        transfer_mechanism: r.transfer_mechanism.clone(),
    }
}

impl From<&Register> for RegisterView {
    fn from(register: &Register) -> Self {
        let activities = register
            .activities
            .iter()
            .map(|a| {
                let p = &a.purpose;
                ActivityView {
                    purpose: p.key.clone(),
                    name: p.name.clone(),
                    description: p.description.clone(),
                    legal_basis: p.legal_basis.into(),
                    requires_consent: p.requires_consent(),
                    data_categories: p
                        .data_categories
                        .iter()
                        .map(|c| CategoryView {
                            name: c.as_str().to_owned(),
                            fields: c.fields().iter().map(|f| (*f).to_owned()).collect(),
                        })
                        .collect(),
                    attributes: a
                        .attributes
                        .iter()
                        .map(|(key, category)| RegisterAttributeView {
                            key: key.clone(),
                            category: category.as_str().to_owned(),
                        })
                        .collect(),
                    transfers: a.transfers().map(transfer).collect(),
                    recipients: a.recipients.iter().cloned().map(RecipientView::from).collect(),
                    retention: p.retention.clone(),
                }
            })
            .collect();
        RegisterView {
            controller: register.controller.clone(),
            generated_at: register.generated_at,
            special_categories: false,
            activities,
            transfers: register.transfers().map(transfer).collect(),
            recipients: register.recipients.iter().cloned().map(RecipientView::from).collect(),
        }
    }
}

/// True when the request's `Accept` names `text/markdown`.
fn wants_markdown(req: &HttpRequest) -> bool {
    req.headers().get_all(ACCEPT).filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|range| {
        range.split(';').next().is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/markdown"))
    })
}

/// The record of processing activities (Art. 30 GDPR): every purpose with
/// its basis, categories, recipients and retention, and the transfers
/// outside the EEA. JSON, or Markdown with `Accept: text/markdown`.
#[utoipa::path(
    tag = "register",
    responses(
        (status = 200, content(
            (RegisterView = "application/json"),
            (String = "text/markdown", example = "# Record of processing activities\n..."),
        ), description = "The register: JSON, or Markdown with `Accept: text/markdown`"),
        AuthErrors,
    ),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/register")]
pub async fn get_register(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    let register = kluis_app::register::get(&state.app, &scoped).await?;
    if wants_markdown(&req) {
        return Ok(HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "text/markdown; charset=utf-8"))
            .body(register::markdown(&register)));
    }
    Ok(HttpResponse::Ok().json(RegisterView::from(&register)))
}
