//! auth0-sim (work in progress).
