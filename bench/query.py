#!/usr/bin/env python3
"""Query benchmark: every analysis of sql/ on `tgpipe query --local` (the embedded engine)
against DuckDB on the same Parquet, in one run, as ratios.

    bench/query.py [--days 10] [--per-day 100000] [--runs 3] [--timezone UTC]

Generates --days days of --per-day updates with the project's generator (`gen-updates`, once,
kept in bench-out/), turns them into Parquet with the ETL binary, then times each analysis, the median of
--runs alternating runs each, engine against engine:

- tgpipe: the time `tgpipe query NAME --local DIR` reports on stderr, from opening the lake
  (listing the table, registering the functions) to the whole answer in memory;
- DuckDB: in this process, from a fresh connection (time zone set, a view over the lake's
  Parquet) through sqlglot's Trino->DuckDB transpilation of the same file to `fetchall()`.

Neither side counts starting a process or printing; the whole `tgpipe` process time is shown
too. Target: no analysis above 1.5x DuckDB's time. Also prints the Parquet bytes against the raw
JSON bytes. Needs `cargo build --release -p tgpipe -p etl -p testkit` and `scripts/dev-env`
(duckdb, sqlglot); run it with .venv/bin/python."""
import argparse, datetime as dt, json, os, re, statistics, subprocess, sys, time

import duckdb, sqlglot

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN = os.path.join(ROOT, "target", "release", "gen-updates")
TGPIPE = os.path.join(ROOT, "target", "release", "tgpipe")
ETL = os.path.join(ROOT, "target", "release", "etl")
START = "2024-05-01"


def size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def lake(days, per_day):
    path = os.path.join(ROOT, "bench-out", f"query-{days}x{per_day}")
    stamp = os.path.join(path, "done")
    if not os.path.exists(stamp):
        subprocess.run(["rm", "-rf", path], check=True)
        subprocess.run([GEN, path, "--updates", str(days * per_day), "--days", str(days),
                        "--start", START, "--seed", "7"], check=True)
        first = dt.date.fromisoformat(START)
        dates = [str(first + dt.timedelta(days=d)) for d in range(days)]
        env = dict(os.environ, TGPIPE_RAW_BUCKET=f"file://{path}/raw",
                   TGPIPE_ENRICHED_BUCKET=f"file://{path}/enriched")
        subprocess.run([ETL, "--event", json.dumps({"dates": dates})], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        open(stamp, "w").close()
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--per-day", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timezone", default="UTC")
    a = ap.parse_args()
    for binary in (TGPIPE, ETL, GEN):
        if not os.path.exists(binary):
            sys.exit(f"{binary} is missing: cargo build --release -p tgpipe -p etl -p testkit")
    path = lake(a.days, a.per_day)
    raw, parquet = size(os.path.join(path, "raw")), size(os.path.join(path, "enriched"))

    glob = os.path.join(path, "enriched", "telegram", "*", "*.parquet")

    def ours(name):
        """(engine seconds as tgpipe reports them, whole process seconds)."""
        t = time.perf_counter()
        run = subprocess.run([TGPIPE, "query", name, "--local", path, "--format", "csv",
                              "--timezone", a.timezone], check=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        whole = time.perf_counter() - t
        took = re.search(r" in ([0-9.]+) s$", run.stderr.strip())
        if not took:
            sys.exit(f"tgpipe printed no timing: {run.stderr!r}")
        return float(took.group(1)), whole

    def theirs(sql):
        t = time.perf_counter()
        con = duckdb.connect()
        con.execute(f"SET TimeZone = '{a.timezone}'")
        con.execute(f"CREATE VIEW telegram AS SELECT * FROM read_parquet('{glob}', "
                    "hive_partitioning = true, hive_types = {'context_date': 'DATE'})")
        con.execute(sql).fetchall()
        took = time.perf_counter() - t
        con.close()
        return took

    names = sorted(f[:-4] for f in os.listdir(os.path.join(ROOT, "sql")) if f.endswith(".sql"))
    print(f"{a.days} days x {a.per_day:,} updates; median of {a.runs} runs; {os.cpu_count()} cores")
    print(f"{'analysis':32} {'tgpipe s':>9} {'duckdb s':>9} {'ratio':>6} {'process s':>10}")
    worst = 0.0
    for name in names:
        with open(os.path.join(ROOT, "sql", name + ".sql"), encoding="utf-8") as f:
            sql = f.read().replace("${timezone}", a.timezone)
        duck_sql = sqlglot.transpile(sql, read="trino", write="duckdb")[0]
        ours(name), theirs(duck_sql)  # warm the page cache for both
        mine, whole, other = [], [], []
        for _ in range(a.runs):
            engine, process = ours(name)
            mine.append(engine)
            whole.append(process)
            other.append(theirs(duck_sql))
        m, o = statistics.median(mine), statistics.median(other)
        worst = max(worst, m / o)
        print(f"{name:32} {m:9.3f} {o:9.3f} {m / o:6.2f} {statistics.median(whole):10.3f}")
    print(f"worst ratio {worst:.2f} (target <= 1.5)")
    print(f"raw JSON {raw / 1e6:,.1f} MB, Parquet {parquet / 1e6:,.1f} MB: "
          f"{parquet / raw:.3f} of the raw bytes ({raw / parquet:.1f}x smaller)")


main()
