#!/usr/bin/env python3
"""Lambda benchmark: each `bootstrap` (as `scripts/lambdas` builds it with `cargo lambda build` for
provided.al2023) run under a local Lambda Runtime API, against the same Lambdas of a baseline
commit built as that commit's `scripts/test` built them, in one run.

    bench/lambda.py [--baseline 78fa119] [--events 1000] [--etl-updates 10000] [--starts 5]

For each function it prints the zip size, the cold start (process start to the first
invocation answered; the median of --starts fresh processes, alternating between the builds),
the warm latency (p50/p99 over
--events webhook events for ingest, each stored in a local directory; over 20 re-runs of one day
of --etl-updates updates for the ETL) and the peak RSS of the process, then the ratios
new/baseline. The baseline's zips are built once into bench-out/lambda/ (a git worktree of the
baseline commit). Run `scripts/dev-env` first (cargo-lambda)."""
import argparse, json, os, queue, shutil, statistics, subprocess, sys, tempfile, threading, time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench-out", "lambda")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
FIXTURE = os.path.join(ROOT, "lambdas", "ingest", "tests", "fixtures", "apigw-v2-webhook.json")
GROUP_ID = "-1001234567890"  # lake::sample::GROUP_ID, the group the sample updates are in
SECRET = "bench-secret-0123456789"
DAY = "2024-05-01"


class RuntimeApi:
    """The Lambda Runtime API: hands out one event at a time and times each answer."""

    def __init__(self):
        self.events = queue.Queue()
        self.answers = queue.Queue()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, code, body=b"", headers=()):
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.reply(404)
                request_id, body = api.events.get()
                api.sent = time.perf_counter()
                deadline = int(time.time() * 1000) + 900_000
                self.reply(200, body, [
                    ("Content-Type", "application/json"),
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn",
                     "arn:aws:lambda:eu-west-1:123456789012:function:bench"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
                ])

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                now = time.perf_counter()
                self.reply(202, b"{}", [("Content-Type", "application/json")])
                kind = "error" if self.path.endswith("/error") else "response"
                api.answers.put((now, kind, body))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, request_id, event):
        """Queues one event; returns (seconds from hand-out to answer, kind, body, answered at)."""
        self.events.put((request_id, json.dumps(event).encode()))
        answered, kind, body = self.answers.get(timeout=300)
        return answered - self.sent, kind, body, answered


# How the Lambdas were built before scripts/lambdas (both at once, one profile): the baseline is
# built that way; the current ones by scripts/lambdas itself.
BASELINE_BUILDS = [["--release", "-p", "ingest", "-p", "etl"]]


def build_head():
    subprocess.run([os.path.join(ROOT, "scripts", "lambdas")], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return {pkg: os.path.join(ROOT, "target", "lambda", pkg, "bootstrap.zip")
            for pkg in ("ingest", "etl")}


def build(src, target_dir, builds):
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"],
               XDG_CACHE_HOME=os.path.join(ROOT, ".cache"))
    if target_dir:
        env["CARGO_TARGET_DIR"] = target_dir
    for args in builds:
        subprocess.run(["cargo", "lambda", "build", "--output-format", "zip", *args], cwd=src,
                       env=env, check=True, stdout=subprocess.DEVNULL)
    base = target_dir or os.path.join(src, "target")
    return {pkg: os.path.join(base, "lambda", pkg, "bootstrap.zip") for pkg in ("ingest", "etl")}


