#!/usr/bin/env python3
"""Opens lockhound's HTML report in a real headless Chromium and checks it as a person would.

Drives Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: NUL-separated
JSON on file descriptors 3 and 4), with the standard library only:

  - the page loads with no exception, no console error and no request but its own file;
  - every finding of the report (the JSON report of the same run: --expect) is on the page and
    visible;
  - unticking a check's box with a real mouse click hides exactly that type's findings, ticking
    it again shows them; the class filter shows exactly the findings naming the class;
  - the address ?type=T opens the page filtered to T;
  - a finding's class link leads to the class's node in the graph, and clicking the node leads
    back to a finding of that class;
  - a screenshot of the whole page is saved (--screenshot).

Exit 0 when all hold; 1 with the reasons otherwise; 77 when Chromium is not installed.
"""
import argparse
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse


class Browser:
    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="lockhound-chromium-")
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4: the shell puts the pipes
        # there just before it becomes Chromium.
        shell = f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}'
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--disable-dev-shm-usage",
                 "--user-data-dir=" + self.profile, "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(["/bin/sh", "-c", shell, chromium] + flags, pass_fds=(to_chrome_r, from_chrome_w),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.w = os.fdopen(to_chrome_w, "wb", buffering=0)
        self.r = os.fdopen(from_chrome_r, "rb", buffering=0)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self.r.fileno(), 65536)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.w.write(json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=30):
        deadline = time.time() + timeout
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def open_page(self):
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})

    def navigate(self, url):
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")
        self.eval("new Promise(r => setTimeout(r, 50))")

    def eval(self, expr):
        res = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            raise RuntimeError(f"evaluating {expr!r}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def click(self, selector):
        """A real mouse click in the middle of the element (scrolled into view first)."""
        box = self.eval(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            if (!e) return null; e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2]; }})()""")
        if box is None:
            raise RuntimeError(f"nothing to click at {selector}")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent",
                      {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})
        self.eval("new Promise(r => setTimeout(r, 50))")

    def problems(self):
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:400])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                out.append("console " + p["type"] + ": " + json.dumps(p.get("args", []))[:400])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                out.append("log: " + p["entry"].get("text", "")[:400])
        return out

    def requests(self):
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, path):
        height = self.eval("Math.ceil(document.documentElement.scrollHeight)")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": min(int(height), 16000), "deviceScaleFactor": 1, "mobile": False})
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


VISIBLE = """(() => Array.from(document.querySelectorAll('article.finding'))
    .filter(a => !a.hidden && a.offsetParent !== null).map(a => a.id))()"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("html")
    ap.add_argument("--expect", required=True, help="the JSON report of the same findings")
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--graph", action="store_true", help="the page must have an SVG graph")
    args = ap.parse_args()
    if not os.path.exists(args.chromium):
        print("skipped: chromium is not installed (scripts/setup.sh installs it)")
        return 77

    expected = [f for f in json.load(open(args.expect))["findings"] if f["type"] != "guarded_cycle"]
    url = "file://" + urllib.parse.quote(os.path.abspath(args.html))
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
        return cond

    b = Browser(args.chromium)
    try:
        b.open_page()
        b.navigate(url)
        check(b.eval("document.documentElement.getAttribute('data-ready')") == "1", "the page's script did not finish")
        # Every finding is there, visible, with its summary and its fix.
        ids = b.eval(VISIBLE)
        check(len(ids) == len(expected), f"{len(ids)} findings visible, the report has {len(expected)}")
        text = b.eval("document.body.innerText")
        for f in expected:
            check(f["summary"] in text, f"summary not on the page: {f['summary']!r}")
            check(f["fix"] in text, f"fix not on the page: {f['fix'][:80]!r}")
        check(b.eval("document.getElementById('shown-count').textContent")
              == f"{len(expected)} of {len(expected)} findings shown", "the count line is wrong")
        if args.graph:
            check(b.eval("!!document.querySelector('#graph-svg svg g.node')"), "no SVG graph on the page")

        # The type filter, clicked: one type off hides exactly its findings, on again shows all.
        types = sorted({f["type"] for f in expected})
        by_type = {t: sum(1 for f in expected if f["type"] == t) for t in types}
        t = max(types, key=lambda x: by_type[x])
        b.click(f"#type-{t}")
        after = b.eval(VISIBLE)
        check(len(after) == len(expected) - by_type[t],
              f"unticking {t}: {len(after)} visible, expected {len(expected) - by_type[t]}")
        hidden_types = b.eval("""Array.from(document.querySelectorAll('article.finding'))
            .filter(a => !a.hidden).map(a => a.dataset.type)""")
        check(t not in hidden_types, f"a {t} finding is still shown after unticking it")
        check(f"type=" in b.eval("location.search"), "the filter is not kept in the address")
        b.click(f"#type-{t}")
        check(len(b.eval(VISIBLE)) == len(expected), "ticking the type again did not show every finding")

        # The class filter: exactly the findings that name the class.
        cls = expected[0]["classes"][0] if expected[0]["classes"] else None
        if check(cls is not None, "the first finding names no class"):
            b.eval(f"""(() => {{ const s = document.getElementById('class-filter'); s.value = {json.dumps(cls)};
                s.dispatchEvent(new Event('change')); }})()""")
            want = sum(1 for f in expected if cls in f["classes"])
            check(len(b.eval(VISIBLE)) == want, f"class {cls}: {len(b.eval(VISIBLE))} visible, expected {want}")
            b.click("#show-all")
            check(len(b.eval(VISIBLE)) == len(expected), "'show all' did not show every finding")

        # A filtered address.
        b.navigate(url + "?type=" + urllib.parse.quote(t))
        check(len(b.eval(VISIBLE)) == by_type[t], f"?type={t}: {len(b.eval(VISIBLE))} visible, expected {by_type[t]}")
        b.navigate(url)

        # Finding -> graph node -> finding.
        link = b.eval("(() => { const a = document.querySelector('article.finding a.classlink'); "
                      "return a ? [a.getAttribute('href'), a.textContent] : null; })()")
        if check(link is not None, "no class link in the findings"):
            b.click("article.finding a.classlink")
            check(b.eval("location.hash") == link[0], f"the class link did not lead to {link[0]}")
            check(b.eval(f"!!document.querySelector({json.dumps(link[0])})"), f"no element {link[0]} on the page")
            if args.graph:
                check(b.eval(f"document.querySelector({json.dumps(link[0])}).classList.contains('hl')"),
                      "the node is not highlighted")
                b.click(link[0])
                vis = b.eval(VISIBLE)
                want = [f"finding-{i + 1}" for i, f in enumerate(expected) if link[1] in f["classes"]]
                check(sorted(vis) == sorted(want), f"clicking node {link[1]}: {vis}, expected {want}")
                top = b.eval(f"document.getElementById({json.dumps(want[0] if want else '')})?.getBoundingClientRect().top")
                check(top is not None and -5 <= top < 450, f"the first finding of {link[1]} is not in view ({top})")
            b.click("#show-all")

        for p in b.problems():
            failures.append(p)
        page_requests = [u for u in b.requests() if not u.startswith("file://") and u != "about:blank"]
        check(not page_requests, f"the page made requests: {page_requests}")
        files = {u.split("?")[0] for u in b.requests() if u.startswith("file://")}
        check(files <= {url}, f"the page loaded other files: {files - {url}}")
        b.eval("window.scrollTo(0, 0)")
        b.screenshot(args.screenshot)
    finally:
        b.close()

    if failures:
        print("FAILED:")
        for f in failures:
            print("  " + f)
        return 1
    print(f"ok: {len(expected)} findings, filters by type and class, graph links; screenshot {args.screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
