//! A bucket opened with settings given whole (region, endpoint, credentials), for a caller that
//! resolves them itself, as the CLI does from its AWS profile, rather than from the environment.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;
use object_store::client::{
    ClientOptions, HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpService,
    ReqwestConnector,
};

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
    pub region: String,
    /// An S3-compatible endpoint (an emulator); plain HTTP is allowed only for one given here.
    pub endpoint: Option<String>,
    pub credentials: CredentialSource,
    pub log: Option<RequestLog>,
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
        let inner = ReqwestConnector::default().connect(options)?;
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

/// object_store's view of a [`CredentialSource`], holding the last credentials until they are
/// about to expire.
pub(super) struct Cached {
    source: CredentialSource,
    held: tokio::sync::Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
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
            let mut held = self.held.lock().await;
            if let Some((credential, expires)) = held.as_ref() {
                let fresh = expires.is_none_or(|at| {
                    at.duration_since(SystemTime::now())
                        .is_ok_and(|left| left > RENEW_BEFORE)
                });
                if fresh {
                    return Ok(Arc::clone(credential));
                }
            }
            let given = (self.source)()
                .await
                .map_err(|source| object_store::Error::Generic {
                    store: "S3",
                    source,
                })?;
            let credential = Arc::new(AwsCredential {
                key_id: given.key_id,
                secret_key: given.secret_key,
                token: given.token,
            });
            *held = Some((Arc::clone(&credential), given.expires));
            Ok(credential)
        })
    }
}
