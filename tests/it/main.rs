//! The integration tests, as one test binary: each module was once its own file under `tests/`, and each linked the whole dependency tree; together they link once. The helpers they share live in `common`.

mod common;
mod edn;

mod bad_input;
mod bench;
mod faults;
mod from;
mod matrix;
mod output;
mod pg;
mod pg_transfer;
mod pictures;
mod quiz;
mod readme;
mod reuse;
mod run;
mod schema;
mod signals;
mod skew;
mod sweep;
mod trace;
mod transfer;
mod transfer_exports;
mod transfer_trace;
mod width;
