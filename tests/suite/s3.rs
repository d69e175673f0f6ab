//! The stack's buckets against moto: created with their whole configuration, left alone when
//! right, repaired when drifted, removed by `destroy` without touching data or other stacks.

use crate::common;

use aws_sdk_s3::Client;
use tgpipe::plan::State;
use tgpipe::plan::{Kind, Removal, Removed};
use tgpipe::stack::STACK_TAG;
use tgpipe::stack::s3::{self, BucketRole};

use crate::common::{REGION, mutating, stack};

async fn client(moto: &testkit::Moto) -> Client {
    tgpipe::aws::s3_client(&common::sdk_config(moto).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn buckets_are_created_configured_left_alone_repaired_and_removed() {
    let moto = testkit::Moto::start();
    let client = client(&moto).await;
    let c = common::clients(&moto).await;
    let a = stack("team-a");
    let b = stack("team-b");

    let before = common::ensure(&s3::Buckets, &c, &a, &common::names_only())
        .await
        .unwrap();
    assert!(
        before.iter().all(|r| r.state == State::Missing),
        "{before:?}"
    );
    common::ensure(&s3::Buckets, &c, &b, &common::names_only())
        .await
        .unwrap();

    // Every bucket, checked through the SDK, aspect by aspect.
    for role in BucketRole::ALL {
        let bucket = role.bucket(&a);
        let location = client
            .get_bucket_location()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        assert_eq!(
            location.location_constraint().map(|l| l.as_str()),
            Some(REGION)
        );
        let pab = client
            .get_public_access_block()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let pab = pab.public_access_block_configuration().unwrap();
        assert_eq!(
            (
                pab.block_public_acls(),
                pab.ignore_public_acls(),
                pab.block_public_policy(),
                pab.restrict_public_buckets()
            ),
            (Some(true), Some(true), Some(true), Some(true))
        );
        let enc = client
            .get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
        assert_eq!(
            rule.apply_server_side_encryption_by_default()
                .unwrap()
                .sse_algorithm()
                .as_str(),
            "AES256"
        );
        let policy = client
            .get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
        assert_eq!(policy["Statement"][0]["Effect"], "Deny");
        assert_eq!(
            policy["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
        let tags = client
            .get_bucket_tagging()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        assert!(
            tags.tag_set()
                .iter()
                .any(|t| t.key() == STACK_TAG && t.value() == "team-a")
        );
        let lifecycle = client
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let ids: Vec<&str> = lifecycle.rules().iter().filter_map(|r| r.id()).collect();
        assert!(ids.contains(&"tgpipe-abort-incomplete-uploads"), "{ids:?}");
        assert_eq!(
            ids.contains(&"tgpipe-expire-query-results"),
            role == BucketRole::Athena,
            "{ids:?}"
        );
    }

    // Nothing changed: a second run reads and writes nothing.
    moto.start_recording();
    let before = common::ensure(&s3::Buckets, &c, &a, &common::names_only())
        .await
        .unwrap();
    let calls = moto.recorded();
    assert!(
        before.iter().all(|r| r.state == State::Present),
        "{before:?}"
    );
    assert!(!calls.is_empty(), "the recorder saw the inspection");
    assert!(mutating(&calls).is_empty(), "{:?}", mutating(&calls));

    // Drift: encryption removed by hand is reported, then repaired with one call.
    client
        .delete_bucket_encryption()
        .bucket(a.raw_bucket())
        .send()
        .await
        .unwrap();
    let status = common::inspect(&s3::Buckets, &c, &a, None).await.unwrap();
    assert_eq!(
        status[0].state,
        State::Drifted(vec!["default encryption differs".into()])
    );
    assert!(status[1..].iter().all(|r| r.state == State::Present));
    moto.start_recording();
    common::ensure(&s3::Buckets, &c, &a, &common::names_only())
        .await
        .unwrap();
    let calls = moto.recorded();
    let writes = mutating(&calls);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].1.contains("encryption"), "{writes:?}");
    assert!(
        common::inspect(&s3::Buckets, &c, &a, None)
            .await
            .unwrap()
            .iter()
            .all(|r| r.state.is_ok())
    );

    // --dry-run changes nothing.
    client
        .delete_bucket_tagging()
        .bucket(a.athena_bucket())
        .send()
        .await
        .unwrap();
    moto.start_recording();
    let plan = common::inspect(&s3::Buckets, &c, &a, None).await.unwrap();
    assert!(mutating(&moto.recorded()).is_empty());
    assert_eq!(
        plan[2].state,
        State::Drifted(vec!["stack tag differs".into()])
    );
    common::ensure(&s3::Buckets, &c, &a, &common::names_only())
        .await
        .unwrap();

    // down: data kept unless asked, the other stack untouched. moto does not evaluate
    // aws:SecureTransport (to it every request is plain HTTP), so the set-up lifts the TLS-only
    // policy to seed an object, and `ensure` puts it back.
    client
        .delete_bucket_policy()
        .bucket(a.raw_bucket())
        .send()
        .await
        .unwrap();
    client
        .put_object()
        .bucket(a.raw_bucket())
        .key("telegram/context_date=2024-05-01/1.json")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        common::ensure(&s3::Buckets, &c, &a, &common::names_only())
            .await
            .unwrap()[0]
            .state,
        State::Drifted(vec!["TLS-only bucket policy differs".into()])
    );
    let removed = common::destroy(&s3::Buckets, &c, &a, &Default::default(), false)
        .await
        .unwrap();
    assert_eq!(
        removed,
        vec![
            Removed::new(Kind::Bucket, a.raw_bucket(), Removal::KeptWithData),
            Removed::new(Kind::Bucket, a.enriched_bucket(), Removal::Deleted),
            Removed::new(Kind::Bucket, a.athena_bucket(), Removal::Deleted),
        ]
    );
    // Likewise moto would refuse to delete the objects: the set-up lifts the policy again.
    client
        .delete_bucket_policy()
        .bucket(a.raw_bucket())
        .send()
        .await
        .unwrap();
    let removed = common::destroy(&s3::Buckets, &c, &a, &Default::default(), true)
        .await
        .unwrap();
    assert_eq!(
        removed[0],
        Removed::new(Kind::Bucket, a.raw_bucket(), Removal::Deleted)
    );
    assert_eq!(removed[1].removal, Removal::AlreadyGone);
    let status = common::inspect(&s3::Buckets, &c, &a, None).await.unwrap();
    assert!(
        status.iter().all(|r| r.state == State::Missing),
        "{status:?}"
    );
    let other = common::inspect(&s3::Buckets, &c, &b, None).await.unwrap();
    assert!(other.iter().all(|r| r.state == State::Present), "{other:?}");
}
