//! The stack's buckets, whole lifecycle: inspect, ensure (create or repair), destroy.
//!
//! Every bucket: public access blocked, default encryption (SSE-S3), a policy denying non-TLS
//! access, the stack tag, and a lifecycle rule aborting incomplete multipart uploads; the Athena
//! bucket also expires query results.

use anyhow::Context;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    CreateBucketConfiguration, Delete, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, ObjectIdentifier, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging,
};
use serde_json::{Value, json};

use crate::aws::AwsResultExt;
use crate::plan::{Removal, Resource, State};
use crate::stack::ownership::Claim;
use crate::stack::{STACK_TAG, Stack};

/// Days after which Athena query results are deleted.
pub const ATHENA_RESULTS_DAYS: i32 = 30;
/// Days after which an unfinished multipart upload is aborted.
const ABORT_UPLOADS_DAYS: i32 = 7;

/// What a bucket holds, which decides its lifecycle and whether `down` keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketRole {
    Raw,
    Enriched,
    Athena,
}

impl BucketRole {
    pub const ALL: [BucketRole; 3] = [BucketRole::Raw, BucketRole::Enriched, BucketRole::Athena];

    /// Raw and enriched hold the user's data; Athena's results can be made again.
    pub fn holds_data(self) -> bool {
        !matches!(self, BucketRole::Athena)
    }

    pub fn bucket(self, stack: &Stack) -> String {
        match self {
            BucketRole::Raw => stack.raw_bucket(),
            BucketRole::Enriched => stack.enriched_bucket(),
            BucketRole::Athena => stack.athena_bucket(),
        }
    }
}

/// The aspects of a bucket's configuration that `up` manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aspect {
    PublicAccess,
    Encryption,
    Policy,
    Tags,
    Lifecycle,
}

impl Aspect {
    const ALL: [Aspect; 5] = [
        Aspect::PublicAccess,
        Aspect::Encryption,
        Aspect::Policy,
        Aspect::Tags,
        Aspect::Lifecycle,
    ];

    fn describe(self) -> &'static str {
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

fn lifecycle_rules(role: BucketRole) -> anyhow::Result<Vec<LifecycleRule>> {
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

/// Whether a bucket exists (and is ours to use).
async fn exists(client: &Client, bucket: &str) -> anyhow::Result<bool> {
    match client.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
        Err(e) => Err(e).aws(format!("S3 HeadBucket {bucket}")),
    }
}

/// An error that means "this configuration is not set" rather than a failure.
fn not_configured(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "NoSuchPublicAccessBlockConfiguration"
                | "ServerSideEncryptionConfigurationNotFoundError"
                | "NoSuchBucketPolicy"
                | "NoSuchTagSet"
                | "NoSuchLifecycleConfiguration"
        )
    )
}

/// Which aspects of an existing bucket differ from what the stack wants.
async fn drift(client: &Client, stack: &Stack, role: BucketRole) -> anyhow::Result<Vec<Aspect>> {
    let bucket = role.bucket(stack);
    let mut drifted = Vec::new();
    for aspect in Aspect::ALL {
        let ok = match aspect {
            Aspect::PublicAccess => match client
                .get_public_access_block()
                .bucket(&bucket)
                .send()
                .await
            {
                Ok(out) => out.public_access_block_configuration().is_some_and(|c| {
                    c.block_public_acls() == Some(true)
                        && c.ignore_public_acls() == Some(true)
                        && c.block_public_policy() == Some(true)
                        && c.restrict_public_buckets() == Some(true)
                }),
                Err(e) if not_configured(e.code()) => false,
                Err(e) => return Err(e).aws(format!("S3 GetPublicAccessBlock {bucket}")),
            },
            Aspect::Encryption => match client.get_bucket_encryption().bucket(&bucket).send().await
            {
                Ok(out) => out.server_side_encryption_configuration().is_some_and(|c| {
                    c.rules()
                        .iter()
                        .any(|r| r.apply_server_side_encryption_by_default().is_some())
                }),
                Err(e) if not_configured(e.code()) => false,
                Err(e) => return Err(e).aws(format!("S3 GetBucketEncryption {bucket}")),
            },
            Aspect::Policy => match client.get_bucket_policy().bucket(&bucket).send().await {
                Ok(out) => out
                    .policy()
                    .and_then(|p| serde_json::from_str::<Value>(p).ok())
                    .is_some_and(|p| p == tls_only_policy(&bucket)),
                Err(e) if not_configured(e.code()) => false,
                Err(e) => return Err(e).aws(format!("S3 GetBucketPolicy {bucket}")),
            },
            Aspect::Tags => match client.get_bucket_tagging().bucket(&bucket).send().await {
                Ok(out) => stack.owns(out.tag_set().iter().map(|t| (t.key(), t.value()))),
                Err(e) if not_configured(e.code()) => false,
                Err(e) => return Err(e).aws(format!("S3 GetBucketTagging {bucket}")),
            },
            Aspect::Lifecycle => {
                match client
                    .get_bucket_lifecycle_configuration()
                    .bucket(&bucket)
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
                    Err(e) if not_configured(e.code()) => false,
                    Err(e) => {
                        return Err(e).aws(format!("S3 GetBucketLifecycleConfiguration {bucket}"));
                    }
                }
            }
        };
        if !ok {
            drifted.push(aspect);
        }
    }
    Ok(drifted)
}

