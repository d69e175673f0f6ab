//! Shared set-up of the CLI's integration tests.

use tgpipe::stack::{Stack, StackName};

pub const REGION: &str = "eu-west-1";
pub const ACCOUNT: &str = "123456789012";

pub fn stack(name: &str) -> Stack {
    Stack::new(StackName::parse(name).unwrap(), ACCOUNT, REGION)
}

/// SDK configuration for a moto server, with static credentials: setting the standard variables
/// in this process would race other tests.
pub async fn sdk_config(moto: &testkit::Moto) -> aws_config::SdkConfig {
    let options = tgpipe::aws::AwsOptions {
        profile: None,
        region: Some(REGION.into()),
        endpoint_url: Some(moto.endpoint.clone()),
    };
    tgpipe::aws::load(&options)
        .await
        .into_builder()
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test"),
        ))
        .build()
}

/// The requests that change something: anything but GET and HEAD, except the POSTs of query and
/// JSON protocols (IAM, STS, CloudWatch Logs, Glue, …) whose action only reads.
pub fn mutating(calls: &[(String, String)]) -> Vec<&(String, String)> {
    calls
        .iter()
        .filter(|(method, what)| {
            let action = what
                .rsplit_once(" Action=")
                .map(|(_, a)| a)
                .or_else(|| {
                    what.rsplit_once(" Target=")
                        .map(|(_, t)| t.rsplit('.').next().unwrap_or(t))
                })
                .unwrap_or("");
            let reads = ["Get", "List", "Describe"]
                .iter()
                .any(|p| action.starts_with(p));
            method != "GET" && method != "HEAD" && !reads
        })
        .collect()
}

/// Tells moto not to run Lambda code in Docker (there is none here); needed before creating
/// functions.
pub fn moto_lambda_without_docker(moto: &testkit::Moto) {
    let config = r#"{"lambda": {"use_docker": false}}"#;
    let (status, body) = testkit::http(&moto.endpoint, "POST", "/moto-api/config", config).unwrap();
    assert!((200..300).contains(&status), "{status} {body}");
}

/// A valid, empty zip archive whose comment makes each version's bytes (and SHA-256) distinct.
pub fn zip_with_comment(comment: &str) -> Vec<u8> {
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend([0u8; 16]);
    zip.extend((comment.len() as u16).to_le_bytes());
    zip.extend(comment.as_bytes());
    zip
}

/// The `tgpipe` binary under test, with no AWS emulator inherited from the caller's environment;
/// each area adds the variables it needs.
pub fn tgpipe(args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tgpipe"));
    cmd.args(args).env_remove("AWS_ENDPOINT_URL");
    cmd
}

/// Runs a prepared `tgpipe`: exit code (-1 when killed by a signal), stdout, stderr.
pub fn run(mut cmd: std::process::Command) -> (i32, String, String) {
    let out = cmd.output().expect("cannot run the tgpipe binary");
    outcome(out)
}

/// Exit code, stdout and stderr of a finished `tgpipe`.
pub fn outcome(out: std::process::Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `tgpipe` with a clean environment that reaches only the emulator at `endpoint`, with moto's
/// credentials: nothing of the caller's AWS set-up leaks in.
pub fn tgpipe_on_aws(endpoint: &str, args: &[&str]) -> std::process::Command {
    on_aws(tgpipe(args), endpoint)
}

/// `cmd` (a `tgpipe` binary) with only the environment that reaches the emulator at `endpoint`.
pub fn on_aws(mut cmd: std::process::Command, endpoint: &str) -> std::process::Command {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION);
    cmd
}

/// Creates a bucket in [`REGION`], as someone else's would be.
pub async fn create_bucket(s3: &aws_sdk_s3::Client, name: &str) {
    s3.create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// A directory of Lambda zips for `up --artifacts`: valid, empty, one per function (moto runs no
/// code), each with its own bytes.
pub fn fake_artifacts() -> tempfile::TempDir {
    let artifacts = tempfile::tempdir().unwrap();
    for f in tgpipe::stack::Function::ALL {
        let path = tgpipe::stack::lambda::artifact_path(artifacts.path(), f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, zip_with_comment(f.suffix())).unwrap();
    }
    artifacts
}

/// Every client of the stack, for moto.
pub async fn clients(moto: &testkit::Moto) -> tgpipe::stack::Clients {
    tgpipe::stack::Clients::new(&sdk_config(moto).await, false)
}

/// What `up` would deploy, for the components that compare with it (the functions, the
/// schedule); the others ignore it.
pub fn desired(
    specs: Vec<tgpipe::stack::lambda::FunctionSpec>,
    schedule: &str,
) -> tgpipe::stack::Desired {
    tgpipe::stack::Desired {
        specs,
        schedule: schedule.to_owned(),
        chats: Vec::new(),
        alerts: None,
    }
}

/// Nothing wanted beyond the names: for the components that compare with nothing else.
pub fn names_only() -> tgpipe::stack::Desired {
    desired(Vec::new(), tgpipe::stack::events::DEFAULT_SCHEDULE)
}

/// One component as `up` applies it: read once, then changed where it differs from `desired`;
/// its resources as they were before.
pub async fn ensure(
    part: &dyn tgpipe::stack::Component,
    c: &tgpipe::stack::Clients,
    stack: &Stack,
    desired: &tgpipe::stack::Desired,
) -> anyhow::Result<Vec<tgpipe::plan::Resource>> {
    let found = part.read(c, stack).await?;
    let before = part.states(&found, stack, Some(desired));
    if before.iter().any(|r| !r.state.is_ok()) {
        part.apply(c, stack, desired, &found, &Default::default(), &|_| {})
            .await?;
    }
    Ok(before)
}

/// One component as `status` (`desired` is `None`) or `up --dry-run` sees it.
pub async fn inspect(
    part: &dyn tgpipe::stack::Component,
    c: &tgpipe::stack::Clients,
    stack: &Stack,
    desired: Option<&tgpipe::stack::Desired>,
) -> anyhow::Result<Vec<tgpipe::plan::Resource>> {
    let found = part.read(c, stack).await?;
    Ok(part.states(&found, stack, desired))
}

/// One component as `down` removes it.
pub async fn destroy(
    part: &dyn tgpipe::stack::Component,
    c: &tgpipe::stack::Clients,
    stack: &Stack,
    foreign: &tgpipe::stack::ownership::Foreign,
    delete_data: bool,
) -> anyhow::Result<Vec<tgpipe::plan::Removed>> {
    part.remove(c, stack, foreign, delete_data).await
}
