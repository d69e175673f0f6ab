//! A bucket opened with settings given whole (region, endpoint, credentials), for a caller that
//! resolves them itself, as the CLI does from its AWS profile, rather than from the environment.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use object_store::CredentialProvider;
use object_store::aws::AmazonS3ConfigKey;
use object_store::aws::AwsCredential;
use object_store::client::{
    ClientConfigKey, ClientOptions, HttpClient, HttpConnector, HttpError, HttpRequest,
    HttpResponse, HttpService, ReqwestConnector,
};

/// The header by which S3 refuses (403) a request to a bucket that another account owns.
pub const EXPECTED_OWNER_HEADER: &str = "x-amz-expected-bucket-owner";

/// The client settings a builder may hold already (from the environment: `AWS_ALLOW_HTTP`, …),
/// carried over when its client options are replaced to add a header.
const CLIENT_SETTINGS: [&str; 18] = [
    "allow_http",
    "allow_invalid_certificates",
    "connect_timeout",
    "default_content_type",
    "http1_only",
    "http2_only",
    "http2_keep_alive_interval",
    "http2_keep_alive_timeout",
    "http2_keep_alive_while_idle",
    "http2_max_frame_size",
    "pool_idle_timeout",
    "pool_max_idle_per_host",
    "proxy_url",
    "proxy_ca_certificate",
    "proxy_excludes",
    "randomize_addresses",
    "timeout",
    "user_agent",
];

/// `builder` whose requests name the account expected to own the bucket (S3's
/// `ExpectedBucketOwner`), when one is given; its other client settings are kept. object_store
/// adds and signs the header on the requests that read, write and delete objects; its listings
/// go without it ([`SignedHeadersOnly`]: unsigned, S3 would refuse them).
pub(super) fn owned_by(
    builder: object_store::aws::AmazonS3Builder,
    owner: Option<&str>,
) -> Result<object_store::aws::AmazonS3Builder, http::header::InvalidHeaderValue> {
    let Some(owner) = owner.map(str::trim).filter(|o| !o.is_empty()) else {
        return Ok(builder);
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(EXPECTED_OWNER_HEADER, http::HeaderValue::from_str(owner)?);
    let mut options = ClientOptions::new().with_default_headers(headers);
    for key in CLIENT_SETTINGS
        .iter()
        .filter_map(|k| k.parse::<ClientConfigKey>().ok())
    {
        if let Some(value) = builder.get_config_value(&AmazonS3ConfigKey::Client(key)) {
            options = options.with_config(key, value);
        }
    }
    Ok(builder
        .with_client_options(options)
        .with_http_connector(SignedHeadersOnly))
}

/// Options for the HTTP client itself without default headers: object_store adds the configured
/// ones (and signs them) on the requests it builds with them, but reqwest would add them to
/// every other request too (listings), unsigned, and S3 refuses an unsigned `x-amz-` header.
fn without_default_headers(options: &ClientOptions) -> ClientOptions {
    options.clone().with_default_headers(http::HeaderMap::new())
}

/// object_store's HTTP client, sending a default header only where object_store signs it.
#[derive(Debug, Clone, Copy)]
pub(super) struct SignedHeadersOnly;

impl HttpConnector for SignedHeadersOnly {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        ReqwestConnector::default().connect(&without_default_headers(options))
    }
}

#[cfg(test)]
mod owner_tests {
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    use object_store::client::ClientConfigKey;

    #[test]
    fn naming_the_owner_keeps_the_settings_the_builder_had() {
        let builder = AmazonS3Builder::new()
            .with_allow_http(true)
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "7s");
        let owned = super::owned_by(builder, Some("123456789012")).unwrap();
        let setting = |key| owned.get_config_value(&AmazonS3ConfigKey::Client(key));
        assert_eq!(setting(ClientConfigKey::AllowHttp).as_deref(), Some("true"));
        assert_eq!(setting(ClientConfigKey::Timeout).as_deref(), Some("7s"));
        assert!(super::owned_by(AmazonS3Builder::new(), Some("bad\nvalue")).is_err());
    }
}

