//! Which of the stack's names are taken by resources that are not the stack's. `up` adopts
//! nothing it did not create: a resource with one of the stack's names but without the stack's
//! tag stops `up` before anything is changed, and `down` leaves it alone and says so.
//!
//! The HTTP API is found by name and tag together (its id is not its name), so another API of the
//! same name is never the stack's to begin with; the Glue table lives in the stack's database.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_lambda::error::ProvideErrorMetadata;

use crate::aws::AwsResultExt;
use crate::stack::{Function, STACK_TAG, Stack};

/// What `down` says of a resource it leaves because it is not the stack's.
pub const KEPT: &str = "kept: not this stack's";

/// The clients the check reads with.
pub struct Clients<'a> {
    pub s3: &'a aws_sdk_s3::Client,
    pub iam: &'a aws_sdk_iam::Client,
    pub lambda: &'a aws_sdk_lambda::Client,
    pub logs: &'a aws_sdk_cloudwatchlogs::Client,
    pub events: &'a aws_sdk_eventbridge::Client,
    pub athena: &'a aws_sdk_athena::Client,
    pub glue: &'a aws_sdk_glue::Client,
}

/// Resources (kind, name) that bear one of the stack's names and are not the stack's.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Foreign(pub BTreeSet<(&'static str, String)>);

impl Foreign {
    /// Whether the resource of that name is not the stack's (and must be left alone).
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(_, n)| n == name)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `up`'s refusal: what is in the way, and what to do.
    pub fn refusal(&self, stack: &Stack) -> String {
        let names: Vec<String> = self.0.iter().map(|(k, n)| format!("{k} {n}")).collect();
        format!(
            "{} already exist{} without this stack's tag ({STACK_TAG}={}), so they are not this stack's and nothing was changed: choose another --name, or remove them",
            names.join(", "),
            if names.len() == 1 { "s" } else { "" },
            stack.name
        )
    }
}

/// Whether a set of tags marks a resource as `stack`'s.
pub fn owns<'a>(stack: &Stack, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    tags.into_iter()
        .any(|(k, v)| k == STACK_TAG && v == stack.name.as_str())
}

/// Reads, for every name of the stack that is taken, whether the stack's tag is on it.
pub async fn foreign(c: &Clients<'_>, stack: &Stack) -> anyhow::Result<Foreign> {
    let mut found = BTreeSet::new();
    let mut check = |kind: &'static str, name: String, owned: Option<bool>| {
        if owned == Some(false) {
            found.insert((kind, name));
        }
    };
    for bucket in [
        stack.raw_bucket(),
        stack.enriched_bucket(),
        stack.athena_bucket(),
    ] {
        let owned = bucket_owned(c.s3, stack, &bucket).await?;
        check("s3 bucket", bucket, owned);
    }
    for f in Function::ALL {
        let role = stack.role(f);
        let owned = match c.iam.list_role_tags().role_name(&role).send().await {
            Ok(t) => Some(owns(stack, t.tags().iter().map(|t| (t.key(), t.value())))),
            Err(e) if e.code() == Some("NoSuchEntity") => None,
            Err(e) => return Err(e).aws(format!("IAM ListRoleTags {role}")),
        };
        check("iam role", role, owned);
        let function = stack.function(f);
        let owned = match c
            .lambda
            .get_function()
            .function_name(&function)
            .send()
            .await
        {
            Ok(out) => Some(owns_map(stack, out.tags())),
            Err(e) if e.code() == Some("ResourceNotFoundException") => None,
            Err(e) => return Err(e).aws(format!("Lambda GetFunction {function}")),
        };
        check("lambda function", function, owned);
        let group = stack.log_group(f);
        #[allow(deprecated)] // ListTagsForResource needs the ARN; this takes the name.
        let owned = match c
            .logs
            .list_tags_log_group()
            .log_group_name(&group)
            .send()
            .await
        {
            Ok(out) => Some(owns_map(stack, out.tags())),
            Err(e) if e.code() == Some("ResourceNotFoundException") => None,
            Err(e) => return Err(e).aws(format!("CloudWatch Logs ListTagsLogGroup {group}")),
        };
        check("log group", group, owned);
    }
    let rule = stack.etl_rule();
    let owned = match c.events.describe_rule().name(&rule).send().await {
        Ok(r) => {
            let arn = r.arn().unwrap_or_default();
            let tags = c
                .events
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .aws(format!("EventBridge ListTagsForResource {rule}"))?;
            Some(owns(
                stack,
                tags.tags().iter().map(|t| (t.key(), t.value())),
            ))
        }
        Err(e) if e.code() == Some("ResourceNotFoundException") => None,
        Err(e) => return Err(e).aws(format!("EventBridge DescribeRule {rule}")),
    };
    check("eventbridge rule", rule, owned);
    let workgroup = stack.workgroup();
    let exists = match c
        .athena
        .get_work_group()
        .work_group(&workgroup)
        .send()
        .await
    {
        Ok(out) => out.work_group().is_some(),
        Err(e) if e.code() == Some("InvalidRequestException") => false,
        Err(e) => return Err(e).aws(format!("Athena GetWorkGroup {workgroup}")),
    };
    let owned = if exists {
        let arn = format!(
            "arn:aws:athena:{}:{}:workgroup/{workgroup}",
            stack.region, stack.account
        );
        match c
            .athena
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
        {
            Ok(tags) => Some(owns(
                stack,
                tags.tags()
                    .iter()
                    .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
            )),
            // An emulator answers this for a workgroup without tags: not the stack's either way.
            Err(e) if e.code() == Some("InvalidRequestException") => Some(false),
            Err(e) => return Err(e).aws(format!("Athena ListTagsForResource {workgroup}")),
        }
    } else {
        None
    };
    check("athena workgroup", workgroup, owned);
    let database = stack.glue_database();
    let owned = match c.glue.get_database().name(&database).send().await {
        Ok(_) => {
            let arn = format!(
                "arn:aws:glue:{}:{}:database/{database}",
                stack.region, stack.account
            );
            let tags = c
                .glue
                .get_tags()
                .resource_arn(arn)
                .send()
                .await
                .aws(format!("Glue GetTags {database}"))?;
            Some(owns_map(stack, tags.tags()))
        }
        Err(e) if e.code() == Some("EntityNotFoundException") => None,
        Err(e) => return Err(e).aws(format!("Glue GetDatabase {database}")),
    };
    check("glue database", database, owned);
    Ok(Foreign(found))
}

fn owns_map(stack: &Stack, tags: Option<&HashMap<String, String>>) -> bool {
    tags.is_some_and(|t| owns(stack, t.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
}

/// `Some(owned)` for a bucket of this account, `None` when there is none.
async fn bucket_owned(
    s3: &aws_sdk_s3::Client,
    stack: &Stack,
    bucket: &str,
) -> anyhow::Result<Option<bool>> {
    match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => Ok(Some(owns(
            stack,
            out.tag_set().iter().map(|t| (t.key(), t.value())),
        ))),
        Err(e) => match aws_sdk_s3::error::ProvideErrorMetadata::code(&e) {
            Some("NoSuchBucket") => Ok(None),
            Some("NoSuchTagSet") => Ok(Some(false)),
            _ => Err(e).aws(format!("S3 GetBucketTagging {bucket}")),
        },
    }
}
