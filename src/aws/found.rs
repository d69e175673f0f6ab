//! "Not there" and "there already", decided once per operation. Where the SDK models the
//! service's error for an operation, its typed predicate decides. Where it does not (S3's bucket
//! sub-resources and DeleteBucket: their error enums have only `Unhandled`), the error code
//! decides, here and nowhere else.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use aws_sdk_apigatewayv2::operation as apigw_op;
use aws_sdk_athena::operation as athena_op;
use aws_sdk_cloudwatch::operation as cw_op;
use aws_sdk_cloudwatchlogs::operation as logs_op;
use aws_sdk_eventbridge::operation as events_op;
use aws_sdk_glue::operation as glue_op;
use aws_sdk_iam::operation as iam_op;
use aws_sdk_lambda::operation as lambda_op;
use aws_sdk_s3::operation as s3_op;
use aws_sdk_sns::operation as sns_op;

/// An error that means what was asked about (or asked to be deleted) does not exist.
pub trait NotFound {
    fn is_not_found(&self) -> bool;
}

/// An error of a create call that means the thing is there already (an interrupted run made it).
pub trait AlreadyExists {
    fn is_already_exists(&self) -> bool;
}

impl<E: NotFound, R> NotFound for SdkError<E, R> {
    fn is_not_found(&self) -> bool {
        self.as_service_error().is_some_and(E::is_not_found)
    }
}

impl<E: AlreadyExists, R> AlreadyExists for SdkError<E, R> {
    fn is_already_exists(&self) -> bool {
        self.as_service_error().is_some_and(E::is_already_exists)
    }
}

/// `….send().await.found()`: `Ok(None)` when the service says there is no such thing.
pub trait FindExt<T, E> {
    fn found(self) -> Result<Option<T>, E>;
}

