//! kluis-core: the vocabulary every kluis crate shares: ids, time, who is
//! calling ([`Actor`]), [`Scope`]s, the [`DomainError`] domains return, and
//! keyset pagination. It knows nothing of HTTP or of the database.

pub mod actor;
pub mod category;
pub mod error;
pub mod ids;
pub mod net;
pub mod page;
pub mod scope;
pub mod time;
pub mod validate;

pub use actor::{Actor, ActorKind};
pub use error::{DomainError, FieldError, Result};
pub use ids::{ClientId, PersonId, TenantId, new_id};
pub use page::{Cursor, Page};
pub use scope::Scope;
