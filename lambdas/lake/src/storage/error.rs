//! What can go wrong with a store, named for the logs.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "invalid storage location {location:?}: {why} (expected a bucket name, s3://bucket or file:///absolute/dir)"
    )]
    BadLocation { location: String, why: String },
    // The store's error is in the message whole (object_store's messages carry their causes),
    // not repeated as a source: a chain printed in full says it once.
    #[error("cannot open {location}: {}", redacted(error))]
    Open {
        location: String,
        error: Box<object_store::Error>,
    },
    #[error("cannot create directory {}: {error}", path.display())]
    CreateDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{op} {location}/{key} failed: {}", redacted(error))]
    Io {
        op: &'static str,
        location: String,
        key: String,
        error: Box<object_store::Error>,
    },
}

impl StorageError {
    /// Whether the store (the bucket) itself is not there: a listing answered "not found".
    /// object_store models no `NoSuchBucket`: S3's error code in the answer decides.
    pub fn is_not_found(&self) -> bool {
        match self {
            StorageError::Io { error, .. } => match &**error {
                object_store::Error::NotFound { .. } => true,
                other => other.to_string().contains("<Code>NoSuchBucket</Code>"),
            },
            _ => false,
        }
    }
}

/// S3's error bodies name the access key, and for a bad signature echo the signed request,
/// session token included: those elements never reach a message or a log.
const SECRET_ELEMENTS: [&str; 6] = [
    "AWSAccessKeyId",
    "StringToSign",
    "StringToSignBytes",
    "CanonicalRequest",
    "CanonicalRequestBytes",
    "SignatureProvided",
];

fn redacted(error: &object_store::Error) -> String {
    let mut text = error.to_string();
    for element in SECRET_ELEMENTS {
        let (open, close) = (format!("<{element}>"), format!("</{element}>"));
        let mut from = 0;
        while let Some(start) = text[from..].find(&open).map(|i| from + i) {
            let inner = start + open.len();
            let Some(end) = text[inner..].find(&close).map(|i| inner + i) else {
                text.truncate(inner);
                text.push_str("(withheld)");
                break;
            };
            text.replace_range(inner..end, "(withheld)");
            from = inner + "(withheld)".len() + close.len();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_error_body_keeps_its_code_and_loses_the_key_and_the_signed_request() {
        let body = "<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIAEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 x</StringToSign><CanonicalRequest>GET /\nx-amz-security-token:SECRETTOKEN</CanonicalRequest></Error>";
        let error = object_store::Error::Generic {
            store: "S3",
            source: body.into(),
        };
        let shown = redacted(&error);
        assert!(shown.contains("SignatureDoesNotMatch"), "{shown}");
        for secret in ["AKIAEXAMPLE", "SECRETTOKEN", "AWS4-HMAC-SHA256 x"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let cut = object_store::Error::Generic {
            store: "S3",
            source: "<CanonicalRequest>x-amz-security-token:SECRETTOKEN".into(),
        };
        assert!(!redacted(&cut).contains("SECRETTOKEN"));
    }
}
