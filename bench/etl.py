#!/usr/bin/env python3
"""ETL benchmark: tgpipe's ETL (the Lambda's own binary, on a local directory) against reference
baselines on the same day folder, in one run, as ratios. The baselines (pyarrow, DuckDB and the
course's algorithm, `etl_baselines.py`) are an external cross-check kept outside the repository
(TGPIPE_SHARED, default ../shared); without them, tgpipe's own figures are printed alone.

    bench/etl.py [--runs 3] [--updates 100000] [--seed-updates 10000]

Prints wall time, updates per second and peak memory (RSS) of each whole process, the median of
--runs alternating runs, and the ratios. Targets: >= 3x the throughput of `pyarrow` with no more
peak memory, and >= 50x that of `seed`. Run `scripts/dev-env` first (pyarrow, duckdb).
`--duckdb` adds DuckDB's JSON reader on the large day (it takes minutes there)."""
import argparse, json, os, statistics, subprocess, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("TGPIPE_SHARED", os.path.join(ROOT, "..", "shared"))
BASELINES = os.path.join(SHARED, "bench", "etl_baselines.py")
GEN = os.path.join(ROOT, "target", "release", "gen-updates")
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
ETL = os.path.join(ROOT, "target", "release", "etl")
DAY = "2024-05-01"


def timed(cmd, env=None):
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", out.name, *cmd], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        wall, kb = out.read().split()[-2:]
    return float(wall), int(kb) / 1024


def lake(name, updates):
    path = os.path.join(ROOT, "bench-out", name)
    day_dir = os.path.join(path, "raw", "telegram", f"context_date={DAY}")
    if not os.path.isdir(day_dir) or len(os.listdir(day_dir)) != updates:
        subprocess.run(["rm", "-rf", path], check=True)
        subprocess.run([GEN, path, "--updates", str(updates), "--start", DAY, "--seed", "7"],
                       check=True)
    return path, day_dir


def ours(path):
    env = dict(os.environ, TGPIPE_RAW_BUCKET=f"file://{path}/raw",
               TGPIPE_ENRICHED_BUCKET=f"file://{path}/enriched")
    return timed([ETL, "--event", json.dumps({"dates": [DAY]})], env)


def baseline(name, day_dir, path):
    return timed([PYTHON, BASELINES, name, day_dir, os.path.join(path, f"{name}.parquet")])


def compare(updates, baselines, runs):
    path, day_dir = lake(f"lake{updates}", updates)
    results = {"tgpipe": []} | {b: [] for b in baselines}
    ours(path)  # warm the page cache so that no side pays for the first read
    for _ in range(runs):
        results["tgpipe"].append(ours(path))
        for b in baselines:
            results[b].append(baseline(b, day_dir, path))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(m for _, m in v)) for k, v in results.items()}
    print(f"\n{updates:,} updates in one day, median of {runs} runs")
    print(f"  {'':8} {'wall s':>8} {'updates/s':>11} {'peak MB':>8}")
    for k, (wall, mb) in med.items():
        print(f"  {k:8} {wall:8.2f} {updates / wall:11,.0f} {mb:8.0f}")
    ours_wall, ours_mb = med["tgpipe"]
    for b in baselines:
        wall, mb = med[b]
        print(f"  tgpipe vs {b}: {wall / ours_wall:.1f}x the throughput, {ours_mb / mb:.2f}x the peak memory")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--updates", type=int, default=100_000)
    ap.add_argument("--seed-updates", type=int, default=10_000)
    ap.add_argument("--duckdb", action="store_true",
                    help="also run the duckdb baseline (slow: minutes on 100,000 files)")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "etl", "-p", "testkit"],
                   cwd=ROOT, check=True)
    if not os.path.isfile(BASELINES):
        print(f"baselines skipped: {BASELINES} is not here (set TGPIPE_SHARED to compare)")
        compare(a.updates, [], a.runs)
        return
    compare(a.updates, ["pyarrow"] + (["duckdb"] if a.duckdb else []), a.runs)
    compare(a.seed_updates, ["seed"], a.runs)


if __name__ == "__main__":
    main()
