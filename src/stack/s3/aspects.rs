//! Each setting a bucket must have (an [`Aspect`]): how it is read, compared and applied.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging,
};
use serde_json::{Value, json};

use crate::aws::{AwsResultExt, NotFound};
use crate::stack::{STACK_TAG, Stack};

use super::{ABORT_UPLOADS_DAYS, ATHENA_RESULTS_DAYS, BucketRole};

/// The aspects of a bucket's configuration that `up` manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Aspect {
    PublicAccess,
    Encryption,
    Policy,
    Tags,
    Lifecycle,
}

impl Aspect {
    pub(super) const ALL: [Aspect; 5] = [
        Aspect::PublicAccess,
        Aspect::Encryption,
        Aspect::Policy,
        Aspect::Tags,
        Aspect::Lifecycle,
    ];

    pub(super) fn describe(self) -> &'static str {
        match self {
            Aspect::PublicAccess => "public access block",
            Aspect::Encryption => "default encryption",
            Aspect::Policy => "TLS-only bucket policy",
            Aspect::Tags => "stack tag",
            Aspect::Lifecycle => "lifecycle rules",
        }
    }
}

/// The policy that denies every request not made over TLS.
pub fn tls_only_policy(bucket: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    })
}

pub(super) fn lifecycle_rules(role: BucketRole) -> anyhow::Result<Vec<LifecycleRule>> {
    let everything = || LifecycleRuleFilter::builder().prefix("").build();
    let mut rules = vec![
        LifecycleRule::builder()
            .id("tgpipe-abort-incomplete-uploads")
            .status(ExpirationStatus::Enabled)
            .filter(everything())
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(ABORT_UPLOADS_DAYS)
                    .build(),
            )
            .build()?,
    ];
    if role == BucketRole::Athena {
        rules.push(
            LifecycleRule::builder()
                .id("tgpipe-expire-query-results")
                .status(ExpirationStatus::Enabled)
                .filter(everything())
                .expiration(
                    LifecycleExpiration::builder()
                        .days(ATHENA_RESULTS_DAYS)
                        .build(),
                )
                .build()?,
        );
    }
    Ok(rules)
}

/// Which aspects of an existing bucket differ from what the stack wants.
pub(super) async fn drift(
    client: &Client,
    stack: &Stack,
    role: BucketRole,
) -> anyhow::Result<Vec<Aspect>> {
    let bucket = role.bucket(stack);
    // Every aspect is read at once: each is one call, and none depends on another.
    let checks = Aspect::ALL.map(|aspect| {
        let bucket = &bucket;
        async move {
            let ok = match aspect {
                Aspect::PublicAccess => {
                    match client.get_public_access_block().bucket(bucket).send().await {
                        Ok(out) => out.public_access_block_configuration().is_some_and(|c| {
                            c.block_public_acls() == Some(true)
                                && c.ignore_public_acls() == Some(true)
                                && c.block_public_policy() == Some(true)
                                && c.restrict_public_buckets() == Some(true)
                        }),
                        Err(e) if e.is_not_found() => false,
                        Err(e) => return Err(e).aws(format!("S3 GetPublicAccessBlock {bucket}")),
                    }
                }
                Aspect::Encryption => {
                    match client.get_bucket_encryption().bucket(bucket).send().await {
                        Ok(out) => out.server_side_encryption_configuration().is_some_and(|c| {
                            c.rules()
                                .iter()
                                .any(|r| r.apply_server_side_encryption_by_default().is_some())
                        }),
                        Err(e) if e.is_not_found() => false,
                        Err(e) => return Err(e).aws(format!("S3 GetBucketEncryption {bucket}")),
                    }
                }
                Aspect::Policy => match client.get_bucket_policy().bucket(bucket).send().await {
                    Ok(out) => out
                        .policy()
                        .and_then(|p| serde_json::from_str::<Value>(p).ok())
                        .is_some_and(|p| p == tls_only_policy(bucket)),
                    Err(e) if e.is_not_found() => false,
                    Err(e) => return Err(e).aws(format!("S3 GetBucketPolicy {bucket}")),
                },
                Aspect::Tags => match client.get_bucket_tagging().bucket(bucket).send().await {
                    Ok(out) => stack.owns(out.tag_set().iter().map(|t| (t.key(), t.value()))),
                    Err(e) if e.is_not_found() => false,
                    Err(e) => return Err(e).aws(format!("S3 GetBucketTagging {bucket}")),
                },
                Aspect::Lifecycle => {
                    match client
                        .get_bucket_lifecycle_configuration()
                        .bucket(bucket)
                        .send()
                        .await
                    {
                        Ok(out) => {
                            let want = lifecycle_rules(role)?;
                            want.iter().all(|w| {
                                out.rules().iter().any(|r| {
                                    r.id() == w.id()
                                        && r.status() == w.status()
                                        && r.expiration().and_then(|e| e.days())
                                            == w.expiration().and_then(|e| e.days())
                                        && r.abort_incomplete_multipart_upload()
                                            .and_then(|a| a.days_after_initiation())
                                            == w.abort_incomplete_multipart_upload()
                                                .and_then(|a| a.days_after_initiation())
                                })
                            })
                        }
                        Err(e) if e.is_not_found() => false,
                        Err(e) => {
                            return Err(e)
                                .aws(format!("S3 GetBucketLifecycleConfiguration {bucket}"));
                        }
                    }
                }
            };
            anyhow::Ok((aspect, ok))
        }
    });
    Ok(futures::future::try_join_all(checks)
        .await?
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(aspect, _)| aspect)
        .collect())
}

