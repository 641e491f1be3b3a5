//! The conformance harness package. Its code lives in `tests/` (the cucumber runner and the
//! integration tests that drive the real client against the mock); this library is empty and
//! exists because a package needs at least one library or binary target.
