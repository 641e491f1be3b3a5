//! The harness behind the feature files: the World (one per scenario), the tenant it talks to
//! (`target`), the step library, and the runner shared by the test binaries.

pub mod runner;
pub mod steps;
pub mod target;
pub mod world;