pub(super) async fn apply(
    client: &Client,
    stack: &Stack,
    role: BucketRole,
    aspect: Aspect,
) -> anyhow::Result<()> {
    let bucket = role.bucket(stack);
    match aspect {
        Aspect::PublicAccess => client
            .put_public_access_block()
            .bucket(&bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .aws(format!("S3 PutPublicAccessBlock {bucket}")),
        Aspect::Encryption => client
            .put_bucket_encryption()
            .bucket(&bucket)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(
                                ServerSideEncryptionByDefault::builder()
                                    .sse_algorithm(ServerSideEncryption::Aes256)
                                    .build()?,
                            )
                            .build(),
                    )
                    .build()?,
            )
            .send()
            .await
            .map(|_| ())
            .aws(format!("S3 PutBucketEncryption {bucket}")),
        Aspect::Policy => client
            .put_bucket_policy()
            .bucket(&bucket)
            .policy(tls_only_policy(&bucket).to_string())
            .send()
            .await
            .map(|_| ())
            .aws(format!("S3 PutBucketPolicy {bucket}")),
        Aspect::Tags => put_stack_tag(client, stack, &bucket).await,
        Aspect::Lifecycle => client
            .put_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .set_rules(Some(lifecycle_rules(role)?))
                    .build()?,
            )
            .send()
            .await
            .map(|_| ())
            .aws(format!("S3 PutBucketLifecycleConfiguration {bucket}")),
    }
}

/// Sets the stack's tag, keeping the user's own tags.
async fn put_stack_tag(client: &Client, stack: &Stack, bucket: &str) -> anyhow::Result<()> {
    // Keep the user's own tags; set ours.
    let mut tags: Vec<Tag> = match client.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => out
            .tag_set()
            .iter()
            .filter(|t| t.key() != STACK_TAG)
            .cloned()
            .collect(),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(e).aws(format!("S3 GetBucketTagging {bucket}")),
    };
    tags.push(
        Tag::builder()
            .key(STACK_TAG)
            .value(stack.name.as_str())
            .build()?,
    );
    client
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(Tagging::builder().set_tag_set(Some(tags)).build()?)
        .send()
        .await
        .map(|_| ())
        .aws(format!("S3 PutBucketTagging {bucket}"))
}
