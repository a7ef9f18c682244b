//! The people changes feed (`/v1/people/changes`): `person.created`,
//! `person.updated` and `person.erased` in commit order, with the names of
//! the fields concerned and never their values, so that a processor can
//! sync without polling every person. A purpose-bound client sees only the
//! changes of people its purposes allow, and only the field names they
//! cover. Pages are counted per client and day, not audited one by one.

use actix_web::{HttpResponse, get, web};
use kluis_core::Scope;
use kluis_core::page::{Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use kluis_people::changes::{Change, ChangeKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::AuthErrors;
use crate::state::AppState;

type Time = time::PrimitiveDateTime;

/// `?after=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeopleChangesQuery {
    /// The `next_cursor` of the previous page; absent to start at the beginning.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub after: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// What happened to the person.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub enum PersonChangeType {
    /// Created.
    #[serde(rename = "person.created")]
    Created,
    /// Profile or contacts changed.
    #[serde(rename = "person.updated")]
    Updated,
    /// Erased: nothing of the person is left (the id is kept here only so
    /// that processors can erase their own copy of the reference).
    #[serde(rename = "person.erased")]
    Erased,
}

/// One change: which person, what happened, which fields; never a value.
#[derive(Serialize, ToSchema)]
pub struct PersonChangeView {
    /// Change id.
    pub id: String,
    /// Position in the tenant's feed, in commit order.
    pub seq: i64,
    /// The person.
    pub person_id: String,
    /// `person.created`, `person.updated` or `person.erased`.
    #[serde(rename = "type")]
    pub kind: PersonChangeType,
    /// Names of the fields set or changed (for a purpose-bound client, only
    /// those its purposes cover); empty for an erasure.
    pub fields: Vec<String>,
    /// When.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Time,
}

impl From<Change> for PersonChangeView {
    fn from(c: Change) -> Self {
        let kind = match c.kind {
            ChangeKind::Created => PersonChangeType::Created,
            ChangeKind::Updated => PersonChangeType::Updated,
            ChangeKind::Erased => PersonChangeType::Erased,
        };
        PersonChangeView {
            id: c.id,
            seq: c.seq,
            person_id: c.person_id.0,
            kind,
            fields: c.fields,
            occurred_at: c.occurred_at,
        }
    }
}

/// A page of the people feed.
#[derive(Serialize, ToSchema)]
pub struct PeopleChangesPage {
    /// Changes in commit order.
    pub items: Vec<PersonChangeView>,
    /// Pass back as `after`. Never null: at the end of the feed it is where
    /// to poll from for later changes.
    pub next_cursor: String,
    /// Whether more changes are there already.
    pub has_more: bool,
}

impl PeopleChangesQuery {
    /// A checked page size and the seq to continue after.
    fn position(self) -> Result<(i64, i64), ApiError> {
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
        Ok((after, limit))
    }
}

/// The people feed for processors: person changes in commit order, with
/// field names and no values. Follow it from the start by passing each
/// `next_cursor` back as `after`; every change is seen once, even under
/// concurrent writes. A client bound to purposes sees only changes of the
/// people its purposes allow now, with only the field names they cover,
/// and an erasure of a person they allowed just before it. An erasure
/// removes the person's earlier changes from the feed.
#[utoipa::path(
    tag = "people",
    params(PeopleChangesQuery),
    responses((status = 200, body = PeopleChangesPage, description = "One page of changes, in commit order"), AuthErrors),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/people/changes")]
pub async fn people_changes(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PeopleChangesQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleRead)?;
    let (after, limit) = query.into_inner().position()?;
    let page = kluis_app::processors::changes(&state.app, &scoped, after, limit).await?;
    let items = page.items.into_iter().map(PersonChangeView::from).collect();
    let next_cursor = Cursor::encode(&page.last_seq.to_string());
    Ok(HttpResponse::Ok().json(PeopleChangesPage { items, next_cursor, has_more: page.has_more }))
}
