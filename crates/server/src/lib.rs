//! kluis-server: the `kluis` binary's library half: settings, startup
//! (data directory, master key, migrations, first-start bootstrap), the HTTP
//! server with graceful shutdown, its workers (mail, retention sweeps, backups), and telemetry. Tests build the same
//! [`startup::Application`] the binary runs.

pub mod backups;
pub mod erasures;
pub mod mail;
pub mod reminders;
pub mod settings;
pub mod snapshots;
pub mod startup;
pub mod sweeper;
pub mod telemetry;
pub mod webhooks;

pub use settings::Settings;
pub use startup::Application;
