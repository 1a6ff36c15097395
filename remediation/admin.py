"""The supervisors' review surface: typed, query-efficient, read-only admins over the domain.

Nothing here changes a status or a script's text directly. The review page's buttons post to small
admin views that call one service each (approve, reject, revise, comment, execute); a refusal from a
service (:class:`~remediation.errors.DomainError`) becomes an admin error message. Admin access
follows the product's roles (groups), not Django's per-model permissions: supervisors, operators and
viewers see what their service scope allows; only supervisors edit service budgets; nobody, not even a
superuser, adds, changes or deletes audit events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from remediation.access import (
    Role,
    audit_events_visible_to,
    has_role,
    notifications_visible_to,
    runs_visible_to,
    scripts_visible_to,
    service_scope,
)
from remediation.errors import DomainError, InvalidInput
from remediation.lifecycle import Actor, record_event
from remediation.models import (
    Agent,
    Anomaly,
    ApprovalDecision,
    AuditEvent,
    ExecutionLogLine,
    ExecutionRun,
    NotificationRecord,
    RemediationScript,
    ReviewComment,
    ServiceBudget,
    ValidationReport,
)
from remediation.services.approval import script_approve, script_reject
from remediation.services.execution import script_execute
from remediation.services.review import comment_create, revision_chain, revision_diff, script_revise

#: People who may open the admin at all; agents are programs and never use it.
PERSON_ROLES = (Role.SUPERVISOR, Role.OPERATOR, Role.VIEWER)
#: Log lines shown on a run's admin page; the live page streams the rest.
RUN_PAGE_LOG_LINES = 2000

BADGE_TONES: Mapping[str, str] = {
    # confidence levels
    "HIGH": "good",
    "MEDIUM": "warn",
    "LOW": "bad",
    # validation / approval / execution / run statuses
    "PASSED": "good",
    "APPROVED": "good",
    "SUCCESS": "good",
    "FAILED": "bad",
    "REJECTED": "bad",
    "ERRORED": "bad",
    "TIMED_OUT": "bad",
    "EXPIRED": "muted",
    "CANCELLED": "muted",
    "ROLLED_BACK": "muted",
    "REQUIRED": "warn",
    "QUEUED": "info",
    "RUNNING": "info",
    "CLAIMED": "info",
    "PENDING": "muted",
}


def badge(value: str, label: str | None = None) -> SafeString:
    """A coloured status pill; the value picks the colour, the text is escaped."""
    return format_html(
        '<span class="rem-badge rem-badge--{}">{}</span>', BADGE_TONES.get(value, "muted"), label or value
    )


def _subquery_count(model: type[Model], fk: str) -> Coalesce:
    """Count related rows in a correlated subquery: no GROUP BY over the outer row, no join fan-out."""
    counted = (
        model._default_manager.filter(**{fk: OuterRef("pk")}).order_by().values(fk).annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


class RoleAccessMixin:
    """Admin permissions from the product's roles: view for people with a role, nothing else by default."""

    #: Roles that may change (and add) rows through the plain admin form; empty means read-only.
    edit_roles: tuple[Role, ...] = ()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, *PERSON_ROLES)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role(request.user, *PERSON_ROLES)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(self.edit_roles) and has_role(request.user, *self.edit_roles)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(self.edit_roles) and has_role(request.user, *self.edit_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --------------------------------------------------------------------------------------------------
# Remediation scripts: the changelist and the review page
# --------------------------------------------------------------------------------------------------


class ReviewQueueFilter(admin.SimpleListFilter):
    """Where a script stands for the people reviewing it."""

    title = "review queue"
    parameter_name = "queue"

    QUEUES: Mapping[str, tuple[str, Q]] = {
        "awaiting": (
            "Awaiting approval",
            Q(approval_status="REQUIRED", validation_status="PASSED", is_current_revision=True),
        ),
        "failed": ("Failed validation", Q(validation_status="FAILED", is_current_revision=True)),
        "approved": ("Approved, not yet run", Q(approval_status="APPROVED", execution_status="PENDING")),
        "executing": ("Queued or running", Q(execution_status__in=["QUEUED", "RUNNING"])),
        "superseded": ("Superseded revisions", Q(is_current_revision=False)),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in self.QUEUES.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        chosen = self.QUEUES.get(self.value() or "")
        return queryset.filter(chosen[1]) if chosen else queryset


class VisibleServiceFilter(admin.SimpleListFilter):
    """Only the services the person is scoped to appear as choices."""

    title = "service"
    parameter_name = "service"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = (
            scripts_visible_to(request.user)
            .exclude(service="")
            .order_by("service")
            .values_list("service", flat=True)
            .distinct()
        )
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(service=self.value()) if self.value() else queryset


@dataclass
class ScriptLine:
    number: int
    text: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    comments: list[ReviewComment] = field(default_factory=list)

    @property
    def worst_severity(self) -> str:
        order = ["info", "low", "medium", "high", "critical"]
        ranks = [order.index(f["severity"]) for f in self.findings if f.get("severity") in order]
        return order[max(ranks)] if ranks else ""


@dataclass
class DiffLine:
    kind: str  # "add", "del", "hunk", "meta" or "ctx"
    text: str


@dataclass
class ReviewPage:
    """Everything the review page shows about one script, loaded in a fixed number of queries."""

    script: RemediationScript
    rca: dict[str, Any]
    evidence: list[dict[str, str]]
    parameters: list[tuple[str, str]]
    components: list[str]
    lines: list[ScriptLine]
    rollback_lines: list[ScriptLine]
    factors: list[tuple[str, str]]
    report: ValidationReport | None
    general_comments: list[ReviewComment]
    chain: list[RemediationScript]
    parent: RemediationScript | None
    newest: RemediationScript | None
    diff: list[DiffLine]
    decisions: list[ApprovalDecision]
    runs: Sequence[ExecutionRun]
    audit: list[AuditEvent]
    may_decide: bool
    may_operate: bool
    justification_required: bool


def _numbered(text: str | None) -> list[ScriptLine]:
    return [ScriptLine(number=n, text=line) for n, line in enumerate((text or "").splitlines(), start=1)]


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _evidence(rca: Mapping[str, Any]) -> list[dict[str, str]]:
    items = rca.get("evidence") or []
    if not isinstance(items, list):
        items = [items]
    shown = []
    for item in items:
        if isinstance(item, Mapping):
            shown.append({"kind": _as_text(item.get("kind", "")), "text": _as_text(item.get("text", item))})
        else:
            shown.append({"kind": "", "text": _as_text(item)})
    return shown


def _components(rca: Mapping[str, Any]) -> list[str]:
    shown = []
    for item in rca.get("affected_components") or []:
        if isinstance(item, Mapping):
            parts = [item.get("kind"), item.get("namespace"), item.get("name")]
            shown.append(" / ".join(_as_text(p) for p in parts if p))
        else:
            shown.append(_as_text(item))
    return shown


def _diff_lines(parent: RemediationScript, script: RemediationScript) -> list[DiffLine]:
    kinds = {"+": "add", "-": "del", "@": "hunk"}
    lines = []
    for raw in revision_diff(parent, script).splitlines():
        kind = "meta" if raw.startswith(("+++", "---")) else kinds.get(raw[:1], "ctx")
        lines.append(DiffLine(kind=kind, text=raw))
    return lines


def _revision_chain(script: RemediationScript) -> list[RemediationScript]:
    """The script's revisions, oldest first, with just the columns the review page shows."""
    return revision_chain(
        script,
        queryset=RemediationScript.objects.select_related("revised_by").only(
            "id",
            "revision",
            "parent_id",
            "generated_script",
            "generator",
            "created_at",
            "validation_status",
            "approval_status",
            "execution_status",
            "is_current_revision",
            "revised_by__username",
        ),
    )


def review_page_for(script: RemediationScript, user: Any) -> ReviewPage:
    rca = script.root_cause_analysis if isinstance(script.root_cause_analysis, dict) else {}
    report = script.validation_reports.order_by("-created_at").first()
    lines = _numbered(script.generated_script)
    rollback_lines = _numbered(script.rollback_script)
    if report is not None:
        for finding_list, numbered in ((report.findings, lines), (report.rollback_findings, rollback_lines)):
            for finding in finding_list or []:
                line = finding.get("line")
                if isinstance(line, int) and 1 <= line <= len(numbered):
                    numbered[line - 1].findings.append(finding)
    general_comments = []
    for comment in script.comments.select_related("author").order_by("created_at"):
        if comment.line and 1 <= comment.line <= len(lines):
            lines[comment.line - 1].comments.append(comment)
        else:
            general_comments.append(comment)
    chain = _revision_chain(script)
    by_id = {c.pk: c for c in chain}
    parent = by_id.get(script.parent_id) if script.parent_id else None
    newest = chain[-1] if chain and chain[-1].pk != script.pk else None
    runs = list(
        script.runs.select_related("claimed_by")
        .annotate(line_count=_subquery_count(ExecutionLogLine, "run"))
        .order_by("created_at")
    )
    audit = list(
        AuditEvent.objects.filter(
            Q(object_type="script", object_id=str(script.pk))
            | Q(object_type="execution_run", object_id__in=[str(run.pk) for run in runs])
        ).order_by("at", "id")
    )
    factors = [(name, _as_text(value)) for name, value in sorted((script.confidence_factors or {}).items())]
    return ReviewPage(
        script=script,
        rca=rca,
        evidence=_evidence(rca),
        parameters=[(str(k), _as_text(v)) for k, v in sorted((rca.get("parameters") or {}).items())],
        components=_components(rca),
        lines=lines,
        rollback_lines=rollback_lines,
        factors=factors,
        report=report,
        general_comments=general_comments,
        chain=chain,
        parent=parent,
        newest=newest,
        diff=_diff_lines(parent, script) if parent is not None else [],
        decisions=list(script.approval_decisions.select_related("actor").order_by("created_at")),
        runs=runs,
        audit=audit,
        may_decide=has_role(user, Role.SUPERVISOR),
        may_operate=has_role(user, Role.SUPERVISOR, Role.OPERATOR),
        justification_required=script.confidence_level == "LOW",
    )


ReviewAction = Callable[[HttpRequest, RemediationScript], RemediationScript | None]


def _line_number(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"Line {raw!r} is not a number.", field="line") from None


def _approve(request: HttpRequest, script: RemediationScript) -> RemediationScript | None:
    script_approve(script=script, user=request.user, justification=request.POST.get("justification", ""))
    messages.success(request, "Approval recorded.")
    return None


def _reject(request: HttpRequest, script: RemediationScript) -> RemediationScript | None:
    script_reject(script=script, user=request.user, justification=request.POST.get("justification", ""))
    messages.success(request, "Script rejected.")
    return None


def _revise(request: HttpRequest, script: RemediationScript) -> RemediationScript | None:
    revision = script_revise(
        script=script,
        user=request.user,
        generated_script=request.POST.get("generated_script", "").replace("\r\n", "\n"),
        rollback_script=request.POST.get("rollback_script", "").replace("\r\n", "\n") or None,
        note=request.POST.get("note", ""),
    )
    messages.success(request, f"Revision {revision.revision} created; validation {revision.validation_status}.")
    return revision


def _comment(request: HttpRequest, script: RemediationScript) -> RemediationScript | None:
    comment_create(
        script=script,
        user=request.user,
        body=request.POST.get("body", ""),
        line=_line_number(request.POST.get("line", "")),
    )
    messages.success(request, "Comment added.")
    return None


def _execute(request: HttpRequest, script: RemediationScript) -> RemediationScript | None:
    script_execute(script=script, user=request.user)
    messages.success(request, "Execution queued.")
    return None


REVIEW_ACTIONS: Mapping[str, ReviewAction] = {
    "approve": _approve,
    "reject": _reject,
    "revise": _revise,
    "comment": _comment,
    "execute": _execute,
}


@admin.register(RemediationScript)
class RemediationScriptAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    change_form_template = "admin/remediation/review/change_form.html"
    list_display = (
        "short_id",
        "service",
        "root_cause_category",
        "confidence",
        "validation",
        "approval",
        "execution",
        "template_display",
        "revision",
        "comment_count",
        "created_at",
    )
    list_display_links = ("short_id", "root_cause_category")
    list_select_related = ("template",)
    list_filter = (
        ReviewQueueFilter,
        "validation_status",
        "approval_status",
        "execution_status",
        "confidence_level",
        "needs_detailed_review",
        VisibleServiceFilter,
        "script_language",
    )
    search_fields = ("service", "root_cause_category")
    search_help_text = "Service, category, or the start of a script id."
    date_hierarchy = "created_at"
    list_per_page = 50
    # The change view is the review page; the plain form shows nothing editable.
    fields = ("service", "root_cause_category")

    class Media:
        css = {"all": ("remediation/review.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[RemediationScript]:
        return (
            scripts_visible_to(request.user)
            .defer("embedding")
            .annotate(comment_count=_subquery_count(ReviewComment, "script"))
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[RemediationScript], search_term: str
    ) -> tuple[QuerySet[RemediationScript], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lower()
        if term and len(term) >= 4 and all(c in "0123456789abcdef-" for c in term):
            results = results | queryset.filter(id__startswith=term)
        return results, may_have_duplicates

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # The review page and its action views both load the script; remember it for the request.
        cache: dict[str, Any] = request.__dict__.setdefault("_review_scripts", {})
        if object_id not in cache:
            queryset = self.get_queryset(request).select_related("template", "template_version")
            try:
                cache[object_id] = queryset.get(pk=object_id)
            except (RemediationScript.DoesNotExist, ValidationError, ValueError):
                cache[object_id] = None
        return cache[object_id]

    @admin.display(description="id", ordering="id")
    def short_id(self, obj: RemediationScript) -> str:
        return str(obj.pk)[:8]

    @admin.display(description="confidence", ordering="confidence_score")
    def confidence(self, obj: RemediationScript) -> SafeString:
        return format_html("{} {}", badge(obj.confidence_level), obj.confidence_score)

    @admin.display(description="validation", ordering="validation_status")
    def validation(self, obj: RemediationScript) -> SafeString:
        return badge(obj.validation_status)

    @admin.display(description="approval", ordering="approval_status")
    def approval(self, obj: RemediationScript) -> SafeString:
        return badge(obj.approval_status)

    @admin.display(description="execution", ordering="execution_status")
    def execution(self, obj: RemediationScript) -> SafeString:
        return badge(obj.execution_status)

    @admin.display(description="template", ordering="template__name")
    def template_display(self, obj: RemediationScript) -> str:
        return obj.template.name if obj.template else f"({obj.get_generator_display()})"

    @admin.display(description="comments", ordering="comment_count")
    def comment_count(self, obj: Any) -> int:
        return int(obj.comment_count)

    def get_urls(self) -> list[URLPattern]:
        action_view = self.admin_site.admin_view(self.review_action_view)
        return [
            path("<path:object_id>/review/<str:action>/", action_view, name="remediation_remediationscript_review"),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        script = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if script is not None and self.has_view_permission(request, script):
            context["review"] = review_page_for(script, request.user)
            context["title"] = f"Review: {script.root_cause_category} ({script.service or 'no service'})"
        return super().change_view(request, object_id, form_url, context)

    def review_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        script = self.get_object(request, unquote(object_id))
        handler = REVIEW_ACTIONS.get(action)
        if script is None or handler is None or not self.has_view_permission(request, script):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        target = script
        try:
            target = handler(request, script) or script
        except DomainError as exc:
            messages.error(request, f"{action.capitalize()} refused: {exc.message}")
        return HttpResponseRedirect(reverse("admin:remediation_remediationscript_change", args=[target.pk]))


# --------------------------------------------------------------------------------------------------
# Runs, audit, notifications, agents, budgets, anomalies
# --------------------------------------------------------------------------------------------------


def live_link(run: ExecutionRun) -> SafeString:
    return format_html('<a href="{}">live log</a>', reverse("remediation:execution-live", args=[run.pk]))


@admin.register(ExecutionRun)
class ExecutionRunAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "short_id",
        "script_link",
        "environment",
        "run_status",
        "exit_code",
        "attempt",
        "backend",
        "line_count",
        "created_at",
        "finished_at",
        "live",
    )
    list_filter = ("status", "environment", "backend", "rollback_status")
    list_select_related = ("script",)
    search_fields = ("script__service", "worker", "killed_reason")
    date_hierarchy = "created_at"
    exclude = ("log",)
    readonly_fields = ("log_lines",)
    actions = ["roll_back"]

    class Media:
        css = {"all": ("remediation/review.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExecutionRun]:
        return runs_visible_to(request.user).annotate(line_count=_subquery_count(ExecutionLogLine, "run"))

    @admin.action(description="Roll back the selected target runs")
    def roll_back(self, request: HttpRequest, queryset: QuerySet[ExecutionRun]) -> None:
        """One call per run through the rollback service (role, scope and state checks live there)."""
        from remediation.errors import DomainError
        from remediation.services.rollback import rollback_request

        for run in queryset.select_related("script"):
            try:
                rollback_request(run=run, user=request.user)
            except DomainError as refused:
                self.message_user(request, f"Run {str(run.pk)[:8]}: {refused.message}", messages.ERROR)
            else:
                self.message_user(request, f"Run {str(run.pk)[:8]}: rollback queued.", messages.SUCCESS)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        names = [f.name for f in self.model._meta.fields if f.name != "log"]
        return [*names, "live", "log_lines"]

    @admin.display(description="id", ordering="id")
    def short_id(self, obj: ExecutionRun) -> str:
        return str(obj.pk)[:8]

    @admin.display(description="script", ordering="script__root_cause_category")
    def script_link(self, obj: ExecutionRun) -> SafeString:
        url = reverse("admin:remediation_remediationscript_change", args=[obj.script_id])
        return format_html('<a href="{}">{} r{}</a>', url, obj.script.root_cause_category, obj.script.revision)

    @admin.display(description="status", ordering="status")
    def run_status(self, obj: ExecutionRun) -> SafeString:
        return badge(obj.status)

    @admin.display(description="lines", ordering="line_count")
    def line_count(self, obj: Any) -> int:
        return int(getattr(obj, "line_count", 0))

    @admin.display(description="live page")
    def live(self, obj: ExecutionRun) -> SafeString:
        return live_link(obj)

    @admin.display(description="log")
    def log_lines(self, obj: ExecutionRun) -> SafeString:
        rows = obj.log_lines.order_by("seq").values_list("seq", "stream", "text")[:RUN_PAGE_LOG_LINES]
        body = format_html_join(
            "",
            '<div class="rem-log__line rem-log__line--{}"><span class="rem-log__seq">{}</span>{}</div>',
            ((stream, seq, text) for seq, stream, text in rows),
        )
        return format_html('<div class="rem-log">{}</div>', body)


@admin.register(AuditEvent)
class AuditEventAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Append-only: no add, change or delete for anyone (the database refuses UPDATE and DELETE too)."""

    list_display = ("at", "actor_label", "actor_kind", "verb", "object_type", "object_id", "request_id")
    list_filter = ("actor_kind", "object_type", "verb")
    search_fields = ("object_id", "actor_label", "verb", "request_id")
    date_hierarchy = "at"
    readonly_fields = (
        "at",
        "actor_kind",
        "actor_label",
        "verb",
        "object_type",
        "object_id",
        "request_id",
        "before_json",
        "after_json",
        "details_json",
    )
    fields = readonly_fields
    list_per_page = 100

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return audit_events_visible_to(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _json(self, value: Any) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))

    @admin.display(description="before")
    def before_json(self, obj: AuditEvent) -> SafeString:
        return self._json(obj.before)

    @admin.display(description="after")
    def after_json(self, obj: AuditEvent) -> SafeString:
        return self._json(obj.after)

    @admin.display(description="details")
    def details_json(self, obj: AuditEvent) -> SafeString:
        return self._json(obj.details)


@admin.register(NotificationRecord)
class NotificationRecordAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """The notification list: everything the product sent or tried to send."""

    list_display = ("created_at", "event", "title", "severity", "delivery", "attempts", "sent_at")
    list_filter = ("status", "event", "severity")
    search_fields = ("title", "object_id", "event")
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationRecord]:
        return notifications_visible_to(request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    @admin.display(description="status", ordering="status")
    def delivery(self, obj: NotificationRecord) -> SafeString:
        tone = {"sent": "SUCCESS", "failed": "FAILED", "pending": "PENDING", "logged": "EXPIRED"}[obj.status]
        return badge(tone, obj.get_status_display())


@admin.register(Agent)
class AgentAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Agents are created with ``manage.py create_agent`` (which shows the token once); never shown here."""

    list_display = ("name", "user", "capability_list", "is_active", "last_seen", "created_at")
    list_filter = ("is_active",)
    list_select_related = ("user",)
    search_fields = ("name", "user__username")
    readonly_fields = ("id", "name", "user", "capabilities", "is_active", "last_seen", "created_at")
    fields = readonly_fields

    @admin.display(description="capabilities")
    def capability_list(self, obj: Agent) -> str:
        return ", ".join(obj.capabilities) or "-"


@admin.register(ServiceBudget)
class ServiceBudgetAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    edit_roles = (Role.SUPERVISOR,)
    list_display = (
        "service",
        "cpu_millicores",
        "memory_limit_mb",
        "time_limit_seconds",
        "auto_execute",
        "targets",
        "updated_at",
    )
    list_filter = ("auto_execute",)
    search_fields = ("service",)
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ServiceBudget]:
        scope = service_scope(request.user)
        queryset = super().get_queryset(request)
        return queryset if scope is None else queryset.filter(service__in=scope)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The service name is what scopes people (guardian permissions sit on the row): renaming it
        # would move everyone scoped to it onto another service.
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "service") if obj is not None else fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A person scoped to some services cannot create the budget of any service.
        return super().has_add_permission(request) and service_scope(request.user) is None

    @admin.display(description="allowed targets")
    def targets(self, obj: ServiceBudget) -> str:
        return ", ".join(obj.allowed_target_systems) or "any"

    def save_model(self, request: HttpRequest, obj: ServiceBudget, form: Any, change: bool) -> None:
        # Budgets bound what scripts may do; every edit leaves an audit event beside Django's admin log.
        changed = list(form.changed_data) if change else [f.name for f in obj._meta.fields if f.name != "id"]
        before = dict(form.initial) if change else {}
        super().save_model(request, obj, form, change)
        record_event(
            actor=Actor.of(request.user),
            verb="budget.updated" if change else "budget.created",
            object_type="service_budget",
            object_id=obj.pk,
            before={name: _jsonable(before.get(name)) for name in changed},
            after={name: _jsonable(getattr(obj, name, None)) for name in changed},
            details={"service": obj.service},
        )


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return [_jsonable(v) for v in value]
    return str(value)


@admin.register(Anomaly)
class AnomalyAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("title", "service", "severity_badge", "source", "script_count", "detected_at")
    list_filter = ("severity", "source")
    search_fields = ("title", "service")
    date_hierarchy = "detected_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Anomaly]:
        scope = service_scope(request.user)
        queryset = super().get_queryset(request).annotate(script_count=_subquery_count(RemediationScript, "anomaly"))
        return queryset if scope is None else queryset.filter(service__in=scope)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    @admin.display(description="severity", ordering="severity")
    def severity_badge(self, obj: Anomaly) -> SafeString:
        tone = {"critical": "FAILED", "high": "FAILED", "medium": "REQUIRED", "low": "PENDING"}.get(obj.severity, "")
        return badge(tone, obj.get_severity_display() or "-")

    @admin.display(description="scripts", ordering="script_count")
    def script_count(self, obj: Any) -> int:
        return int(obj.script_count)
