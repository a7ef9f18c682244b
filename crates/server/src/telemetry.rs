//! Logging: pretty lines in development, JSON in production, always on
//! stderr (stdout is for commands that print JSON). Spans carry ids only.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

/// Install the global subscriber; a second call (tests) is a no-op.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Pretty => builder.compact().with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
}
