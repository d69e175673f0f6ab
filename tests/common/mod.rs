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

/// The requests that change something (anything but GET and HEAD; IAM's and STS's reads are
/// POSTs whose action starts with Get or List).
pub fn mutating(calls: &[(String, String)]) -> Vec<&(String, String)> {
    calls
        .iter()
        .filter(|(method, what)| {
            let read_action = ["Action=Get", "Action=List"]
                .iter()
                .any(|a| what.contains(a));
            method != "GET" && method != "HEAD" && !read_action
        })
        .collect()
}