/// One set of credentials: access key id, secret key, session token, and when they expire.
pub struct Credentials {
    pub key_id: String,
    pub secret_key: String,
    pub token: Option<String>,
    pub expires: Option<SystemTime>,
}

/// Where the caller's credentials come from: called again when those it gave are about to
/// expire, never per request.
pub type CredentialSource = Arc<
    dyn Fn() -> BoxFuture<'static, Result<Credentials, Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + Sync,
>;

/// Hears of each request to a bucket as it is answered: method, path and query, and the
/// status (or why there was none). A retried request is heard once per attempt.
pub type RequestLog = Arc<dyn Fn(&str) + Send + Sync>;

/// How to reach a bucket.
#[derive(Clone)]
pub struct S3Access {
    region: String,
    endpoint: Option<String>,
    /// One cache for every bucket opened with this access: the caller's credential chain (an
    /// SSO call, a role to assume) is asked once, not once a bucket.
    credentials: Arc<Cached>,
    log: Option<RequestLog>,
    /// The account expected to own the buckets, named in every request.
    owner: Option<String>,
}

impl S3Access {
    /// `endpoint`: an S3-compatible one (an emulator), plain HTTP allowed only for it; without,
    /// AWS's own for the region. `log` hears of each request.
    pub fn new(
        region: impl Into<String>,
        endpoint: Option<String>,
        credentials: CredentialSource,
        log: Option<RequestLog>,
    ) -> S3Access {
        S3Access {
            region: region.into(),
            endpoint,
            credentials: Arc::new(Cached::new(credentials)),
            log,
            owner: None,
        }
    }

    /// Every request names `account` as the buckets' expected owner: S3 refuses (403) one to
    /// a bucket of the same name that another account owns.
    pub fn owned_by(mut self, account: impl Into<String>) -> S3Access {
        self.owner = Some(account.into());
        self
    }

    pub(super) fn builder(
        &self,
        bucket: &str,
    ) -> Result<object_store::aws::AmazonS3Builder, http::header::InvalidHeaderValue> {
        let builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&self.region)
            .with_credentials(self.credentials.clone());
        let mut builder = owned_by(builder, self.owner.as_deref())?;
        if let Some(log) = &self.log {
            builder = builder.with_http_connector(Logging(log.clone()));
        }
        Ok(match &self.endpoint {
            Some(endpoint) => builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://")),
            // AWS's own endpoint: the bucket in the host name, as AWS wants it now.
            None => in_partition(builder.with_virtual_hosted_style_request(true), bucket),
        })
    }
}

/// `builder` with AWS's own S3 endpoint of its region's partition when it has no endpoint:
/// object_store forms `amazonaws.com` host names, which China's regions do not answer (theirs
/// end in `amazonaws.com.cn`).
pub(super) fn in_partition(
    builder: object_store::aws::AmazonS3Builder,
    bucket: &str,
) -> object_store::aws::AmazonS3Builder {
    use object_store::aws::AmazonS3ConfigKey::{Endpoint, Region};
    let china = builder
        .get_config_value(&Region)
        .filter(|r| r.starts_with("cn-"));
    match china {
        Some(region) if builder.get_config_value(&Endpoint).is_none() => builder
            .with_virtual_hosted_style_request(true)
            .with_endpoint(format!("https://{bucket}.s3.{region}.amazonaws.com.cn")),
        _ => builder,
    }
}

#[cfg(test)]
mod partition_tests {
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey::Endpoint};

    #[test]
    fn a_bucket_in_china_is_reached_at_amazonaws_com_cn_and_elsewhere_as_object_store_does() {
        let endpoint = |region: &str| {
            super::in_partition(AmazonS3Builder::new().with_region(region), "b")
                .get_config_value(&Endpoint)
        };
        assert_eq!(
            endpoint("cn-north-1").as_deref(),
            Some("https://b.s3.cn-north-1.amazonaws.com.cn")
        );
        assert_eq!(endpoint("eu-west-1"), None);
        assert_eq!(endpoint("us-gov-west-1"), None);
        let emulator = AmazonS3Builder::new()
            .with_region("cn-north-1")
            .with_endpoint("http://127.0.0.1:5000");
        assert_eq!(
            super::in_partition(emulator, "b")
                .get_config_value(&Endpoint)
                .as_deref(),
            Some("http://127.0.0.1:5000")
        );
    }
}

