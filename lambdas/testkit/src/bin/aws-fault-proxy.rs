//! `aws-fault-proxy --upstream http://127.0.0.1:PORT [--latency-ms 60] [--failures 0.2]
//! [--drops 0] [--seed 1]`: [`testkit::FaultProxy`] for scripts (bench/network.py). Prints
//! `listening on http://127.0.0.1:PORT`, then serves until killed; each line on stdin is a
//! command: `stats` prints the calls so far as JSON, `reset` forgets them.

use std::io::BufRead;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let number = |flag: &str, default: f64| -> f64 {
        value(flag).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{flag} takes a number, not {v:?}"))
        })
    };
    let Some(upstream) = value("--upstream") else {
        eprintln!(
            "usage: aws-fault-proxy --upstream http://127.0.0.1:PORT [--latency-ms N] [--failures SHARE] [--drops SHARE] [--seed N]"
        );
        std::process::exit(2);
    };
    let proxy = testkit::FaultProxy::start(
        &upstream,
        testkit::FaultConfig {
            latency: Duration::from_secs_f64(number("--latency-ms", 0.0) / 1000.0),
            failures: number("--failures", 0.0),
            drops: number("--drops", 0.0),
            seed: number("--seed", 1.0) as u64,
            ..Default::default()
        },
    );
    println!("listening on {}", proxy.endpoint);
    for line in std::io::stdin().lock().lines() {
        match line.as_deref().map(str::trim) {
            Ok("stats") => {
                let s = proxy.stats();
                println!(
                    "{}",
                    serde_json::json!({"calls": s.calls, "failed": s.failed, "dropped": s.dropped, "operations": s.operations})
                );
            }
            Ok("reset") => {
                proxy.reset();
                println!("{{}}");
            }
            Ok(_) => println!("{{\"error\": \"commands: stats, reset\"}}"),
            Err(_) => break,
        }
    }
    // Standard input closed: serve on until killed.
    loop {
        std::thread::park();
    }
}