def baseline_zips(ref):
    commit = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    src = os.path.join(OUT, f"src-{commit}")
    target = os.path.join(OUT, f"target-{commit}")
    if not os.path.isdir(src):
        subprocess.run(["git", "worktree", "add", "--detach", src, commit], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    zips = {pkg: os.path.join(target, "lambda", pkg, "bootstrap.zip") for pkg in ("ingest", "etl")}
    if not all(os.path.isfile(z) for z in zips.values()):
        zips = build(src, target, BASELINE_BUILDS)
    return commit, zips


def unpack(zip_path, into):
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(into)
    path = os.path.join(into, "bootstrap")
    os.chmod(path, 0o755)
    return path


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start(bootstrap, api, env):
    full = dict(
        PATH=os.environ["PATH"], AWS_LAMBDA_RUNTIME_API=api.address,
        AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/bench",
        AWS_LAMBDA_LOG_STREAM_NAME="bench", **env)
    started = time.perf_counter()
    proc = subprocess.Popen([bootstrap], env=full, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return proc, started


def stop(proc):
    rss = peak_rss_mib(proc.pid)
    proc.kill()
    proc.wait()
    return rss


def check(kind, body, want_status=None):
    if kind != "response":
        sys.exit(f"the function failed: {body[:300]!r}")
    if want_status is not None and json.loads(body).get("statusCode") != want_status:
        sys.exit(f"unexpected answer: {body[:300]!r}")


def cold_start(bootstrap, env, event, want_status):
    """Seconds from starting a fresh process to its first invocation answered."""
    # A Runtime API of its own for each process: a stopped one leaves a call waiting.
    api = RuntimeApi()
    proc, started = start(bootstrap, api, env)
    _, kind, body, answered = api.invoke("cold", event)
    check(kind, body, want_status)
    stop(proc)
    api.server.shutdown()
    return answered - started


def measure(bootstrap, env, first, warm, want_status):
    """Warm latencies over `warm` in one process, and its peak RSS."""
    api = RuntimeApi()
    proc, _ = start(bootstrap, api, env)
    _, kind, body, _ = api.invoke("first", first)
    check(kind, body, want_status)
    latencies = []
    for i, event in enumerate(warm):
        took, kind, body, _ = api.invoke(f"warm-{i}", event)
        check(kind, body, want_status)
        latencies.append(took)
    rss = stop(proc)
    api.server.shutdown()
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    return {"p50_ms": pick(0.50) * 1000, "p99_ms": pick(0.99) * 1000, "rss_mib": rss}


def webhook_events(updates):
    with open(FIXTURE) as f:
        template = json.load(f)
    events = []
    for update in updates:
        event = json.loads(json.dumps(template))
        event["headers"]["x-telegram-bot-api-secret-token"] = SECRET
        event["headers"]["content-length"] = str(len(update))
        event["body"] = update
        events.append(event)
    return events


def sample(work, updates, days):
    gen = os.path.join(ROOT, "target", "debug", "gen-updates")
    if not os.path.isfile(gen):
        subprocess.run(["cargo", "build", "-q", "-p", "testkit", "--bin", "gen-updates"], cwd=ROOT,
                       check=True)
    lake = os.path.join(work, "lake")
    jsonl = os.path.join(work, "updates.jsonl")
    subprocess.run([gen, lake, "--updates", str(updates), "--days", str(days), "--start", DAY,
                    "--jsonl", jsonl], check=True, stdout=subprocess.DEVNULL)
    with open(jsonl) as f:
        return lake, [line.rstrip("\n") for line in f]


def ingest_setup(events, work):
    raw = tempfile.mkdtemp(dir=work)
    env = dict(TGPIPE_RAW_BUCKET="file://" + raw, TGPIPE_ALLOWED_CHAT_IDS=GROUP_ID,
               TGPIPE_WEBHOOK_SECRET=SECRET, TGPIPE_TIMEZONE="UTC")
    return env, events[0], events[1:], 200


def etl_setup(lake, work):
    enriched = tempfile.mkdtemp(dir=work)
    env = dict(TGPIPE_RAW_BUCKET="file://" + os.path.join(lake, "raw"),
               TGPIPE_ENRICHED_BUCKET="file://" + enriched, TGPIPE_TIMEZONE="UTC")
    event = {"dates": [DAY]}
    return env, event, [event] * 20, None


def bench(pkg, bootstraps, setup, starts):
    """Figures of each build of one Lambda; cold starts alternate between the builds, so that
    neither gets a warmer machine."""
    colds = {label: [] for label in bootstraps}
    for i in range(starts):
        order = list(bootstraps) if i % 2 == 0 else list(reversed(bootstraps))
        for label in order:
            env, first, _, status = setup()
            colds[label].append(cold_start(bootstraps[label], env, first, status))
    figures = {}
    for label, bootstrap in bootstraps.items():
        env, first, warm, status = setup()
        figures[label] = measure(bootstrap, env, first, warm, status)
        figures[label]["cold_ms"] = statistics.median(colds[label]) * 1000
    return figures


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", default="78fa119", help="commit to compare with")
    p.add_argument("--events", type=int, default=1000)
    p.add_argument("--etl-updates", type=int, default=10000)
    p.add_argument("--starts", type=int, default=21)
    args = p.parse_args()
    if not os.path.isfile(os.path.join(VENV_BIN, "cargo-lambda")):
        sys.exit("run scripts/dev-env first (it installs cargo-lambda)")
    os.makedirs(OUT, exist_ok=True)
    print(f"building the Lambdas of HEAD and of {args.baseline} (once) ...", file=sys.stderr)
    commit, old = baseline_zips(args.baseline)
    new = build_head()
    work = tempfile.mkdtemp(prefix="tgpipe-bench-lambda-")
    try:
        lake, updates = sample(work, max(args.events + 1, args.etl_updates), 1)
        events = webhook_events(updates[: args.events + 1])
        setups = {"ingest": lambda: ingest_setup(events, work),
                  "etl": lambda: etl_setup(lake, work)}
        rows = []
        for pkg in ("ingest", "etl"):
            bootstraps = {label: unpack(zips[pkg], os.path.join(work, f"{pkg}-{label}"))
                          for label, zips in ((commit, old), ("HEAD", new))}
            figures = bench(pkg, bootstraps, setups[pkg], args.starts)
            for label, zips in ((commit, old), ("HEAD", new)):
                figures[label]["zip"] = os.path.getsize(zips[pkg])
            rows.append((pkg, figures[commit], figures["HEAD"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.events} webhook events for ingest; the ETL on one day of {args.etl_updates} updates")
    print(f"| Lambda | build | zip bytes | cold start ms | warm p50 ms | warm p99 ms | peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for pkg, a, b in rows:
        for label, f in ((commit, a), ("HEAD", b)):
            print(f"| {pkg} | {label} | {f['zip']:,} | {f['cold_ms']:.1f} | {f['p50_ms']:.2f} | "
                  f"{f['p99_ms']:.2f} | {f['rss_mib']:.1f} |")
        print(f"| {pkg} | HEAD/{commit} | {b['zip'] / a['zip']:.2f} | {b['cold_ms'] / a['cold_ms']:.2f} | "
              f"{b['p50_ms'] / a['p50_ms']:.2f} | {b['p99_ms'] / a['p99_ms']:.2f} | "
              f"{b['rss_mib'] / a['rss_mib']:.2f} |")


if __name__ == "__main__":
    main()
