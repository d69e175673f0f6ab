//! The stack's bucket names are predictable (name, account, region): another account could
//! hold one. Every S3 call names the stack's account as the expected owner, so that S3 refuses
//! instead of tgpipe reading, writing or emptying someone else's bucket.

use crate::common;
use crate::network::{Net, ok};

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_bucket_that_another_account_owns_is_never_emptied_or_read() {
    let net = Net::new(testkit::FaultConfig::default());
    ok("up", net.up());
    let raw = common::stack("tgpipe").raw_bucket();
    let config = common::sdk_config(&net.moto).await;
    let s3 = tgpipe::aws::s3_client(&config);
    // moto applies the TLS-only Deny to its plain-HTTP calls: lifted to seed an object.
    s3.delete_bucket_policy().bucket(&raw).send().await.unwrap();
    s3.put_object()
        .bucket(&raw)
        .key("telegram/context_date=2026-12-01/1.json")
        .body(b"{\"update_id\":1}".to_vec().into())
        .send()
        .await
        .unwrap();
    // From now on S3 answers as it would were the bucket another account's.
    net.proxy.set_config(testkit::FaultConfig {
        bucket_owners: vec![(raw.clone(), "999999999999".into())],
        ..Default::default()
    });
    let (code, out, err) = net.run(&["status"]);
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(err.contains("AccessDenied") && err.contains(&raw), "{err}");
    let (code, out, err) = net.run(&["down", "--yes", "--delete-data"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("AccessDenied"), "{err}");
    let left = s3.list_objects_v2().bucket(&raw).send().await.unwrap();
    assert_eq!(left.key_count(), Some(1), "the object is still there");
    assert!(net.proxy.stats().failed > 0);
}
