"""Templates in the admin: read-only heads with their immutable versions, and quarantine release.

Templates change through the API (templates_app.services.template_update writes a new version and
checks the definition); the admin shows them and lets a supervisor release a quarantined template
with a written justification, which lands in the audit trail.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from remediation.access import Role, has_role, proposals_visible_to
from remediation.admin import RoleAccessMixin, badge
from remediation.errors import DomainError
from remediation.lifecycle import Actor
from templates_app.models import RemediationTemplate, TemplateProposal, TemplateVersion
from templates_app.services import template_release


class TemplateVersionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TemplateVersion
    extra = 0
    can_delete = False
    fields = ("version", "checksum_short", "created_by", "change_note", "created_at", "content")
    readonly_fields = fields
    ordering = ("-version",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[TemplateVersion]:
        return super().get_queryset(request).select_related("created_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # the parent admin already checked the person's role

    @admin.display(description="checksum")
    def checksum_short(self, obj: TemplateVersion) -> str:
        return obj.checksum[:12]

    @admin.display(description="content")
    def content(self, obj: TemplateVersion) -> SafeString:
        return format_html(
            '<details><summary>{} lines</summary><pre class="rem-mono">{}</pre></details>',
            len(obj.template_content.splitlines()),
            obj.template_content,
        )


@admin.register(RemediationTemplate)
class RemediationTemplateAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "root_cause_category",
        "script_language",
        "version",
        "is_active",
        "quarantine",
        "success_count",
        "failure_count",
        "success_rate",
        "updated_at",
    )
    list_filter = ("is_quarantined", "is_active", "script_language", "source", "root_cause_category")
    search_fields = ("name", "root_cause_category", "description")
    inlines = (TemplateVersionInline,)
    actions = ("release_from_quarantine",)

    class Media:
        css = {"all": ("remediation/review.css",)}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    @admin.display(description="quarantine", ordering="is_quarantined")
    def quarantine(self, obj: RemediationTemplate) -> SafeString:
        return badge("FAILED", "quarantined") if obj.is_quarantined else badge("PENDING", "no")

    @admin.display(description="success (smoothed)")
    def success_rate(self, obj: RemediationTemplate) -> str:
        return f"{obj.smoothed_success_rate:.0%}"

    def has_release_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, Role.SUPERVISOR)

    @admin.action(description="Release from quarantine (justification required)", permissions=["release"])
    def release_from_quarantine(
        self, request: HttpRequest, queryset: QuerySet[RemediationTemplate]
    ) -> HttpResponse | None:
        justification = request.POST.get("justification", "").strip()
        if "confirm" not in request.POST or not justification:
            if "confirm" in request.POST:
                messages.error(request, "Releasing a quarantined template needs a justification.")
            context = {
                **self.admin_site.each_context(request),
                "title": "Release templates from quarantine",
                "opts": self.model._meta,
                "templates": list(queryset),
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/templates_app/release_confirmation.html", context)
        for template in queryset:
            try:
                template_release(template=template, actor=Actor.of(request.user), justification=justification)
            except DomainError as exc:
                messages.error(request, f"{template.name}: {exc.message}")
            else:
                messages.success(request, f"{template.name} released from quarantine.")
        return None


@admin.register(TemplateProposal)
class TemplateProposalAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("root_cause_category", "script_language", "target_system", "success_count", "status", "created_at")
    list_filter = ("status", "script_language")
    list_select_related = ("source_script",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[TemplateProposal]:
        return proposals_visible_to(request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]
