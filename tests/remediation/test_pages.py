"""The live execution page and its catch-up feed: access through runs_visible_to, escaped output."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from remediation.models import ExecutionLogLine, ExecutionRun
from tests.factories import ScriptFactory

pytestmark = pytest.mark.django_db

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def run() -> ExecutionRun:
    script = ScriptFactory(service="checkout-api", approval_status="APPROVED")
    run = ExecutionRun.objects.create(
        script=script,
        environment="sandbox",
        status="RUNNING",
        idempotency_key=f"{script.pk}:sandbox:1",
        script_sha256=script.script_sha256,
    )
    for seq, (stream, text) in enumerate([("stdout", "checking /"), ("stderr", HOSTILE), ("stdout", "freed 2G")], 1):
        ExecutionLogLine.objects.create(run=run, seq=seq, stream=stream, text=text)
    return run


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_live_page_shows_stored_lines_in_order_escaped(run: ExecutionRun, operator: Any) -> None:
    response = logged_in(operator).get(reverse("remediation:execution-live", args=[run.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index('data-seq="1"') < page.index('data-seq="2"') < page.index('data-seq="3"')
    assert HOSTILE not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert f"/ws/executions/{run.pk}/" in page  # the socket path handed to live.js
    assert "remediation/live.js" in page
    assert 'id="rem-live-status"' in page and ">RUNNING<" in page


def test_anonymous_is_sent_to_login(run: ExecutionRun) -> None:
    response = Client().get(reverse("remediation:execution-live", args=[run.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_outsider_gets_404(run: ExecutionRun, make_person: Callable[..., Any]) -> None:
    outsider = make_person("operator", services=("billing",), username="billing-op")
    client = logged_in(outsider)
    assert client.get(reverse("remediation:execution-live", args=[run.pk])).status_code == 404
    assert client.get(reverse("remediation:execution-lines", args=[run.pk])).status_code == 404


def test_lines_feed_returns_lines_after_seq_and_status(run: ExecutionRun, viewer: Any) -> None:
    response = logged_in(viewer).get(reverse("remediation:execution-lines", args=[run.pk]), {"after": "1"})
    body = response.json()
    assert [line["seq"] for line in body["lines"]] == [2, 3]
    assert body["lines"][0] == {"seq": 2, "stream": "stderr", "text": HOSTILE}
    assert body["status"] == "RUNNING" and body["exit_code"] is None
    garbage = logged_in(viewer).get(reverse("remediation:execution-lines", args=[run.pk]), {"after": "x"}).json()
    assert len(garbage["lines"]) == 3


def test_live_js_never_uses_inner_html() -> None:
    from django.conf import settings

    source = (settings.BASE_DIR / "static" / "remediation" / "live.js").read_text()
    assert "innerHTML" not in source.replace("never innerHTML", "")
    assert "textContent" in source


#: Drives static/remediation/live.js under node with fake DOM, WebSocket and fetch (no browser needed).
LIVE_JS_HARNESS = r"""
// Minimal DOM + WebSocket + fetch fakes to drive static/remediation/live.js under node.
const fs = require("fs");
const vm = require("vm");

