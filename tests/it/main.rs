//! The integration tests, as one test binary: each module was once its own file under `tests/`, and each linked the whole dependency tree; together they link once. The helpers they share live in `common`.

mod common;

mod bad_input;
mod bench;
mod faults;
mod output;
mod quiz;
mod reuse;
mod run;
mod trace;
