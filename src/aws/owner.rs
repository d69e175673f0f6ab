//! S3 calls that name the account expected to own the bucket (S3's `ExpectedBucketOwner`): the
//! stack's bucket names are predictable, so another account could hold one; S3 then refuses
//! (403) instead of reading or writing someone else's bucket.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

pub use lake::storage::EXPECTED_OWNER_HEADER;

/// Adds the expected owner to every S3 call but those that take none (a bucket being created has
/// no owner yet; the account's list of buckets is not a bucket's).
#[derive(Debug)]
pub struct ExpectedBucketOwner(pub String);

/// S3 operations that do not take `ExpectedBucketOwner`.
const WITHOUT_OWNER: [&str; 3] = ["CreateBucket", "ListBuckets", "ListDirectoryBuckets"];

impl Intercept for ExpectedBucketOwner {
    fn name(&self) -> &'static str {
        "tgpipe-expected-bucket-owner"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(Metadata::name);
        let headers = context.request_mut().headers_mut();
        if !operation.is_some_and(|o| WITHOUT_OWNER.contains(&o))
            && !headers.contains_key(EXPECTED_OWNER_HEADER)
        {
            headers.insert(EXPECTED_OWNER_HEADER, self.0.clone());
        }
        Ok(())
    }
}
