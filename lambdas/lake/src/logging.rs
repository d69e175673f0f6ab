//! The Lambdas' log lines: what `lambda_runtime`'s default subscriber does, without its
//! `EnvFilter` (which links a regex engine for per-module directives nobody sets on a Lambda).
//! The level comes from Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO; JSON lines
//! when `AWS_LAMBDA_LOG_FORMAT=JSON`.

use std::str::FromStr;

use tracing_subscriber::filter::LevelFilter;

pub fn init() {
    let var = |name: &str| std::env::var(name).ok();
    let level = var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| var("RUST_LOG"))
        .and_then(|l| LevelFilter::from_str(&l).ok())
        .unwrap_or(LevelFilter::INFO);
    let lines = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(level);
    if var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json")) {
        lines.json().init();
    } else {
        lines.init();
    }
}
