//! `status` and the ETL agree on which days the next scheduled run rebuilds: one rule
//! (`etl::scheduled_rebuilds`), read by `status` through the CLI's S3 client and by the ETL
//! through the lake's storage, on the same buckets.

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate, TimeDelta, Utc};
use lake::Storage;
use lake::layout;

use crate::cli::{Env, TOKEN};
use crate::common;

const RAW: &str = "tgpipe-123456789012-eu-west-1-raw";
const ENRICHED: &str = "tgpipe-123456789012-eu-west-1-enriched";

fn days_of(value: &serde_json::Value) -> BTreeSet<NaiveDate> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list of days: {value}"))
        .iter()
        .map(|d| layout::parse_day(d.as_str().unwrap()).unwrap())
        .collect()
}

fn stale_days(env: &Env) -> BTreeSet<NaiveDate> {
    let (_, out, err) = env.run(&["status", "--output", "json"], Some(TOKEN));
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    days_of(&report["stale_days"])
}

#[test]
fn status_lists_exactly_the_days_the_next_scheduled_run_rebuilds() {
    let env = Env::new();
    let (code, _, err) = env.up(&[]);
    assert_eq!(code, 0, "{err}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let options = env.moto.s3_options();
    let opts = || options.iter().map(|(k, v)| (*k, v.as_str()));
    let raw = Storage::open_with(&format!("s3://{RAW}"), opts()).unwrap();
    let enriched = Storage::open_with(&format!("s3://{ENRICHED}"), opts()).unwrap();
    let today = Utc::now().date_naive();
    let ago = |n| today.checked_sub_days(Days::new(n)).unwrap();
    let update = |id: i64| {
        bytes::Bytes::from(format!(
            r#"{{"update_id":{id},"message":{{"message_id":{id},"date":{},"chat":{{"id":-1001234567890,"type":"supergroup","title":"Team"}},"from":{{"id":7,"is_bot":false,"first_name":"Ana"}},"text":"hi"}}}}"#,
            Utc::now().timestamp()
        ))
    };
    let long_ago = Utc::now() - TimeDelta::days(400);
    let later = Utc::now() + TimeDelta::hours(1);
    rt.block_on(async {
        // moto applies the buckets' TLS-only policy to plain HTTP: lifted to seed the data.
        let s3 = tgpipe::aws::s3_client(&common::sdk_config(&env.moto).await);
        for bucket in [RAW, ENRICHED] {
            s3.delete_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .unwrap();
        }
        let built = |day, at| {
            let key = layout::built_key(day, at);
            let enriched = &enriched;
            async move { enriched.put(&key, "{}".into()).await }
        };
        // Today: updates and no Parquet yet.
        raw.put(&layout::raw_key(today, 1), update(1))
            .await
            .unwrap();
        // Yesterday: built after its updates came.
        raw.put(&layout::raw_key(ago(1), 2), update(2))
            .await
            .unwrap();
        built(ago(1), later).await.unwrap();
        // Three days ago: an update came after the day was built.
        built(ago(3), long_ago).await.unwrap();
        raw.put(&layout::raw_key(ago(3), 3), update(3))
            .await
            .unwrap();
        // A month ago, built since, but marked as changed late: the mark decides.
        raw.put(&layout::raw_key(ago(30), 4), update(4))
            .await
            .unwrap();
        built(ago(30), later).await.unwrap();
        raw.put(&layout::changed_key(ago(30), 4), "".into())
            .await
            .unwrap();
        // 400 days ago, never built (an import without its ETL, a failing ETL): it waits however old.
        raw.put(&layout::raw_key(ago(400), 5), update(5))
            .await
            .unwrap();
    });

    let listed = stale_days(&env);
    let expected = BTreeSet::from([today, ago(3), ago(30), ago(400)]);
    assert_eq!(listed, expected);

    // A listing that starts within the clock margin of an update may have missed it, so such a
    // day stays stale: the run waits that out, for the day to be done once rebuilt.
    std::thread::sleep(
        (etl::S3_CLOCK_MARGIN + TimeDelta::seconds(1))
            .to_std()
            .unwrap(),
    );
    // The ETL's scheduled run, on the same buckets: the same days, no more, no fewer.
    let config = etl::Config {
        raw,
        enriched,
        tz: chrono_tz::UTC,
    };
    let summary = rt
        .block_on(etl::run(&config, etl::Request::Scheduled(None), Utc::now()))
        .unwrap();
    let rebuilt: BTreeSet<NaiveDate> = summary.days.iter().map(|d| d.date).collect();
    assert_eq!(rebuilt, listed, "{summary:?}");
    assert!(
        summary.days.iter().all(|d| d.error.is_none()),
        "{summary:?}"
    );
    // Rebuilt, nothing is left for the next run, and status says so.
    assert_eq!(stale_days(&env), BTreeSet::new());
}
