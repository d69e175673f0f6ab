//! A stack in China's and in GovCloud's regions: every ARN it writes (policies, the functions'
//! roles, invoke permissions, the schedule's target, the API's integration, the alarms' topic)
//! names the region's own partition, not `aws`.

use crate::cli::{Env, TOKEN};
use crate::common;

/// Every `arn:PARTITION:` in `text`, as the partition named.
fn partitions(text: &str) -> Vec<String> {
    text.match_indices("arn:")
        .filter_map(|(at, _)| text[at + 4..].split(':').next().map(str::to_owned))
        .collect()
}

/// What the stack wrote that holds ARNs, as text.
async fn written(config: &aws_config::SdkConfig) -> String {
    let mut out = Vec::new();
    let iam = aws_sdk_iam::Client::new(config);
    let lambda = aws_sdk_lambda::Client::new(config);
    for f in ["tgpipe-ingest", "tgpipe-etl"] {
        let policy = iam
            .get_role_policy()
            .role_name(f)
            .policy_name(f)
            .send()
            .await;
        if let Ok(p) = policy {
            out.push(p.policy_document().to_owned());
        }
        let c = lambda
            .get_function_configuration()
            .function_name(f)
            .send()
            .await
            .unwrap();
        out.push(c.role().unwrap_or_default().to_owned());
        if let Ok(p) = lambda.get_policy().function_name(f).send().await {
            out.push(p.policy().unwrap_or_default().to_owned());
        }
    }
    let s3 = tgpipe::aws::s3_client(config);
    for b in s3.list_buckets().send().await.unwrap().buckets() {
        let p = s3
            .get_bucket_policy()
            .bucket(b.name().unwrap())
            .send()
            .await
            .unwrap();
        out.push(p.policy().unwrap_or_default().to_owned());
    }
    let events = aws_sdk_eventbridge::Client::new(config);
    let targets = events
        .list_targets_by_rule()
        .rule("tgpipe-etl-daily")
        .send()
        .await
        .unwrap();
    out.extend(targets.targets().iter().map(|t| t.arn().to_owned()));
    let api = aws_sdk_apigatewayv2::Client::new(config);
    let apis = api.get_apis().send().await.unwrap();
    let id = apis.items()[0].api_id().unwrap();
    let integrations = api.get_integrations().api_id(id).send().await.unwrap();
    out.extend(
        integrations
            .items()
            .iter()
            .filter_map(|i| i.integration_uri().map(str::to_owned)),
    );
    let alarms = aws_sdk_cloudwatch::Client::new(config)
        .describe_alarms()
        .send()
        .await
        .unwrap();
    for a in alarms.metric_alarms() {
        out.extend(a.alarm_actions().iter().cloned());
    }
    out.join("\n")
}

#[test]
fn a_stack_in_china_and_in_govcloud_names_its_own_partition_in_every_arn() {
    for (region, partition) in [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")] {
        let env = Env::new();
        let (code, out, err) = env.up(&["--region", region, "--alert-email", "ops@example.com"]);
        assert_eq!(code, 0, "{region}\n{out}\n{err}");
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mut config = rt.block_on(common::sdk_config(&env.moto)).into_builder();
        config.set_region(Some(aws_config::Region::new(region)));
        let text = rt.block_on(written(&config.build()));
        let named = partitions(&text);
        assert!(
            named.len() > 10,
            "{region}: too few ARNs to prove anything:\n{text}"
        );
        assert!(
            named.iter().all(|p| p == partition),
            "{region}: an ARN names another partition than {partition}:\n{text}"
        );
        // And a second `up` there finds everything as it made it.
        let (code, out, err) = env.up(&["--region", region]);
        assert_eq!(code, 0, "{region}\n{out}\n{err}");
        assert!(out.contains("no changes made"), "{region}\n{out}");
        let _ = TOKEN;
    }
}
