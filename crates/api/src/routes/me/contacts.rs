//! (filled in as handlers move here)