/// The state of each bucket of the stack.
pub async fn inspect(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Resource>> {
    let mut out = Vec::new();
    for role in BucketRole::ALL {
        let name = role.bucket(stack);
        let state = if !exists(client, &name).await? {
            State::Missing
        } else {
            let drifted = drift(client, stack, role).await?;
            if drifted.is_empty() {
                State::Present
            } else {
                State::Drifted(
                    drifted
                        .iter()
                        .map(|a| format!("{} differs", a.describe()))
                        .collect(),
                )
            }
        };
        out.push(Resource {
            kind: "s3 bucket",
            name,
            state,
        });
    }
    Ok(out)
}

/// Creates what is missing and repairs what differs; touches nothing that is right.
/// Returns each bucket's state before the run.
pub async fn ensure(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Resource>> {
    let before = inspect(client, stack).await?;
    let jobs = BucketRole::ALL
        .iter()
        .zip(&before)
        .map(|(role, resource)| async move {
            let bucket = &resource.name;
            let aspects = match &resource.state {
                State::Present => return Ok(()),
                State::Missing => {
                    create(client, stack, bucket).await?;
                    Aspect::ALL.to_vec()
                }
                State::Drifted(_) => drift(client, stack, *role).await?,
            };
            for aspect in aspects {
                apply(client, stack, *role, aspect).await?;
            }
            Ok::<_, anyhow::Error>(())
        });
    futures::future::try_join_all(jobs).await?;
    Ok(before)
}

async fn create(client: &Client, stack: &Stack, bucket: &str) -> anyhow::Result<()> {
    let mut request = client.create_bucket().bucket(bucket);
    // us-east-1 is the one region that takes no location constraint.
    if stack.region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(stack.region.as_str()))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        // Ours already (an interrupted run): carry on.
        Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => Ok(()),
        Err(e) if e.code() == Some("BucketAlreadyExists") => Err(anyhow::anyhow!(
            "bucket {bucket} belongs to another AWS account: choose another --name"
        )),
        Err(e) => Err(e).aws(format!("S3 CreateBucket {bucket}")),
    }
}

async fn apply(
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
        Aspect::Tags => {
            // Keep the user's own tags; set ours.
            let mut tags: Vec<Tag> = match client.get_bucket_tagging().bucket(&bucket).send().await
            {
                Ok(out) => out
                    .tag_set()
                    .iter()
                    .filter(|t| t.key() != STACK_TAG)
                    .cloned()
                    .collect(),
                Err(e) if not_configured(e.code()) => Vec::new(),
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
                .bucket(&bucket)
                .tagging(Tagging::builder().set_tag_set(Some(tags)).build()?)
                .send()
                .await
                .map(|_| ())
                .aws(format!("S3 PutBucketTagging {bucket}"))
        }
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

/// Removes the stack's buckets. Data buckets that hold objects are kept unless `delete_data`;
/// then every object version and delete marker goes first.
pub async fn destroy(
    client: &Client,
    stack: &Stack,
    delete_data: bool,
    foreign: &crate::stack::ownership::Foreign,
) -> anyhow::Result<Vec<(String, Removal)>> {
    let mut out = Vec::new();
    for role in BucketRole::ALL {
        let bucket = role.bucket(stack);
        if foreign.contains(&bucket) {
            out.push((bucket, Removal::NotOurs));
            continue;
        }
        if !exists(client, &bucket).await? {
            out.push((bucket, Removal::AlreadyGone));
            continue;
        }
        if role.holds_data() && !delete_data && !is_empty(client, &bucket).await? {
            out.push((bucket, Removal::KeptWithData));
            continue;
        }
        empty(client, &bucket).await?;
        match client.delete_bucket().bucket(&bucket).send().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("NoSuchBucket") => {}
            Err(e) => return Err(e).aws(format!("S3 DeleteBucket {bucket}")),
        }
        out.push((bucket, Removal::Deleted));
    }
    Ok(out)
}

async fn is_empty(client: &Client, bucket: &str) -> anyhow::Result<bool> {
    let out = client
        .list_object_versions()
        .bucket(bucket)
        .max_keys(1)
        .send()
        .await
        .aws(format!("S3 ListObjectVersions {bucket}"))?;
    Ok(out.versions().is_empty() && out.delete_markers().is_empty())
}

/// Deletes every object version and delete marker, a page of up to 1,000 at a time.
async fn empty(client: &Client, bucket: &str) -> anyhow::Result<()> {
    loop {
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .aws(format!("S3 ListObjectVersions {bucket}"))?;
        let mut ids = Vec::new();
        for (key, version) in page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
        {
            let key = key.context("S3 listed an object version without a key")?;
            ids.push(
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_owned))
                    .build()?,
            );
        }
        if ids.is_empty() {
            return Ok(());
        }
        let deleted = client
            .delete_objects()
            .bucket(bucket)
            .delete(
                Delete::builder()
                    .set_objects(Some(ids))
                    .quiet(true)
                    .build()?,
            )
            .send()
            .await
            .aws(format!("S3 DeleteObjects {bucket}"))?;
        if let Some(error) = deleted.errors().first() {
            anyhow::bail!(
                "S3 DeleteObjects {bucket}: {} {}",
                error.key().unwrap_or(""),
                error.message().unwrap_or("")
            );
        }
    }
}

/// Who holds the stack's bucket names (see [`crate::stack::ownership`]).
pub async fn claims(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Claim>> {
    let mut out = Vec::new();
    for role in BucketRole::ALL {
        let bucket = role.bucket(stack);
        let owned = match client.get_bucket_tagging().bucket(&bucket).send().await {
            Ok(out) => Some(stack.owns(out.tag_set().iter().map(|t| (t.key(), t.value())))),
            Err(e) => match e.code() {
                Some("NoSuchBucket") => None,
                Some("NoSuchTagSet") => Some(false),
                _ => return Err(e).aws(format!("S3 GetBucketTagging {bucket}")),
            },
        };
        out.push(Claim::new("s3 bucket", bucket, owned));
    }
    Ok(out)
}
