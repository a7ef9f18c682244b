//! (use cases move here from the handlers)
