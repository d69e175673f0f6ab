//! The stack's buckets, whole lifecycle: read, apply (create or repair), remove.
//!
//! Every bucket: public access blocked, default encryption (SSE-S3), a policy denying non-TLS
//! access, the stack tag, and a lifecycle rule aborting incomplete multipart uploads; the Athena
//! bucket also expires query results.

use anyhow::Context;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier,
};

use crate::aws::{AlreadyExists, AwsResultExt, FindExt};
use crate::plan::{Kind, Removal, Removed, Resource};
use crate::stack::ownership::{Claim, Foreign};
use crate::stack::{Clients, Desired, Note, Outputs, Part, Stack};

/// Days after which Athena query results are deleted.
mod aspects;

pub use aspects::Aspect;
pub use aspects::tls_only_policy;
use aspects::{apply, drift};

pub const ATHENA_RESULTS_DAYS: i32 = 30;
/// Days after which an unfinished multipart upload is aborted.
pub(super) const ABORT_UPLOADS_DAYS: i32 = 7;

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

/// Whether a bucket exists (and is ours to use).
async fn exists(client: &Client, bucket: &str) -> anyhow::Result<bool> {
    match client.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
        Err(e) => Err(e).aws(format!("S3 HeadBucket {bucket}")),
    }
}

/// The stack's three buckets.
pub struct Buckets;

impl Part for Buckets {
    /// Each bucket, in [`BucketRole::ALL`]'s order: `None` when missing, else the aspects that
    /// differ.
    type Found = Vec<Option<Vec<Aspect>>>;
    const LABEL: &'static str = "buckets";
    const STAGE: usize = 0;

    async fn read(&self, c: &Clients, stack: &Stack) -> anyhow::Result<Self::Found> {
        let client = &c.s3;
        // The buckets side by side, and each one's aspects.
        futures::future::try_join_all(BucketRole::ALL.map(|role| drift(client, stack, role))).await
    }

    /// A bucket without the stack's tag (no tags at all included) is not the stack's.
    fn claims(&self, found: &Self::Found, stack: &Stack) -> Vec<Claim> {
        BucketRole::ALL
            .iter()
            .zip(found)
            .map(|(role, drift)| {
                let owned = drift.as_ref().map(|d| !d.contains(&Aspect::Tags));
                Claim::new(Kind::Bucket, role.bucket(stack), owned)
            })
            .collect()
    }

    fn states(&self, found: &Self::Found, stack: &Stack, _: Option<&Desired>) -> Vec<Resource> {
        BucketRole::ALL
            .iter()
            .zip(found)
            .map(|(role, drift)| {
                let drift = drift.as_ref().map(|d| {
                    d.iter()
                        .map(|a| format!("{} differs", a.describe()))
                        .collect::<Vec<_>>()
                });
                Resource::with_drift(Kind::Bucket, role.bucket(stack), drift)
            })
            .collect()
    }

    /// Creates what is missing and repairs what differs; touches nothing that is right.
    async fn apply(
        &self,
        c: &Clients,
        stack: &Stack,
        _: &Desired,
        found: &Self::Found,
        _: &Outputs,
        note: Note<'_>,
    ) -> anyhow::Result<Outputs> {
        let client = &c.s3;
        let jobs = BucketRole::ALL
            .iter()
            .zip(found)
            .map(|(role, drift)| async move {
                let (aspects, fresh) = match drift {
                    Some(d) => (d.clone(), false),
                    None => {
                        let created = create(client, stack, &role.bucket(stack), note).await?;
                        (Aspect::ALL.to_vec(), created)
                    }
                };
                for aspect in aspects {
                    settle(fresh, || apply(client, stack, *role, aspect, fresh)).await?;
                }
                anyhow::Ok(())
            });
        futures::future::try_join_all(jobs).await?;
        Ok(Outputs::default())
    }

    async fn remove(
        &self,
        c: &Clients,
        stack: &Stack,
        foreign: &Foreign,
        delete_data: bool,
    ) -> anyhow::Result<Vec<Removed>> {
        destroy(&c.s3, stack, delete_data, foreign).await
    }
}

/// How long a new bucket's settings may not find it (Terraform waits as long).
const NEW_BUCKET_PROPAGATION: std::time::Duration = std::time::Duration::from_secs(120);

