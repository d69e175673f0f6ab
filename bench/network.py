#!/usr/bin/env python3
"""Network benchmark: AWS calls and wall time of `tgpipe up` (first, and with nothing to change),
`status` and `down --delete-data`, with each AWS call delayed by 0 ms and by 60 ms (about what a
laptop sees from a nearby region), for this tree's CLI and a baseline commit's, in one run.

    bench/network.py [--baseline e31ccf7] [--latency 0,60] [--runs 3]

moto (from .venv) answers for AWS behind `aws-fault-proxy` (testkit's fault-injecting proxy,
here with latency only), which counts the calls; a small Bot API stand-in answers for Telegram.
Each figure is the median of --runs runs of the whole sequence on a fresh moto. The baseline's
CLI is built once from a git worktree into bench-out/network/ (sharing this tree's target
directory, so only tgpipe itself is compiled again). Run `scripts/dev-env` first (moto)."""
import argparse, json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time
import urllib.request, zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench-out", "network")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
# moto, plus the CBOR protocol CloudWatch's SDK speaks.
MOTO_SERVER = os.path.join(ROOT, "lambdas", "testkit", "moto_server.py")
TOKEN = "123456789:AAHbenchTOKENvalue_0123456789abcdef"
CHAT = "-1001234567890"
STEPS = ["first up", "no-op up", "status", "down"]


class BotApi:
    """The Bot API methods tgpipe calls, for one bot that is an admin of one supergroup."""

    def __init__(self):
        self.webhook = {}
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                params = json.loads(self.rfile.read(length) or b"{}")
                method = self.path.rsplit("/", 1)[-1]
                result = bot.answer(method, params)
                body = json.dumps({"ok": True, "result": result}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, method, params):
        if method == "getMe":
            return {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot",
                    "can_read_all_group_messages": True}
        if method == "setWebhook":
            self.webhook = params
            return True
        if method == "deleteWebhook":
            self.webhook = {}
            return True
        if method == "getWebhookInfo":
            info = {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": 0}
            if "allowed_updates" in self.webhook:
                info["allowed_updates"] = self.webhook["allowed_updates"]
            return info
        if method == "getChat":
            return {"id": int(CHAT), "type": "supergroup", "title": "Bench group"}
        if method == "getChatMember":
            return {"status": "administrator", "user": {"id": 1, "is_bot": True,
                                                        "first_name": "Bench"}}
        if method == "getChatMemberCount":
            return 12
        if method == "getUpdates":
            return []
        return True


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, method="GET", body=b""):
    request = urllib.request.Request(url, data=body or None, method=method)
    with urllib.request.urlopen(request, timeout=30) as r:
        return r.read()


