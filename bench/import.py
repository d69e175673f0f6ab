#!/usr/bin/env python3
"""Import benchmark: peak memory of `tgpipe import` on a large Telegram Desktop export, against
loading the same file whole (Python's json.load, what a naive importer does), in one run.

    bench/import.py [--messages 1000000] [--binary target/release/tgpipe]

Writes an export of --messages messages in the real format's fields (about 330 bytes each) to a
temporary directory, imports it into a local lake with --no-etl (the import alone: the ETL's
memory is a day's rows, measured by bench/etl.py), and prints wall time and peak RSS of each
process and their ratio. Target: the import's peak memory stays a small constant, far below the
file's size, whatever the size."""
import argparse, json, os, subprocess, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd):
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", out.name, *cmd], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall, kb = out.read().split()[-2:]
    return float(wall), int(kb) / 1024


def write_export(path, messages):
    start = 1714554000
    with open(path, "w") as f:
        f.write('{\n "name": "Bench group",\n "type": "private_supergroup",\n "id": 1234567890,\n'
                ' "messages": [\n')
        for i in range(1, messages + 1):
            t = start + i * 30
            text = f"message {i} about the quarterly numbers and what comes next 🚀"
            m = {"id": i, "type": "message", "date": "2024-05-01T06:00:00",
                 "date_unixtime": str(t), "from": f"User {i % 50}", "from_id": f"user{1000 + i % 50}",
                 "text": text, "text_entities": [{"type": "plain", "text": text}]}
            if i % 7 == 0:
                m["reply_to_message_id"] = i - 1
            f.write(("  " if i == 1 else ",\n  ") + json.dumps(m, ensure_ascii=False))
        f.write("\n ]\n}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "tgpipe"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export = os.path.join(tmp, "result.json")
        write_export(export, args.messages)
        size = os.path.getsize(export) / 2**20
        wall, rss = timed([args.binary, "import", export, "--local", os.path.join(tmp, "lake"),
                           "--no-etl"])
        objects = sum(len(files) for _, _, files in os.walk(os.path.join(tmp, "lake", "raw")))
        assert objects == args.messages, f"{objects} objects for {args.messages} messages"
        base_wall, base_rss = timed(["python3", "-c",
                                     f"import json; json.load(open({export!r}))"])
    print(f"export: {args.messages} messages, {size:.0f} MiB")
    print(f"tgpipe import  {wall:8.1f} s  peak {rss:7.0f} MiB  ({args.messages / wall:,.0f} messages/s)")
    print(f"json.load      {base_wall:8.1f} s  peak {base_rss:7.0f} MiB")
    print(f"peak memory: tgpipe import / json.load = {rss / base_rss:.3f}; / file size = {rss / size:.3f}")


if __name__ == "__main__":
    main()