class Node {
  constructor(tag) { this.tag = tag; this.children = []; this.attrs = {}; this._text = ""; this.parent = null;
    this.className = ""; this.scrollTop = 0; this.clientHeight = 0; this.scrollHeight = 0; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  appendChild(c) { c.parent = this; this.children.push(c); return c; }
  insertBefore(c, ref) { c.parent = this; const i = ref ? this.children.indexOf(ref) : -1;
    if (i < 0) { this.children.push(c); } else { this.children.splice(i, 0, c); } return c; }
  querySelectorAll(sel) { return this.children.filter((c) => c.getAttribute("data-seq") !== null); }
  get textContent() { return this.tag === "#text" ? this._text : this.children.map((c) => c.textContent).join("") + this._text; }
  set textContent(v) { this.children = []; this._text = String(v); }
  set innerHTML(v) { throw new Error("innerHTML used"); }
}
function line(seq, text) { const n = new Node("div"); n.setAttribute("data-seq", seq);
  const s = new Node("span"); s.textContent = String(seq); n.appendChild(s); const t = new Node("#text"); t._text = text; n.appendChild(t); return n; }

const config = JSON.parse(process.argv[3]);
const nodes = { "rem-live-config": Object.assign(new Node("script"), {}), "rem-live-log": new Node("div"),
  "rem-live-status": new Node("strong"), "rem-live-exit": new Node("span"), "rem-live-connection": new Node("span") };
nodes["rem-live-config"].textContent = JSON.stringify(config);
for (const [seq, text] of JSON.parse(process.argv[4])) { nodes["rem-live-log"].appendChild(line(seq, text)); }
const feed = JSON.parse(process.argv[5]);
const events = JSON.parse(process.argv[6]);
const sockets = [];
const fetched = [];
const sandbox = {
  document: { getElementById: (id) => nodes[id] || null, createElement: (t) => new Node(t),
    createTextNode: (t) => { const n = new Node("#text"); n._text = String(t); return n; } },
  window: { location: { protocol: "http:", host: "testserver" }, setTimeout: () => 0 },
  WebSocket: function (url) { this.url = url; sockets.push(this); },
  fetch: (url) => { fetched.push(url); return Promise.resolve({ ok: true, json: () => Promise.resolve(feed) }); },
  Set, Number, String, Boolean, JSON, Math, Array, Promise, console,
};
vm.createContext(sandbox);
vm.runInContext(fs.readFileSync(process.argv[2], "utf8"), sandbox);
(async () => {
  const socket = sockets[0];
  socket.onopen();
  await new Promise((r) => setTimeout(r, 10));
  for (const e of events) { socket.onmessage({ data: JSON.stringify(e) }); }
  socket.close = () => { socket.closed = true; };
  await new Promise((r) => setTimeout(r, 10));
  const log = nodes["rem-live-log"].children.map((c) => [Number(c.getAttribute("data-seq")), c.children[1].textContent]);
  console.log(JSON.stringify({ url: socket.url, fetched, log, status: nodes["rem-live-status"].textContent,
    exit: nodes["rem-live-exit"].textContent, connection: nodes["rem-live-connection"].textContent }));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_live_js_orders_dedupes_and_keeps_the_final_status(tmp_path: Path) -> None:
    from django.conf import settings

    harness = tmp_path / "harness.js"
    harness.write_text(LIVE_JS_HARNESS)
    config = {"runId": "r1", "socketPath": "/ws/executions/r1/", "linesUrl": "/executions/r1/lines", "terminal": False}
    rendered = [[1, "a"], [2, "b"]]
    # The catch-up feed overlaps the page (seq 2) and the socket (seq 4) and reports a stale status.
    feed = {
        "status": "RUNNING",
        "exit_code": None,
        "lines": [{"seq": 2, "stream": "stdout", "text": "b"}, {"seq": 4, "stream": "stdout", "text": "d"}],
    }
    events = [
        {"type": "log", "seq": 3, "stream": "stderr", "text": "<b>c</b>"},
        {"type": "log", "seq": 4, "stream": "stdout", "text": "d"},
        {"type": "log", "seq": 1, "stream": "stdout", "text": "a"},
        {"type": "status", "status": "SUCCESS", "exit_code": 0},
        {"type": "log", "seq": 5, "stream": "stdout", "text": "e"},
    ]
    script = settings.BASE_DIR / "static" / "remediation" / "live.js"
    completed = subprocess.run(
        [
            "node",
            str(harness),
            str(script),
            json.dumps(config),
            json.dumps(rendered),
            json.dumps(feed),
            json.dumps(events),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result = json.loads(completed.stdout)
    assert result["url"] == "ws://testserver/ws/executions/r1/"
    assert result["fetched"][0] == "/executions/r1/lines?after=2"
    assert result["log"] == [[1, "a"], [2, "b"], [3, "<b>c</b>"], [4, "d"], [5, "e"]]  # ordered, once each, as text
    assert result["status"] == "SUCCESS" and result["exit"] == "exit code 0"
    assert result["connection"] == "finished"
