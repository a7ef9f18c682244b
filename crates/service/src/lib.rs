//! kluis-service: what an IT service firm or a repair shop keeps about the
//! devices and accounts it takes in (VTS, ITfixe). A serviced item has a
//! kind, make, model, serial, what was asked and a status
//! (`received -> in_progress -> ready -> returned`). Logins and secrets of
//! the customer's devices and accounts are sealed with AES-256-GCM under a
//! per-tenant key derived from the master key, revealed only with a reason,
//! and deleted when the item is returned. Records of backups of the
//! customer's disks live until the data is restored or the item returned
//! (event-based retention). Notes per customer (contracts, configuration)
//! are typed and carry their data category.

pub mod backups;
pub mod credentials;
pub mod items;
pub mod notes;
pub mod personal;
mod text;

pub use personal::ServiceData;
