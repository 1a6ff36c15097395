"""The live execution page and its catch-up feed: access through runs_visible_to, escaped output."""

from __future__ import annotations

from collections.abc import Callable
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
