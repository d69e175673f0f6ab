//! Each setting a bucket must have (an [`Aspect`]): how it is read, compared and applied.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging,
};
use serde_json::{Value, json};

use aws_sdk_s3::error::ProvideErrorMetadata;

use crate::aws::found::s3_no_such_bucket;
use crate::aws::{AwsResultExt, FindExt, NotFound};
use crate::stack::{STACK_TAG, Stack};

use super::{ABORT_UPLOADS_DAYS, ATHENA_RESULTS_DAYS, BucketRole};

/// S3 answered that the bucket does not exist to a settings call: right after CreateBucket it
/// may not find the new bucket yet (its configuration is eventually consistent), so the caller
/// tries again for a while.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct NotYetThere(String);

/// A settings call's answer: done, [`NotYetThere`], or the call's error.
trait Setting {
    fn setting(self, what: String) -> anyhow::Result<()>;
}

impl<T, E> Setting
    for Result<
        T,
        aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    >
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn setting(self, what: String) -> anyhow::Result<()> {
        match self {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NoSuchBucket") => {
                Err(NotYetThere(crate::aws::aws_error(what, e).to_string()).into())
            }
            Err(e) => Err(crate::aws::aws_error(what, e)),
        }
    }
}

/// The aspects of a bucket's configuration that `up` manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aspect {
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
pub fn tls_only_policy(stack: &Stack, bucket: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [stack.s3_arn(bucket), stack.s3_arn(&format!("{bucket}/*"))],
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
                // Only the workgroup's results: what the user keeps elsewhere in the bucket
                // stays (and `down` keeps it).
                .filter(
                    LifecycleRuleFilter::builder()
                        .prefix(crate::stack::athena::RESULTS_PREFIX)
                        .build(),
                )
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

/// Which aspects of a bucket differ from what the stack wants; `None` when there is no such
/// bucket. The tags are read first (whose bucket it is, and whether there is one: no HeadBucket),
/// then, for the stack's own, the other settings at once.
pub(super) async fn drift(
    client: &Client,
    stack: &Stack,
    role: BucketRole,
) -> anyhow::Result<Option<Vec<Aspect>>> {
    let bucket = role.bucket(stack);
    let Some(tagged) = is_as_wanted(client, stack, role, &bucket, Aspect::Tags).await? else {
        return Ok(None);
    };
    // Someone else's bucket: nothing more of it is read (its policy may deny it), nor changed.
    if !tagged {
        return Ok(Some(vec![Aspect::Tags]));
    }
    let checks = Aspect::ALL
        .into_iter()
        .filter(|a| *a != Aspect::Tags)
        .map(|aspect| {
            let bucket = &bucket;
            async move {
                let ok = is_as_wanted(client, stack, role, bucket, aspect).await?;
                anyhow::Ok((aspect, ok))
            }
        });
    let mut checked = futures::future::try_join_all(checks).await?;
    checked.push((Aspect::Tags, Some(tagged)));
    // Gone between the reads.
    if checked.iter().any(|(_, ok)| ok.is_none()) {
        return Ok(None);
    }
    Ok(Some(
        Aspect::ALL
            .into_iter()
            .filter(|a| checked.iter().any(|(b, ok)| a == b && *ok == Some(false)))
            .collect(),
    ))
}

/// A setting's read: `None` when the bucket does not exist, else the setting (`None`: not set).
fn or_gone<T, E: ProvideErrorMetadata>(read: Result<Option<T>, E>) -> Result<Option<Option<T>>, E> {
    match read {
        Ok(setting) => Ok(Some(setting)),
        Err(e) if s3_no_such_bucket(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether one aspect of the bucket is as the stack wants it (not set at all is not); `None`
/// when there is no such bucket.
async fn is_as_wanted(
    client: &Client,
    stack: &Stack,
    role: BucketRole,
    bucket: &str,
    aspect: Aspect,
) -> anyhow::Result<Option<bool>> {
    /// The setting, or `Ok(None)` from `is_as_wanted` when the bucket is gone.
    macro_rules! read {
        ($call:expr, $what:literal) => {
            match or_gone($call.send().await.found()).aws(format!("S3 {} {bucket}", $what))? {
                Some(setting) => setting,
                None => return Ok(None),
            }
        };
    }
    Ok(Some(match aspect {
        Aspect::PublicAccess => read!(
            client.get_public_access_block().bucket(bucket),
            "GetPublicAccessBlock"
        )
        .and_then(|out| out.public_access_block_configuration().cloned())
        .is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        }),
        Aspect::Encryption => read!(
            client.get_bucket_encryption().bucket(bucket),
            "GetBucketEncryption"
        )
        .and_then(|out| out.server_side_encryption_configuration().cloned())
        .is_some_and(|c| {
            c.rules()
                .iter()
                .any(|r| r.apply_server_side_encryption_by_default().is_some())
        }),
        Aspect::Policy => read!(client.get_bucket_policy().bucket(bucket), "GetBucketPolicy")
            .and_then(|out| {
                out.policy()
                    .and_then(|p| serde_json::from_str::<Value>(p).ok())
            })
            .is_some_and(|p| p == tls_only_policy(stack, bucket)),
        Aspect::Tags => read!(
            client.get_bucket_tagging().bucket(bucket),
            "GetBucketTagging"
        )
        .is_some_and(|out| stack.owns(out.tag_set().iter().map(|t| (t.key(), t.value())))),
        Aspect::Lifecycle => match read!(
            client.get_bucket_lifecycle_configuration().bucket(bucket),
            "GetBucketLifecycleConfiguration"
        ) {
            Some(out) => lifecycle_holds(out.rules(), &lifecycle_rules(role)?),
            None => false,
        },
    }))
}

/// Whether every wanted lifecycle rule is among the bucket's, as wanted.
fn lifecycle_holds(found: &[LifecycleRule], wanted: &[LifecycleRule]) -> bool {
    wanted.iter().all(|w| {
        found.iter().any(|r| {
            r.id() == w.id()
                && r.status() == w.status()
                && r.expiration().and_then(|e| e.days()) == w.expiration().and_then(|e| e.days())
                && r.abort_incomplete_multipart_upload()
                    .and_then(|a| a.days_after_initiation())
                    == w.abort_incomplete_multipart_upload()
                        .and_then(|a| a.days_after_initiation())
        })
    })
}

pub(super) async fn apply(
    client: &Client,
    stack: &Stack,
    role: BucketRole,
    aspect: Aspect,
    fresh: bool,
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
            .setting(format!("S3 PutPublicAccessBlock {bucket}")),
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
            .setting(format!("S3 PutBucketEncryption {bucket}")),
        Aspect::Policy => client
            .put_bucket_policy()
            .bucket(&bucket)
            .policy(tls_only_policy(stack, &bucket).to_string())
            .send()
            .await
            .setting(format!("S3 PutBucketPolicy {bucket}")),
        Aspect::Tags => put_stack_tag(client, stack, &bucket, fresh).await,
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
            .setting(format!("S3 PutBucketLifecycleConfiguration {bucket}")),
    }
}

/// Sets the stack's tag, keeping the user's own tags (a bucket just created has none).
async fn put_stack_tag(
    client: &Client,
    stack: &Stack,
    bucket: &str,
    fresh: bool,
) -> anyhow::Result<()> {
    let found = if fresh {
        Ok(None)
    } else {
        client
            .get_bucket_tagging()
            .bucket(bucket)
            .send()
            .await
            .map(Some)
    };
    let mut tags: Vec<Tag> = match found {
        Ok(None) => Vec::new(),
        Ok(Some(out)) => out
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
        .setting(format!("S3 PutBucketTagging {bucket}"))
}
