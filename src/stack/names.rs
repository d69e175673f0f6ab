//! The names of every resource, derived from the stack name, the account and the region,
//! so that no state file is needed (see ARCHITECTURE.md).

use std::fmt;

/// The tag every resource of a stack carries, with the stack name as its value.
pub const STACK_TAG: &str = "tgpipe:stack";
/// The stack name when `--name` is not given.
pub const DEFAULT_NAME: &str = "tgpipe";
const MAX_NAME_LEN: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StackNameError {
    #[error(
        "invalid stack name {0:?}: use 1 to {MAX_NAME_LEN} characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'"
    )]
    Invalid(String),
    #[error(
        "the stack name {0:?} is AWS's own (Glue's `default` database, Athena's `primary` workgroup, the `aws` prefix): choose another --name"
    )]
    Reserved(String),
}

/// Names whose resources AWS itself keeps in every account.
const RESERVED_NAMES: [&str; 2] = ["default", "primary"];

/// A valid stack name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackName(String);

impl StackName {
    pub fn parse(name: &str) -> Result<StackName, StackNameError> {
        let ok = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && !name.ends_with('-')
            && !name.contains("--")
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok && (RESERVED_NAMES.contains(&name) || name.starts_with("aws")) {
            Err(StackNameError::Reserved(name.to_owned()))
        } else if ok {
            Ok(StackName(name.to_owned()))
        } else {
            Err(StackNameError::Invalid(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StackName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The two Lambda functions of a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Ingest,
    Etl,
}

impl Function {
    pub const ALL: [Function; 2] = [Function::Ingest, Function::Etl];

    /// The suffix of its names, and the directory of its artifact under `target/lambda/`.
    pub fn suffix(self) -> &'static str {
        match self {
            Function::Ingest => "ingest",
            Function::Etl => "etl",
        }
    }
}

/// The partition of a region, for a stack made without STS's answer.
fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// Every resource name of one stack in one account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub name: StackName,
    pub account: String,
    pub region: String,
    /// The AWS partition (`aws`, `aws-cn`, `aws-us-gov`, …): from STS's answer when connected,
    /// else told by the region.
    partition: String,
}

impl Stack {
    pub fn new(name: StackName, account: impl Into<String>, region: impl Into<String>) -> Stack {
        let region: String = region.into();
        Stack {
            name,
            account: account.into(),
            partition: partition_of_region(&region).to_owned(),
            region,
        }
    }

    /// Whether a resource's tags mark it as this stack's: the one ownership test, for `up`
    /// (which adopts nothing it did not create), `status` and `down` (which leaves it alone).
    pub fn owns<'a>(&self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        tags.into_iter()
            .any(|(k, v)| k == STACK_TAG && v == self.name.as_str())
    }

    /// [`Stack::owns`] for services that answer tags as a map.
    pub fn owns_map(&self, tags: Option<&std::collections::HashMap<String, String>>) -> bool {
        tags.is_some_and(|t| self.owns(t.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
    }

    fn bucket(&self, role: &str) -> String {
        format!("{}-{}-{}-{role}", self.name, self.account, self.region)
    }

    pub fn raw_bucket(&self) -> String {
        self.bucket(lake::layout::RAW_STORE)
    }

    pub fn enriched_bucket(&self) -> String {
        self.bucket(lake::layout::ENRICHED_STORE)
    }

    pub fn athena_bucket(&self) -> String {
        self.bucket("athena")
    }

    /// The IAM role of a function (same name as the function).
    pub fn role(&self, f: Function) -> String {
        self.function(f)
    }

    pub fn function(&self, f: Function) -> String {
        format!("{}-{}", self.name, f.suffix())
    }

    /// The AWS partition of the region (`aws`, `aws-cn`, `aws-us-gov`), for ARNs made before
    /// the resource exists.
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The stack in the partition of the caller's ARN (`arn:PARTITION:sts::…`), which knows
    /// partitions a list of region prefixes does not.
    pub fn in_partition_of(mut self, caller_arn: &str) -> Stack {
        if let Some(p) = caller_arn
            .strip_prefix("arn:")
            .and_then(|rest| rest.split(':').next())
            .filter(|p| !p.is_empty())
        {
            self.partition = p.to_owned();
        }
        self
    }

    /// An ARN in the stack's partition, region and account: `arn:P:SERVICE:REGION:ACCOUNT:RESOURCE`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition(),
            self.region,
            self.account
        )
    }

    /// An IAM ARN (IAM has no region): `arn:P:iam::ACCOUNT:RESOURCE`.
    pub fn iam_arn(&self, resource: &str) -> String {
        format!("arn:{}:iam::{}:{resource}", self.partition(), self.account)
    }

    /// An S3 ARN (a bucket, or objects under it), which names neither region nor account.
    pub fn s3_arn(&self, path: &str) -> String {
        format!("arn:{}:s3:::{path}", self.partition())
    }

    pub fn function_arn(&self, f: Function) -> String {
        self.arn("lambda", &format!("function:{}", self.function(f)))
    }

    pub fn log_group(&self, f: Function) -> String {
        format!("/aws/lambda/{}", self.function(f))
    }

    pub fn http_api(&self) -> String {
        self.name.to_string()
    }

    pub fn etl_rule(&self) -> String {
        format!("{}-etl-daily", self.name)
    }

    pub fn workgroup(&self) -> String {
        self.name.to_string()
    }

    /// Glue database names take no '-'.
    pub fn glue_database(&self) -> String {
        self.name.as_str().replace('-', "_")
    }

    pub fn table(&self) -> &'static str {
        lake::schema::TABLE_NAME
    }

