//! kluis-devices: what people sign in from. Each sign-in brings an
//! observation (IP, User-Agent, client hints, screen, language, and the
//! device key the client kept); kluis estimates the device from it,
//! recognises a known or familiar device, and asks the caller to step up
//! (an e-mailed code) for an unfamiliar one. Device rows live at most
//! 3 years after their last activity. Visit statistics count page views
//! without a person, a cookie or a full IP address.

pub mod devices;
pub mod estimate;
pub mod personal;
pub mod visits;

pub use devices::{Device, Observation, Recognition};
pub use estimate::{ClientHints, Estimate};
pub use personal::DevicesData;
