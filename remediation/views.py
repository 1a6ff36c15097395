"""Plain Django pages: the live execution page and the JSON feed it catches up from.

Both are thin: load the run through :func:`remediation.access.runs_visible_to` (a run outside the
person's scope is a 404, not a 403, so its existence is not revealed) and render.
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET

from remediation.access import runs_visible_to
from remediation.lifecycle import RUN_TERMINAL
from remediation.models import ExecutionRun

LOGIN_URL = reverse_lazy("admin:login")
#: Lines rendered into the page; the rest arrive through the catch-up feed and the websocket.
PAGE_LINES = 5000
#: Lines per catch-up response.
FEED_LINES = 1000


def _visible_run(request: HttpRequest, run_id: uuid.UUID) -> ExecutionRun:
    return get_object_or_404(runs_visible_to(request.user).select_related("script"), pk=run_id)


@require_GET
@login_required(login_url=LOGIN_URL)
def execution_live(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = _visible_run(request, run_id)
    lines = list(run.log_lines.order_by("seq").values("seq", "stream", "text")[:PAGE_LINES])
    config = {
        "runId": str(run.pk),
        "socketPath": f"/ws/executions/{run.pk}/",
        "linesUrl": str(reverse_lazy("remediation:execution-lines", args=[run.pk])),
        "terminal": run.status in RUN_TERMINAL,
    }
    context = {
        **admin.site.each_context(request),
        "run": run,
        "script": run.script,
        "lines": lines,
        "live_config": config,
        "is_terminal": run.status in RUN_TERMINAL,
    }
    return render(request, "remediation/execution_live.html", context)


@require_GET
@login_required(login_url=LOGIN_URL)
def execution_lines(request: HttpRequest, run_id: uuid.UUID) -> JsonResponse:
    """Lines after ``?after=<seq>`` and the current status: fills the gap between page load and socket."""
    run = _visible_run(request, run_id)
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    lines = list(run.log_lines.filter(seq__gt=after).order_by("seq").values("seq", "stream", "text")[:FEED_LINES])
    return JsonResponse({"status": run.status, "exit_code": run.exit_code, "lines": lines})
