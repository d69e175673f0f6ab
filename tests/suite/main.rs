//! The CLI's integration tests: one binary (each area is a module), so that DataFusion and the
//! AWS SDKs are linked once. Run one area with `cargo test --test suite cli::`.

mod common;

mod alerts;
mod athena;
mod cli;
mod credentials;
mod help;
mod iam;
mod import;
mod import_versions;
mod lambda;
mod lifecycle;
mod local;
mod logs;
mod network;
mod owner;
mod ownership;
mod partitions;
mod query;
mod query_athena;
mod races;
mod release;
mod report;
mod s3;
mod shell;
mod staleness;
mod whole;
mod wiring;
