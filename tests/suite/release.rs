//! The binary `scripts/release` builds, alone in an empty directory, deploys the stack with the
//! Lambda code it carries. Run by scripts/test after `scripts/release --profile dev`, with
//! TGPIPE_RELEASE_BINARY set; ignored in a plain `cargo test`, which has no such binary.

use base64::Engine;
use sha2::Digest;
use tgpipe::stack::Function;

use crate::common;

const TOKEN: &str = "123456789:AAHtestTOKENvalue_0123456789abcdef";

#[test]
#[ignore = "needs dist/tgpipe from scripts/release; scripts/test runs it"]
fn the_release_binary_alone_deploys_the_lambda_code_it_carries() {
    let built = std::env::var("TGPIPE_RELEASE_BINARY")
        .expect("TGPIPE_RELEASE_BINARY names the binary scripts/release built");
    let lambda_dir = std::env::var("TGPIPE_LAMBDA_DIR")
        .expect("TGPIPE_LAMBDA_DIR names the zips scripts/release embedded");
    let empty = tempfile::tempdir().unwrap();
    let binary = empty.path().join("tgpipe");
    std::fs::copy(&built, &binary).unwrap();
    let moto = testkit::Moto::start();
    common::moto_lambda_without_docker(&moto);
    let bot = testkit::TelegramStandIn::start(TOKEN);
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(&binary);
        cmd.args(args);
        let mut cmd = common::on_aws(cmd, &moto.endpoint);
        // The copy, from its empty directory: no target/lambda, no repository around it.
        cmd.current_dir(empty.path())
            .env("HOME", empty.path())
            .env("TGPIPE_BOT_TOKEN", TOKEN)
            .env("TGPIPE_TELEGRAM_API_URL", &bot.url);
        common::run(cmd)
    };
    let (code, out, err) = run(&["up", "--chat-id", "-1001234567890"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("Lambda code built into this binary"), "{err}");

    // The functions run exactly the zips the binary was built with.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = rt.block_on(common::sdk_config(&moto));
    let lambda = aws_sdk_lambda::Client::new(&config);
    let stack = common::stack("tgpipe");
    for f in Function::ALL {
        let zip =
            std::fs::read(tgpipe::stack::lambda::artifact_path(lambda_dir.as_ref(), f)).unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&zip));
        let deployed = rt
            .block_on(
                lambda
                    .get_function_configuration()
                    .function_name(stack.function(f))
                    .send(),
            )
            .unwrap();
        assert_eq!(deployed.code_sha256(), Some(expected.as_str()), "{f:?}");
    }
    // And the next up finds nothing to change.
    let (code, out, err) = run(&["up", "--dry-run"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
}
