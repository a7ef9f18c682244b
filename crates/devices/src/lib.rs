//! kluis-devices: what signs in (device observations and their estimate),
//! recognising a familiar device, step-up for an unfamiliar one, activity,
//! and visit statistics that never hold a full IP address.
//!
//! Nothing is implemented yet: the devices issue builds it.
