//! The harness behind the feature files: the World (one per scenario) and the step library.

pub mod steps;
pub mod world;
