"""Checks every analysis of sql/ on a lake, three ways.

    sql_check.py TGPIPE LAKE_DIR ZONE

1. `tgpipe query NAME --local LAKE_DIR` (the embedded engine) must equal what this script computes
   on its own from the raw updates under LAKE_DIR/raw (plain Python: no SQL, no Parquet).
2. Every file must parse as Trino SQL with sqlglot.
3. DuckDB, running sqlglot's Trino→DuckDB transpilation of the same file on the same Parquet,
   must return the same rows as the embedded engine.

Exits non-zero naming every analysis that differs. Needs sqlglot and duckdb (scripts/dev-env)."""
import collections, datetime as dt, glob, json, os, subprocess, sys, unicodedata, zoneinfo

import duckdb, sqlglot

TGPIPE, LAKE, ZONE = sys.argv[1], sys.argv[2], sys.argv[3]
SQL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sql")
TZ = zoneinfo.ZoneInfo(ZONE)


# --- The table, rebuilt from the raw updates -------------------------------------------------

def messages():
    """One dict per message: the row the enriched table should hold (edits folded in)."""
    by_key = {}
    for path in glob.glob(os.path.join(LAKE, "raw", "telegram", "context_date=*", "*.json")):
        day = path.split("context_date=")[1].split(os.sep)[0]
        with open(path, encoding="utf-8") as f:
            update = json.load(f)
        for kind in ("message", "channel_post", "edited_message", "edited_channel_post"):
            if kind in update:
                m = update[kind]
                break
        else:
            continue
        edit = kind.startswith("edited_")
        # One row per message and day: the ETL rebuilds each day on its own.
        key = (day, m["chat"]["id"], m["message_id"])
        entry = by_key.setdefault(key, {"original": None, "edits": [], "day": day})
        if edit:
            entry["edits"].append((m.get("edit_date", 0), update["update_id"], m))
        elif entry["original"] is None or update["update_id"] < entry["original"][0]:
            entry["original"] = (update["update_id"], m)
    rows = []
    for (_, chat, mid), e in by_key.items():
        base = e["original"][1] if e["original"] else min(e["edits"], key=lambda x: x[1])[2]
        text = base.get("text")
        if e["edits"]:
            text = max(e["edits"], key=lambda x: (x[0], x[1]))[2].get("text")
        sender = base.get("from")
        reply = base.get("reply_to_message")
        rows.append({
            "message_id": mid, "chat_id": chat, "date": base["date"], "text": text,
            "user_id": sender["id"] if sender else None,
            "user_first_name": sender.get("first_name") if sender else None,
            "user_is_bot": sender.get("is_bot") if sender else None,
            "reply_to_message_id": reply["message_id"] if reply else None,
            "context_date": e["day"], "message_type": kind_of(base),
            "chat_title": base["chat"].get("title"), "chat_type": base["chat"].get("type"),
        })
    return rows


# An animation also carries a document and a venue a location: those come first.
TYPES = ["text", "photo", "video", "animation", "audio", "voice", "video_note", "document",
         "sticker", "venue", "location", "contact", "poll", "dice"]
# The service messages the sample updates hold (Telegram has more).
SERVICE = ["new_chat_members", "left_chat_member", "pinned_message", "new_chat_title"]


def kind_of(m):
    for t in TYPES:
        if t in m:
            return t
    return "service" if any(f in m for f in SERVICE) else "other"


def local(ts):
    return dt.datetime.fromtimestamp(ts, TZ)


STOP = None  # the stop-word list is data of top_words.sql; read from there


def words(text):
    # Lower-case; drop every character that is not a letter, digit or space; split on the rest.
    cleaned = "".join(c for c in text.lower() if unicodedata.category(c)[0] in "LN" or c.isspace())
    return cleaned.split()


