//! With the `embedded-lambdas` feature, points the compiler at the two Lambda zips that
//! `src/stack/lambda/artifacts.rs` includes in the binary. Without it, does nothing.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=TGPIPE_LAMBDA_DIR");
    if std::env::var_os("CARGO_FEATURE_EMBEDDED_LAMBDAS").is_none() {
        return;
    }
    let dir = std::env::var_os("TGPIPE_LAMBDA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
                .join("target/lambda")
        });
    for (function, variable) in [
        ("ingest", "TGPIPE_EMBEDDED_INGEST_ZIP"),
        ("etl", "TGPIPE_EMBEDDED_ETL_ZIP"),
    ] {
        let zip = dir.join(function).join("bootstrap.zip");
        if !zip.is_file() {
            panic!(
                "the embedded-lambdas feature needs {}: build the Lambda zips first (scripts/lambdas; scripts/release does both), or set TGPIPE_LAMBDA_DIR",
                zip.display()
            );
        }
        println!("cargo:rerun-if-changed={}", zip.display());
        println!("cargo:rustc-env={variable}={}", zip.display());
    }
}