/// object_store's HTTP client with each request told to a [`RequestLog`].
#[derive(Clone)]
pub(super) struct Logging(pub(super) RequestLog);

impl std::fmt::Debug for Logging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Logging")
    }
}

impl HttpConnector for Logging {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = SignedHeadersOnly.connect(options)?;
        Ok(HttpClient::new(Logged {
            inner,
            log: self.clone(),
        }))
    }
}

#[derive(Debug)]
struct Logged {
    inner: HttpClient,
    log: Logging,
}

impl HttpService for Logged {
    fn call<'a, 'b>(
        &'a self,
        request: HttpRequest,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move {
            let uri = request.uri();
            let what = match uri.query() {
                Some(query) => format!("{} {}?{query}", request.method(), uri.path()),
                None => format!("{} {}", request.method(), uri.path()),
            };
            let answer = self.inner.execute(request).await;
            match &answer {
                Ok(response) => (self.log.0)(&format!("{what}: {}", response.status().as_u16())),
                Err(e) => (self.log.0)(&format!("{what}: {e}")),
            }
            answer
        })
    }
}

/// Credentials renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(300);
/// Held credentials still used this close to their expiry when a renewal fails or gives none
/// fresher (the AWS SDK's own margin).
const STILL_USABLE: Duration = Duration::from_secs(10);
/// How often a renewal is tried while the held credentials are in their last minutes.
const RETRY_RENEWAL: Duration = Duration::from_secs(10);

/// The credentials held, when they expire, and when a renewal was last tried.
struct Held {
    credential: Arc<AwsCredential>,
    expires: Option<SystemTime>,
    tried: std::time::Instant,
}

impl Held {
    /// Whether they are good for at least `margin` more.
    fn good_for(&self, margin: Duration) -> bool {
        self.expires.is_none_or(|at| {
            at.duration_since(SystemTime::now())
                .is_ok_and(|left| left > margin)
        })
    }
}

/// object_store's view of a [`CredentialSource`], holding the last credentials until they are
/// about to expire.
pub(super) struct Cached {
    source: CredentialSource,
    held: tokio::sync::Mutex<Option<Held>>,
}

impl Cached {
    pub(super) fn new(source: CredentialSource) -> Cached {
        Cached {
            source,
            held: tokio::sync::Mutex::new(None),
        }
    }
}

impl std::fmt::Debug for Cached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.write_str("Cached credentials")
    }
}

impl CredentialProvider for Cached {
    type Credential = AwsCredential;

    fn get_credential<'a, 'b>(
        &'a self,
    ) -> std::pin::Pin<Box<dyn Future<Output = object_store::Result<Arc<AwsCredential>>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move {
            // One renewal at a time: the others wait for it and take what it got.
            let mut held = self.held.lock().await;
            if let Some(h) = held.as_ref() {
                let renewing_lately = h.tried.elapsed() < RETRY_RENEWAL;
                if h.good_for(RENEW_BEFORE) || (renewing_lately && h.good_for(STILL_USABLE)) {
                    return Ok(Arc::clone(&h.credential));
                }
            }
            let given = match (self.source)().await {
                Ok(given) => given,
                Err(source) => {
                    // A renewal that fails while the held ones are still good: they serve on.
                    if let Some(h) = held.as_mut().filter(|h| h.good_for(STILL_USABLE)) {
                        h.tried = std::time::Instant::now();
                        return Ok(Arc::clone(&h.credential));
                    }
                    return Err(object_store::Error::Generic {
                        store: "S3",
                        source,
                    });
                }
            };
            let credential = Arc::new(AwsCredential {
                key_id: given.key_id,
                secret_key: given.secret_key,
                token: given.token,
            });
            *held = Some(Held {
                credential: Arc::clone(&credential),
                expires: given.expires,
                tried: std::time::Instant::now(),
            });
            Ok(credential)
        })
    }
}
