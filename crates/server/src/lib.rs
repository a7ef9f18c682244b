//! kluis-server: the `kluis` binary's library half: settings, startup
//! (data directory, master key, migrations, first-start bootstrap), the HTTP
//! server with graceful shutdown, and telemetry. Tests build the same
//! [`startup::Application`] the binary runs.

pub mod erasures;
pub mod mail;
pub mod settings;
pub mod startup;
pub mod telemetry;

pub use settings::Settings;
pub use startup::Application;
