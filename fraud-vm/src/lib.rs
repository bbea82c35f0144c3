//! The fraud-proof VM.
