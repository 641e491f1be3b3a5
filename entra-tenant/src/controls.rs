//! What a test sets on a tenant and reads back, beside the tenant's own state: its fault rules,
//! its request journal, and the writes that replication lag holds back. They describe the test,
//! not the tenant, so they are never part of a snapshot, and a snapshot put in place keeps the
//! rules and the journal it found.

use crate::faults::FaultRules;
use crate::journal::Journal;
use crate::replication::Backlog;

/// A tenant's test controls.
#[derive(Clone, Debug, Default)]
pub struct TestControls {
    pub faults: FaultRules,
    pub journal: Journal,
    /// Accepted writes whose effect is not visible yet.
    pub replication: Backlog,
}

impl TestControls {
    /// The controls of a tenant whose state replaces `old`'s: the same rules and journal, and no
    /// held-back writes (they were writes to the state being replaced).
    pub fn carried_over(old: &mut TestControls) -> TestControls {
        TestControls {
            faults: std::mem::take(&mut old.faults),
            journal: std::mem::take(&mut old.journal),
            replication: Backlog::default(),
        }
    }
}
