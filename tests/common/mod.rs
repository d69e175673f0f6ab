//! Shared set-up of the CLI's integration tests.

use tgpipe::stack::{Stack, StackName};

pub const REGION: &str = "eu-west-1";
#[allow(dead_code)]
pub const ACCOUNT: &str = "123456789012";

#[allow(dead_code)]
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

#[allow(dead_code)]
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
#[allow(dead_code)]
pub fn moto_lambda_without_docker(moto: &testkit::Moto) {
    let config = r#"{"lambda": {"use_docker": false}}"#;
    let (status, body) = testkit::http(&moto.endpoint, "POST", "/moto-api/config", config).unwrap();
    assert!((200..300).contains(&status), "{status} {body}");
}

/// A valid, empty zip archive whose comment makes each version's bytes (and SHA-256) distinct.
#[allow(dead_code)]
pub fn zip_with_comment(comment: &str) -> Vec<u8> {
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend([0u8; 16]);
    zip.extend((comment.len() as u16).to_le_bytes());
    zip.extend(comment.as_bytes());
    zip
}
