//! Erasure receipts (`retention:admin`): what each erasure removed, when, by
//! whom, why, and who must be told. A receipt names the person only by the
//! keyed hash of the erasure ledger, never by id.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, web};
use kluis_app::erasure::Reported;
use kluis_core::Scope;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, NotFound};
use crate::extract::ListQuery;
use crate::routes::check_id;
use crate::state::AppState;

/// Why a person was erased.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureReasonView {
    /// On request, by a client or staff member.
    Request,
    /// Their retention period ended (a sweep).
    Retention,
    /// They asked themselves (`POST /v1/me/erasure`).
    SelfService,
}

impl From<kluis_retention::receipts::Reason> for ErasureReasonView {
    fn from(reason: kluis_retention::receipts::Reason) -> Self {
        use kluis_retention::receipts::Reason;
        match reason {
            Reason::Request => ErasureReasonView::Request,
            Reason::Retention => ErasureReasonView::Retention,
            Reason::SelfService => ErasureReasonView::SelfService,
        }
    }
}

/// Who erased.
#[derive(Serialize, ToSchema)]
pub struct ErasedByView {
    /// `client`, `subject` (a staff member, or the person themselves) or `system`.
    pub kind: String,
    /// The client's id, or a staff member's audit reference; null for the
    /// person themselves and for kluis.
    pub id: Option<String>,
}

/// An app that held a reference to the person.
#[derive(Serialize, ToSchema)]
pub struct NotifyReference {
    /// The client that registered the reference.
    pub client_id: String,
    /// The app's name.
    pub app: String,
}

/// A recipient of the tenant's data.
#[derive(Serialize, ToSchema)]
pub struct NotifyRecipient {
    /// Recipient id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// Who must be told of the erasure (Art. 17(2), 19): names only.
#[derive(Serialize, ToSchema)]
pub struct NotifyView {
    /// Apps that referenced the person.
    pub references: Vec<NotifyReference>,
    /// The tenant's recipients.
    pub recipients: Vec<NotifyRecipient>,
}

/// The receipt of an erasure.
#[derive(Serialize, ToSchema)]
pub struct ErasureReceipt {
    /// Receipt id.
    pub id: String,
    /// The person, by the keyed hash of the tenant's erasure ledger.
    pub subject_ref: String,
    /// Why.
    pub reason: ErasureReasonView,
    /// By whom.
    pub erased_by: ErasedByView,
    /// When.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub erased_at: time::PrimitiveDateTime,
    /// Rows removed per table: every row that existed.
    #[schema(value_type = Object)]
    pub rows: BTreeMap<String, u64>,
    /// Who must be told.
    pub notify: NotifyView,
    /// The webhook endpoints told (`person.erased`, with the references
    /// their app held): when delivered, when acknowledged with a 2xx.
    pub webhooks: Vec<ToldView>,
}

/// A webhook endpoint told of an erasure.
#[derive(Serialize, ToSchema)]
pub struct ToldView {
    /// The endpoint.
    pub webhook_id: String,
    /// The app (client) it speaks for; null once the endpoint is deleted.
    pub client_id: Option<String>,
    /// The `person.erased` delivery (see the endpoint's delivery log).
    pub delivery_id: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// The first answer of the endpoint, of any status.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<time::PrimitiveDateTime>,
    /// The endpoint's 2xx answer.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<time::PrimitiveDateTime>,
}

impl From<Reported> for ErasureReceipt {
    fn from(reported: Reported) -> Self {
        let webhooks = reported
            .told
            .into_iter()
            .map(|t| ToldView {
                webhook_id: t.delivery.webhook_id,
                client_id: t.client_id,
                delivery_id: t.delivery.id,
                status: t.delivery.status.as_str().to_owned(),
                delivered_at: t.delivery.delivered_at,
                acknowledged_at: t.delivery.acknowledged_at,
            })
            .collect();
        let r = reported.receipt;
        let mut notify = NotifyView { references: Vec::new(), recipients: Vec::new() };
        for notice in r.notify {
            match notice.kind.as_str() {
                "reference" => notify.references.push(NotifyReference { client_id: notice.id, app: notice.name }),
                _ => notify.recipients.push(NotifyRecipient { id: notice.id, name: notice.name }),
            }
        }
        ErasureReceipt {
            id: r.id,
            subject_ref: r.subject_ref,
            reason: r.reason.into(),
            erased_by: ErasedByView { kind: r.by.kind, id: r.by.id },
            erased_at: r.erased_at,
            rows: r.removed,
            notify,
            webhooks,
        }
    }
}

/// A page of receipts.
#[derive(Serialize, ToSchema)]
pub struct ErasureReceiptPage {
    /// In the order of the erasures.
    pub items: Vec<ErasureReceipt>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// The tenant's erasure receipts, oldest first.
#[utoipa::path(
    tag = "lifecycle",
    params(ListQuery),
    responses((status = 200, body = ErasureReceiptPage, description = "A page of erasure receipts, newest first"), AuthErrors),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/erasures")]
pub async fn list_erasures(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let (limit, after) = query.page()?;
    let page = kluis_app::erasure::receipts(&state.app, &scoped, limit, after).await?;
    let page = page.map(ErasureReceipt::from);
    Ok(HttpResponse::Ok().json(ErasureReceiptPage { items: page.items, next_cursor: page.next_cursor }))
}

/// One erasure receipt.
#[utoipa::path(
    tag = "lifecycle",
    params(("erasure_id" = String, Path, description = "Receipt id")),
    responses((status = 200, body = ErasureReceipt, description = "The erasure receipt"), AuthErrors, NotFound),
    security(("bearer" = ["retention:admin"]))
)]
#[get("/v1/erasures/{erasure_id}")]
pub async fn get_erasure(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::RetentionAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let receipt = kluis_app::erasure::receipt(&state.app, &scoped, id).await?;
    Ok(HttpResponse::Ok().json(ErasureReceipt::from(receipt)))
}