/// A settings call, tried again while a bucket created moments ago is not found yet.
async fn settle<F, Fut>(fresh: bool, call: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let deadline = tokio::time::Instant::now() + NEW_BUCKET_PROPAGATION;
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e)
                if fresh
                    && e.downcast_ref::<aspects::NotYetThere>().is_some()
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(
                    crate::aws::backoff(attempt).max(std::time::Duration::from_millis(500)),
                )
                .await;
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// Creates the bucket; `false` when it was there already (ours: an interrupted run).
async fn create(
    client: &Client,
    stack: &Stack,
    bucket: &str,
    note: Note<'_>,
) -> anyhow::Result<bool> {
    let mut request = client.create_bucket().bucket(bucket);
    // us-east-1 is the one region that takes no location constraint.
    if stack.region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(stack.region.as_str()))
                .build(),
        );
    }
    let mut attempt = 1;
    let sent = loop {
        match request.clone().send().await {
            // The name of a bucket deleted moments ago (`down`, then `up`) stays taken while S3
            // releases it: minutes, sometimes an hour.
            Err(e) if e.code() == Some("OperationAborted") => {
                if attempt >= crate::aws::MAX_ATTEMPTS {
                    anyhow::bail!(
                        "S3 is still releasing the name {bucket}, deleted moments ago (by `tgpipe down`?): this takes minutes, sometimes an hour; run `tgpipe up` again later, which keeps what was made so far and completes it"
                    );
                }
                note(format!(
                    "waiting for S3 to release the name {bucket}, deleted moments ago"
                ));
                tokio::time::sleep(crate::aws::backoff(attempt)).await;
                attempt += 1;
            }
            sent => break sent,
        }
    };
    match sent {
        Ok(_) => Ok(true),
        // Ours already (an interrupted run): carry on.
        Err(e) if e.is_already_exists() => Ok(false),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_exists()) =>
        {
            Err(anyhow::anyhow!(
                "bucket {bucket} belongs to another AWS account: choose another --name"
            ))
        }
        Err(e) => Err(e).aws(format!("S3 CreateBucket {bucket}")),
    }
}

/// Removes the stack's buckets. Data buckets that hold objects are kept unless `delete_data`;
/// then every object version and delete marker goes first.
async fn destroy(
    client: &Client,
    stack: &Stack,
    delete_data: bool,
    foreign: &Foreign,
) -> anyhow::Result<Vec<Removed>> {
    let mut out = Vec::new();
    for role in BucketRole::ALL {
        let bucket = role.bucket(stack);
        if foreign.contains(Kind::Bucket, &bucket) {
            out.push(Removed::new(Kind::Bucket, bucket, Removal::NotOurs));
            continue;
        }
        if !exists(client, &bucket).await? {
            out.push(Removed::new(Kind::Bucket, bucket, Removal::AlreadyGone));
            continue;
        }
        if !delete_data && kept_for(client, role, &bucket).await?.is_some() {
            out.push(Removed::new(Kind::Bucket, bucket, Removal::KeptWithData));
            continue;
        }
        empty(client, &bucket).await?;
        // Gone meanwhile is as good as deleted.
        client
            .delete_bucket()
            .bucket(&bucket)
            .send()
            .await
            .found()
            .aws(format!("S3 DeleteBucket {bucket}"))?;
        out.push(Removed::new(Kind::Bucket, bucket, Removal::Deleted));
    }
    Ok(out)
}

/// Whether a bucket holds anything at all: an object, an older version or a delete marker. A
/// data bucket that does is kept by `down` unless `--delete-data`; `down`'s plan asks this too,
/// so that what it shows is what is done.
pub async fn holds_anything(client: &Client, bucket: &str) -> anyhow::Result<bool> {
    let out = client
        .list_object_versions()
        .bucket(bucket)
        .max_keys(1)
        .send()
        .await
        .aws(format!("S3 ListObjectVersions {bucket}"))?;
    Ok(!(out.versions().is_empty() && out.delete_markers().is_empty()))
}

/// What `down` keeps a bucket for unless `--delete-data`; `None` when nothing. `down`'s plan asks
/// this too, so that what it shows is what is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holding {
    /// A data bucket holds something: an object, an older version or a delete marker.
    Data,
    /// The Athena bucket holds this many objects that are not query results: the user's own,
    /// or the data of tables made with `CREATE TABLE AS`.
    Yours(usize),
}

pub async fn kept_for(
    client: &Client,
    role: BucketRole,
    bucket: &str,
) -> anyhow::Result<Option<Holding>> {
    if role.holds_data() {
        return Ok(holds_anything(client, bucket)
            .await?
            .then_some(Holding::Data));
    }
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .into_paginator()
        .send();
    let mut yours = 0;
    while let Some(page) = pages.next().await {
        let page = page.aws(format!("S3 ListObjectsV2 {bucket}"))?;
        yours += page
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .filter(|k| is_yours(k))
            .count();
    }
    Ok((yours > 0).then_some(Holding::Yours(yours)))
}

/// Whether an object of the Athena bucket is the user's rather than a query's result.
fn is_yours(key: &str) -> bool {
    use crate::stack::athena::{CTAS_PREFIX, RESULTS_PREFIX};
    !key.starts_with(RESULTS_PREFIX) || key.starts_with(CTAS_PREFIX)
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
