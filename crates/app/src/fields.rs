//! The names an audit entry lists for a change: taken from the input type
//! itself, so the entry cannot drift from what the change touches.

/// An input that knows which fields it sets (never their values).
pub trait AuditFields {
    /// The wire names of the fields this input sets or clears.
    fn audit_fields(&self) -> Vec<&'static str>;
}

/// The names whose flag is set, in order: for implementing [`AuditFields`]
/// next to the struct, one line per field.
pub fn present(fields: &[(&'static str, bool)]) -> Vec<&'static str> {
    fields.iter().filter(|(_, given)| *given).map(|(name, _)| *name).collect()
}
