//! Verification-record lookup (being built).