impl<T, E: NotFound> FindExt<T, E> for Result<T, E> {
    fn found(self) -> Result<Option<T>, E> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// `ErrorType => predicate`: the SDK models the error for this operation.
macro_rules! modeled {
    ($trait:ident :: $method:ident { $($ty:ty => $pred:ident),* $(,)? }) => {
        $(impl $trait for $ty {
            fn $method(&self) -> bool {
                self.$pred()
            }
        })*
    };
}

/// `ErrorType => "Code" | …`: the SDK does not model it (only `Unhandled`); the code decides.
macro_rules! by_code {
    ($trait:ident :: $method:ident { $($ty:ty => $($code:literal)|+),* $(,)? }) => {
        $(impl $trait for $ty {
            fn $method(&self) -> bool {
                matches!(ProvideErrorMetadata::code(self), Some($($code)|+))
            }
        })*
    };
}

modeled!(NotFound::is_not_found {
    // Lambda
    lambda_op::get_function::GetFunctionError => is_resource_not_found_exception,
    lambda_op::get_function_configuration::GetFunctionConfigurationError => is_resource_not_found_exception,
    lambda_op::get_function_event_invoke_config::GetFunctionEventInvokeConfigError => is_resource_not_found_exception,
    lambda_op::get_policy::GetPolicyError => is_resource_not_found_exception,
    lambda_op::remove_permission::RemovePermissionError => is_resource_not_found_exception,
    lambda_op::delete_function::DeleteFunctionError => is_resource_not_found_exception,
    lambda_op::invoke::InvokeError => is_resource_not_found_exception,
    // IAM (wire code "NoSuchEntity")
    iam_op::get_role::GetRoleError => is_no_such_entity_exception,
    iam_op::get_role_policy::GetRolePolicyError => is_no_such_entity_exception,
    iam_op::list_role_tags::ListRoleTagsError => is_no_such_entity_exception,
    iam_op::list_role_policies::ListRolePoliciesError => is_no_such_entity_exception,
    iam_op::list_attached_role_policies::ListAttachedRolePoliciesError => is_no_such_entity_exception,
    iam_op::delete_role::DeleteRoleError => is_no_such_entity_exception,
    // CloudWatch Logs
    logs_op::delete_log_group::DeleteLogGroupError => is_resource_not_found_exception,
    logs_op::list_tags_log_group::ListTagsLogGroupError => is_resource_not_found_exception,
    logs_op::filter_log_events::FilterLogEventsError => is_resource_not_found_exception,
    // CloudWatch (alarms)
    cw_op::list_tags_for_resource::ListTagsForResourceError => is_resource_not_found_exception,
    // SNS
    sns_op::get_topic_attributes::GetTopicAttributesError => is_not_found_exception,
    sns_op::list_tags_for_resource::ListTagsForResourceError => is_resource_not_found_exception,
    sns_op::list_subscriptions_by_topic::ListSubscriptionsByTopicError => is_not_found_exception,
    sns_op::unsubscribe::UnsubscribeError => is_not_found_exception,
    // EventBridge
    events_op::describe_rule::DescribeRuleError => is_resource_not_found_exception,
    events_op::remove_targets::RemoveTargetsError => is_resource_not_found_exception,
    events_op::delete_rule::DeleteRuleError => is_resource_not_found_exception,
    // Glue
    glue_op::get_database::GetDatabaseError => is_entity_not_found_exception,
    glue_op::get_table::GetTableError => is_entity_not_found_exception,
    glue_op::delete_table::DeleteTableError => is_entity_not_found_exception,
    glue_op::delete_database::DeleteDatabaseError => is_entity_not_found_exception,
    // API Gateway v2
    apigw_op::get_stage::GetStageError => is_not_found_exception,
    apigw_op::get_api::GetApiError => is_not_found_exception,
    apigw_op::delete_api::DeleteApiError => is_not_found_exception,
    // S3 (HeadBucket: the SDK turns an empty-body 404 into code "NotFound")
    s3_op::head_bucket::HeadBucketError => is_not_found,
    s3_op::list_objects_v2::ListObjectsV2Error => is_no_such_bucket,
    s3_op::get_object::GetObjectError => is_no_such_key,
});

// S3 models no errors for these operations: their enums have only `Unhandled`.
by_code!(NotFound::is_not_found {
    s3_op::delete_bucket::DeleteBucketError => "NoSuchBucket",
    s3_op::get_public_access_block::GetPublicAccessBlockError => "NoSuchPublicAccessBlockConfiguration",
    s3_op::get_bucket_encryption::GetBucketEncryptionError => "ServerSideEncryptionConfigurationNotFoundError",
    s3_op::get_bucket_policy::GetBucketPolicyError => "NoSuchBucketPolicy",
    s3_op::get_bucket_tagging::GetBucketTaggingError => "NoSuchTagSet",
    s3_op::get_bucket_lifecycle_configuration::GetBucketLifecycleConfigurationError => "NoSuchLifecycleConfiguration",
});

modeled!(AlreadyExists::is_already_exists {
    lambda_op::create_function::CreateFunctionError => is_resource_conflict_exception,
    lambda_op::add_permission::AddPermissionError => is_resource_conflict_exception,
    iam_op::create_role::CreateRoleError => is_entity_already_exists_exception,
    logs_op::create_log_group::CreateLogGroupError => is_resource_already_exists_exception,
    s3_op::create_bucket::CreateBucketError => is_bucket_already_owned_by_you,
    glue_op::create_database::CreateDatabaseError => is_already_exists_exception,
    glue_op::create_table::CreateTableError => is_already_exists_exception,
});

// Athena's model has no not-found error for GetWorkGroup: a missing workgroup is an
// InvalidRequestException ("WorkGroup x is not found."), like any other invalid request, so only
// the message tells; anything else is an error, never a workgroup to create or to call gone.
impl NotFound for athena_op::get_work_group::GetWorkGroupError {
    fn is_not_found(&self) -> bool {
        self.is_invalid_request_exception()
            && ProvideErrorMetadata::message(self).is_some_and(|m| m.contains("not found"))
    }
}

// Athena answers a duplicate workgroup with InvalidRequestException; only the message tells.
impl AlreadyExists for athena_op::create_work_group::CreateWorkGroupError {
    fn is_already_exists(&self) -> bool {
        self.is_invalid_request_exception()
            && ProvideErrorMetadata::message(self).is_some_and(|m| m.contains("already exists"))
    }
}

/// S3 calls that model no `NoSuchBucket` (the bucket settings' reads): the code decides.
pub fn s3_no_such_bucket<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("NoSuchBucket")
}

#[cfg(test)]
mod tests {
    use aws_sdk_athena::operation::get_work_group::GetWorkGroupError;
    use aws_sdk_athena::types::error::InvalidRequestException;
    use aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingError;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn invalid_request(message: &str) -> GetWorkGroupError {
        GetWorkGroupError::InvalidRequestException(
            InvalidRequestException::builder()
                .message(message)
                .meta(
                    ErrorMetadata::builder()
                        .code("InvalidRequestException")
                        .message(message)
                        .build(),
                )
                .build(),
        )
    }

    #[test]
    fn only_a_workgroup_athena_says_is_not_found_is_missing() {
        assert!(invalid_request("WorkGroup tgpipe is not found.").is_not_found());
        // Another invalid request (a bad name, a state) is an error to report, not a
        // workgroup to create or to call gone.
        assert!(
            !invalid_request("1 validation error detected: Value at 'workGroup'").is_not_found()
        );
    }

    #[test]
    fn an_s3_setting_not_set_is_told_by_its_own_code() {
        let error = |code: &str| {
            GetBucketTaggingError::generic(ErrorMetadata::builder().code(code).build())
        };
        assert!(error("NoSuchTagSet").is_not_found());
        assert!(!error("AccessDenied").is_not_found());
        assert!(s3_no_such_bucket(&error("NoSuchBucket")));
    }
}