class Moto:
    def __init__(self):
        port = free_port()
        self.proc = subprocess.Popen([os.path.join(VENV_BIN, "python"), MOTO_SERVER, "-H", "127.0.0.1",
                                      "-p", str(port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                http(self.url + "/moto-api/")
                break
            except OSError:
                time.sleep(0.1)
        http(self.url + "/moto-api/config", "POST", b'{"lambda": {"use_docker": false}}')

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Proxy:
    def __init__(self, binary, upstream, latency_ms):
        self.proc = subprocess.Popen([binary, "--upstream", upstream, "--latency-ms",
                                      str(latency_ms)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().split("listening on ", 1)[1].strip()

    def command(self, word):
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def cargo_build(cwd, args, env=None):
    subprocess.run(["cargo", "build", "--quiet", *args], cwd=cwd, check=True, env=env)


def baseline_cli(ref):
    commit = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    binary = os.path.join(OUT, f"tgpipe-{commit}")
    if os.path.isfile(binary):
        return commit, binary
    src = os.path.join(OUT, f"src-{commit}")
    if not os.path.isdir(src):
        os.makedirs(OUT, exist_ok=True)
        subprocess.run(["git", "worktree", "add", "--detach", src, commit], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    # This tree's target directory: the dependencies are shared, only tgpipe is built again.
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(ROOT, "target"))
    cargo_build(src, ["--bin", "tgpipe"], env)
    shutil.copy2(os.path.join(ROOT, "target", "debug", "tgpipe"), binary)
    return commit, binary


def artifacts(into):
    for name in ("ingest", "etl"):
        path = os.path.join(into, name, "bootstrap.zip")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with zipfile.ZipFile(path, "w") as z:
            z.comment = name.encode()
    return into


def sequence(binary, proxy_bin, latency, bot, work):
    """One run on a fresh moto: (calls, seconds) per step."""
    moto = Moto()
    proxy = Proxy(proxy_bin, moto.url, latency)
    env = dict(PATH=os.environ["PATH"], HOME=work, AWS_ENDPOINT_URL=proxy.url,
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_REGION="eu-west-1", TGPIPE_BOT_TOKEN=TOKEN, TGPIPE_TELEGRAM_API_URL=bot.url)
    commands = {
        "first up": ["up", "--chat-id", CHAT, "--artifacts", artifacts(os.path.join(work, "a"))],
        "status": ["status"],
        "down": ["down", "--yes", "--delete-data"],
    }
    commands["no-op up"] = commands["first up"]
    figures = {}
    try:
        for step in STEPS:
            proxy.command("reset")
            started = time.perf_counter()
            done = subprocess.run([binary, *commands[step]], env=env, capture_output=True,
                                  text=True)
            took = time.perf_counter() - started
            if done.returncode not in (0, 3):
                sys.exit(f"{step} failed ({done.returncode}):\n{done.stderr}")
            stats = proxy.command("stats")
            figures[step] = (stats["calls"], took, stats["operations"])
    finally:
        proxy.stop()
        moto.stop()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="e31ccf7",
                        help="commit to compare with (default: before the network work)")
    parser.add_argument("--latency", default="0,60", help="ms added per AWS call, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--detail", action="store_true",
                        help="also print this tree's calls per operation, step by step")
    args = parser.parse_args()
    if not os.path.isfile(os.path.join(VENV_BIN, "moto_server")):
        sys.exit("no .venv/bin/moto_server: run scripts/dev-env first")
    commit, old = baseline_cli(args.baseline)
    cargo_build(ROOT, ["--bin", "tgpipe", "-p", "tgpipe"])
    cargo_build(ROOT, ["--bin", "aws-fault-proxy", "-p", "testkit"])
    new = os.path.join(ROOT, "target", "debug", "tgpipe")
    proxy_bin = os.path.join(ROOT, "target", "debug", "aws-fault-proxy")
    bot = BotApi()
    latencies = [int(x) for x in args.latency.split(",")]
    print(f"AWS calls and wall time (median of {args.runs} runs; debug builds; moto on 127.0.0.1)")
    print(f"{'step':<10} {'ms/call':>7} | {'baseline ' + commit:>22} | {'this tree':>18} | ratio")
    for latency in latencies:
        results = {"old": [], "new": []}
        for _ in range(args.runs):
            for which, binary in (("old", old), ("new", new)):
                with tempfile.TemporaryDirectory() as work:
                    results[which].append(sequence(binary, proxy_bin, latency, bot, work))
        for step in STEPS:
            row = []
            for which in ("old", "new"):
                calls = statistics.median(r[step][0] for r in results[which])
                secs = statistics.median(r[step][1] for r in results[which])
                row.append((calls, secs))
            (oc, os_), (nc, ns) = row
            print(f"{step:<10} {latency:>7} | {oc:>6.0f} calls {os_:>7.2f} s | "
                  f"{nc:>4.0f} calls {ns:>6.2f} s | {ns / os_:.2f}")
        if args.detail:
            for step in STEPS:
                print(f"  {step}, this tree:")
                for op, n in sorted(results["new"][-1][step][2].items()):
                    print(f"    {n:>3}  {op}")


main()
