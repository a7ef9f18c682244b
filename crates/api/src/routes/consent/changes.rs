//! The ledger as a feed for processors (`/v1/consents/changes`): events in
//! commit order, each seen exactly once. Pages are counted per client and
//! day, not audited one by one.

use actix_web::{HttpResponse, get, web};
use kluis_app::consent::FeedPosition;
use kluis_core::Scope;
use kluis_core::page::{Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ActionView, SourceView, Time};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::AuthErrors;
use crate::state::AppState;

/// `?after=&purpose=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `next_cursor` of the previous page; absent to start at the beginning.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub after: Option<String>,
    /// Only events of this purpose.
    #[param(pattern = "^[a-z][a-z0-9_]{1,63}$")]
    pub purpose: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// One change in the feed: no proof, only what a processor needs.
#[derive(Serialize, ToSchema)]
pub struct ChangeView {
    /// Event id.
    pub id: String,
    /// Position in the tenant's ledger: gapless, in commit order.
    pub seq: i64,
    /// The person.
    pub person_id: String,
    /// Purpose key.
    pub purpose: String,
    /// `grant`, `withdraw` or `object`.
    pub action: ActionView,
    /// Where it came from.
    pub source: SourceView,
    /// When the person did it.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Time,
    /// When a grant lapses.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Time>,
}

/// A page of the changes feed.
#[derive(Serialize, ToSchema)]
pub struct ChangesPage {
    /// Events in commit order.
    pub items: Vec<ChangeView>,
    /// Pass back as `after`. Never null: at the end of the feed it is where
    /// to poll from for later changes.
    pub next_cursor: String,
    /// Whether more events are there already.
    pub has_more: bool,
}

impl ChangesQuery {
    /// Where to read from: a checked page size and the seq to continue after.
    fn position(self) -> Result<FeedPosition, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("limit", "must be between 1 and 200"));
        }
        let after = match &self.after {
            None => 0,
            Some(cursor) => Cursor::decode(cursor)
                .and_then(|seq| seq.parse::<i64>().ok())
                .filter(|seq| *seq >= 0)
                .ok_or_else(|| ApiError::invalid("after", "not a cursor kluis made"))?,
        };
        Ok(FeedPosition { after, purpose: self.purpose, limit })
    }
}

impl From<kluis_consent::ConsentEvent> for ChangeView {
    fn from(e: kluis_consent::ConsentEvent) -> Self {
        ChangeView {
            id: e.id,
            seq: e.seq,
            person_id: e.person_id.0,
            purpose: e.purpose,
            action: e.action.into(),
            source: e.source.into(),
            occurred_at: e.occurred_at,
            expires_at: e.expires_at,
        }
    }
}

/// The ledger as a feed for processors: events in commit order. Follow it
/// from the start by passing each `next_cursor` back as `after`; every
/// change is seen exactly once, even under concurrent writes.
#[utoipa::path(
    tag = "consent",
    params(ChangesQuery),
    responses((status = 200, body = ChangesPage, description = "One page of changes, in ledger order"), AuthErrors),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/consents/changes")]
pub async fn changes(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ChangesQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    let position = query.into_inner().position()?;
    let page = kluis_app::consent::changes(&state.app, &scoped, position).await?;
    let items = page.items.into_iter().map(ChangeView::from).collect();
    let next_cursor = Cursor::encode(&page.last_seq.to_string());
    Ok(HttpResponse::Ok().json(ChangesPage { items, next_cursor, has_more: page.has_more }))
}
