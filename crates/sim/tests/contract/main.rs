//! The simulator's contract tests: one integration-test binary, one module per topic.

mod fleets;
