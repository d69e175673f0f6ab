"""Opens a `tgpipe report` page in headless Chromium and says what a reader would get.

    report.py PAGE.html OUT_DIR

Drives Chromium over the DevTools protocol (websocket-client, from scripts/dev-env) and prints
one JSON document on stdout:

- `requests`: every URL the page asked for other than itself (a self-contained page asks none);
- `console`: console messages, uncaught exceptions and browser log entries (a blocked load shows
  here as a Content-Security-Policy error);
- `title`, `messages`: the page's heading and its message count;
- `tables`: every `table[data-analysis]`, as rows of cells `{"text", "value"}` (`value` is the
  cell's `data-value`, the analysis's own figure);
- `phone`: on a 390 px wide phone screen, the page's width and the smallest text size in px;
- `screenshots`: PNG files written to OUT_DIR (the whole page on a desktop, and a phone's first
  screens).

Chromium comes from $CHROMIUM, else `chromium` on PATH (Debian's package)."""
import base64, json, os, shutil, subprocess, sys, tempfile, threading, time

import websocket

PAGE, OUT = os.path.abspath(sys.argv[1]), sys.argv[2]
URL = "file://" + PAGE

READ_PAGE = r"""(() => {
  const tables = {};
  for (const t of document.querySelectorAll('table[data-analysis]')) {
    tables[t.dataset.analysis] = [...t.tBodies[0].rows].map(r => [...r.cells].map(c => ({
      text: c.textContent.trim(), value: c.dataset.value === undefined ? null : c.dataset.value })));
  }
  const m = document.getElementById('messages');
  return {title: document.querySelector('h1').textContent, messages: m && m.dataset.value,
          tables};
})()"""

READ_LAYOUT = r"""(() => {
  let smallest = 1000;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || !el.getClientRects().length) continue;
    if (el.closest('details:not([open])')) continue;
    smallest = Math.min(smallest, parseFloat(getComputedStyle(el).fontSize));
  }
  return {width: document.documentElement.scrollWidth, viewport: window.innerWidth,
          smallest_text_px: smallest};
})()"""


class Browser:
    def __init__(self):
        binary = os.environ.get("CHROMIUM") or shutil.which("chromium")
        if not binary:
            sys.exit("no Chromium: set CHROMIUM or install Debian's `chromium` (scripts/chromium)")
        self.profile = tempfile.mkdtemp(prefix="tgpipe-chromium-")
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        url = self._devtools_url()
        self.ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.next_id, self.events = 0, []

    def _devtools_url(self):
        found, lines = [], []

        def read():
            for line in self.proc.stderr:
                lines.append(line)
                if "DevTools listening on " in line:
                    found.append(line.split("DevTools listening on ", 1)[1].strip())
                    break

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(60)
        if not found:
            self.close()
            sys.exit("Chromium did not start:\n" + "".join(lines[-20:]))
        # Keep draining stderr so that Chromium never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        return found[0]

    def call(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    sys.exit(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if any(e.get("method") == method for e in self.events):
                return
            self.ws.settimeout(max(0.1, deadline - time.time()))
            try:
                self.events.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                break
        sys.exit(f"the page did not fire {method} within {seconds} s")

    def drain(self, seconds):
        """Takes the events that arrive in the next `seconds` (late loads, late errors)."""
        self.ws.settimeout(seconds)
        try:
            while True:
                self.events.append(json.loads(self.ws.recv()))
        except websocket.WebSocketTimeoutException:
            pass
        self.ws.settimeout(60)

    def close(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def value(b, expression, session):
    result = b.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                    session)
    if "exceptionDetails" in result:
        sys.exit(f"reading the page failed: {result['exceptionDetails']}")
    return result["result"]["value"]


def screenshot(b, session, path, full):
    params = {"format": "png"}
    if full:
        size = b.call("Page.getLayoutMetrics", {}, session)["cssContentSize"]
        params.update(captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                            "scale": 1})
    data = b.call("Page.captureScreenshot", params, session)["data"]
    with open(path, "wb") as f:
        f.write(base64.b64decode(data))
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    b = Browser()
    try:
        target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.call(f"{domain}.enable", {}, s)
        b.call("Emulation.setDeviceMetricsOverride",
               {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, s)
        b.call("Page.navigate", {"url": URL}, s)
        b.wait_for("Page.loadEventFired")
        b.drain(1.0)
        page = value(b, READ_PAGE, s)
        shots = [screenshot(b, s, os.path.join(OUT, "report-desktop.png"), full=True)]
        b.call("Emulation.setDeviceMetricsOverride",
               {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}, s)
        b.drain(0.5)
        phone = value(b, READ_LAYOUT, s)
        shots.append(screenshot(b, s, os.path.join(OUT, "report-phone.png"), full=False))
        b.drain(0.5)
    finally:
        b.close()
    requests = [e["params"]["request"]["url"] for e in b.events
                if e.get("method") == "Network.requestWillBeSent"]
    console = []
    for e in b.events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled":
            console.append(f"console.{p['type']}: " + " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            console.append("exception: " + p["exceptionDetails"].get("text", ""))
        elif method == "Log.entryAdded":
            console.append(f"log {p['entry']['level']}: {p['entry']['text']}")
    json.dump({
        "requests": [u for u in requests if u != URL],
        "console": console,
        "title": page["title"],
        "messages": page["messages"],
        "tables": page["tables"],
        "phone": phone,
        "screenshots": shots,
    }, sys.stdout, ensure_ascii=False, indent=1)


main()
