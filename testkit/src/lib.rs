//! Test support shared by the runtime's unit tests and the end-to-end suite.

pub mod pg;
pub mod skip;
