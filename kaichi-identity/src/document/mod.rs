//! Identity documents.