    /// The SNS topic the alarms notify.
    pub fn alert_topic(&self) -> String {
        format!("{}-alerts", self.name)
    }

    pub fn alert_topic_arn(&self) -> String {
        self.arn("sns", &self.alert_topic())
    }

    /// What every alarm's name starts with.
    pub fn alarm_prefix(&self) -> String {
        format!("{}-", self.name)
    }

    /// One of the stack's alarms (see `stack::alarms`).
    pub fn alarm(&self, what: &str) -> String {
        format!("{}{what}", self.alarm_prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract() {
        let s = Stack::new(
            StackName::parse("team-chat").unwrap(),
            "123456789012",
            "eu-west-1",
        );
        assert_eq!(s.raw_bucket(), "team-chat-123456789012-eu-west-1-raw");
        assert_eq!(
            s.enriched_bucket(),
            "team-chat-123456789012-eu-west-1-enriched"
        );
        assert_eq!(s.athena_bucket(), "team-chat-123456789012-eu-west-1-athena");
        assert_eq!(s.function(Function::Ingest), "team-chat-ingest");
        assert_eq!(s.role(Function::Etl), "team-chat-etl");
        assert_eq!(s.log_group(Function::Etl), "/aws/lambda/team-chat-etl");
        assert_eq!(s.etl_rule(), "team-chat-etl-daily");
        assert_eq!(s.glue_database(), "team_chat");
        assert_eq!(s.table(), "telegram");
        // The longest name in the longest region still makes a valid bucket name.
        let long = Stack::new(
            StackName::parse(&"a".repeat(20)).unwrap(),
            "123456789012",
            "ap-southeast-2",
        );
        assert!(long.enriched_bucket().len() <= 63);
    }

    #[test]
    fn bad_names_are_refused_with_the_rule() {
        for bad in [
            "",
            "Team",
            "team_chat",
            "-team",
            "team-",
            "a--b",
            "9lives",
            &"a".repeat(21),
            "tëam",
        ] {
            let err = StackName::parse(bad).unwrap_err().to_string();
            assert!(err.contains("a-z, 0-9"), "{bad}: {err}");
        }
        assert!(StackName::parse(DEFAULT_NAME).is_ok());
        for reserved in ["default", "primary", "aws-chat"] {
            let err = StackName::parse(reserved).unwrap_err();
            assert!(matches!(err, StackNameError::Reserved(_)), "{reserved}");
            assert!(err.to_string().contains("another --name"), "{err}");
        }
    }
}
