//! A signed-in person's own data (`/v1/me`, scope `self`), one file per
//! sub-resource.

pub mod consents;
pub mod contacts;
pub mod credentials;
pub mod devices;
pub mod erasure;
pub mod profile;
pub mod requests;
pub mod sessions;