def expected(name, rows):
    users = [r for r in rows if r["user_id"] is not None]
    count = collections.Counter
    if name == "messages_per_day":
        c = count(r["context_date"] for r in rows)
        return [[d, c[d]] for d in sorted(c)]
    if name == "messages_per_user_per_day":
        c = count((r["user_id"], r["user_first_name"], r["context_date"]) for r in users)
        return sorted([[u, n, d, k] for (u, n, d), k in c.items()],
                      key=lambda x: (x[2], -x[3], x[0], x[1]))
    if name == "avg_length_per_user_per_day":
        lengths = collections.defaultdict(list)
        for r in users:
            if r["text"] is not None:
                lengths[(r["user_id"], r["user_first_name"], r["context_date"])].append(len(r["text"]))
        out = [[u, n, d, int(sum(v) / len(v) + 0.5)] for (u, n, d), v in lengths.items()]
        return sorted(out, key=lambda x: (x[2], -x[3], x[0], x[1]))
    if name == "activity_by_hour_weekday_week":
        c = count((t.isocalendar()[0], t.isocalendar()[1], t.isoweekday(), t.hour)
                  for t in (local(r["date"]) for r in rows))
        return [list(k) + [c[k]] for k in sorted(c)]
    if name == "busiest_hours":
        c = count(local(r["date"]).hour for r in rows)
        return [[h, c[h]] for h in sorted(c)]
    if name == "bots_vs_humans":
        c = count(r["user_is_bot"] for r in users)
        return [[b, c[b]] for b in sorted(c)]
    if name == "user_share":
        c = count(r["user_id"] for r in users)
        names = collections.defaultdict(list)
        for r in users:
            names[r["user_id"]].append(r["user_first_name"])
        total = sum(c.values())
        out = [[u, max(names[u]), k, round(k / total, 4)] for u, k in c.items()]
        return sorted(out, key=lambda x: (-x[2], x[0]))
    if name == "reply_time":
        by_key = {(r["chat_id"], r["message_id"]): r for r in rows}
        secs, names = collections.defaultdict(list), collections.defaultdict(list)
        for r in users:
            o = by_key.get((r["chat_id"], r["reply_to_message_id"]))
            if r["reply_to_message_id"] is not None and o:
                secs[r["user_id"]].append(r["date"] - o["date"])
                names[r["user_id"]].append(r["user_first_name"])
        out = []
        for u, v in secs.items():
            v.sort()
            n = len(v)
            median = float(v[n // 2]) if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
            out.append([u, max(names[u]), n, median])
        return sorted(out, key=lambda x: (-x[2], x[0]))
    if name == "message_types":
        c = count(r["message_type"] for r in rows)
        return sorted([[t, k] for t, k in c.items()], key=lambda x: (-x[1], x[0]))
    if name == "top_words":
        c = count(w for r in rows if r["text"] is not None for w in words(r["text"])
                  if len(w) > 1 and w not in STOP)
        return sorted([[w, k] for w, k in c.items()], key=lambda x: (-x[1], x[0]))[:100]
    if name == "chats":
        out = []
        for chat in sorted({r["chat_id"] for r in rows}):
            mine = [r for r in rows if r["chat_id"] == chat]
            latest = max(mine, key=lambda r: (r["date"], r["message_id"]))
            days = [r["context_date"] for r in mine]
            out.append([chat, latest["chat_title"], latest["chat_type"], len(mine), min(days), max(days)])
        return sorted(out, key=lambda x: (-x[3], x[0]))
    raise SystemExit(f"no independent computation for {name}: add one to {__file__}")


# --- Engines ---------------------------------------------------------------------------------

def tgpipe(name):
    out = subprocess.run([TGPIPE, "query", name, "--local", LAKE, "--format", "json",
                          "--timezone", ZONE], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"tgpipe query {name} failed: {out.stderr}")
    rows = json.loads(out.stdout)
    return [list(r.values()) for r in rows], (list(rows[0].keys()) if rows else None)


def duck():
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{ZONE}'")
    parquet = os.path.join(LAKE, "enriched", "telegram", "*", "*.parquet")
    con.execute(f"CREATE VIEW telegram AS SELECT * FROM read_parquet('{parquet}', "
                "hive_partitioning = true, hive_types = {'context_date': 'DATE'})")
    return con


def norm(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if not same([x], [y]):
            return f"row {i + 1}: {x} against {y}"
    return f"{len(a)} rows against {len(b)}"


def same(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if len(x) != len(y):
            return False
        for u, v in zip(x, y):
            u, v = norm(u), norm(v)
            if isinstance(u, float) or isinstance(v, float):
                if u is None or v is None or abs(u - v) > 1e-9 * max(1, abs(u)):
                    return False
            elif u != v:
                return False
    return True


def main():
    global STOP
    rows = messages()
    assert rows, f"no messages under {LAKE}/raw"
    con = duck()
    failures = []
    names = sorted(f[:-4] for f in os.listdir(SQL_DIR) if f.endswith(".sql"))
    for name in names:
        with open(os.path.join(SQL_DIR, name + ".sql"), encoding="utf-8") as f:
            sql = f.read().replace("${timezone}", ZONE)
        if name == "top_words":
            tree = sqlglot.parse_one(sql, read="trino")
            in_list = next(n for n in tree.find_all(sqlglot.exp.In) if n.expressions)
            STOP = {e.this for e in in_list.expressions}
        ours, columns = tgpipe(name)
        want = expected(name, rows)
        if not same(ours, want):
            failures.append(f"{name}: the local engine and the raw updates differ at "
                            + first_difference(ours, want))
            continue
        try:
            sqlglot.parse_one(sql, read="trino")
            duck_sql = sqlglot.transpile(sql, read="trino", write="duckdb")[0]
        except sqlglot.errors.ParseError as e:
            failures.append(f"{name}: not Trino SQL: {e}")
            continue
        result = con.execute(duck_sql)
        theirs = [list(r) for r in result.fetchall()]
        duck_columns = [d[0] for d in result.description]
        if not same(ours, theirs) or (columns and columns != duck_columns):
            failures.append(f"{name}: the local engine {columns} and DuckDB {duck_columns} differ at "
                            + first_difference(ours, theirs))
            continue
        print(f"ok  {name}: {len(ours)} rows, same as the raw updates and DuckDB")
    if failures:
        print("\n".join("FAIL " + f for f in failures))
        sys.exit(1)


main()
