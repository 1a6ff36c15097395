from django.urls import path

from remediation.api import agents as agent_views
from remediation.api import views
from templates_app import api as template_views

urlpatterns = [
    path("generate", views.GenerateApi.as_view(), name="generate"),
    path("scripts", views.ScriptListApi.as_view(), name="script-list"),
    path("scripts/<uuid:pk>", views.ScriptDetailApi.as_view(), name="script-detail"),
    path("scripts/<uuid:pk>/validate", views.ScriptValidateApi.as_view(), name="script-validate"),
    path("scripts/<uuid:pk>/approve", views.ScriptApproveApi.as_view(), name="script-approve"),
    path("scripts/<uuid:pk>/reject", views.ScriptRejectApi.as_view(), name="script-reject"),
    path("scripts/<uuid:pk>/execute", views.ScriptExecuteApi.as_view(), name="script-execute"),
    path("scripts/<uuid:pk>/revise", views.ScriptReviseApi.as_view(), name="script-revise"),
    path("scripts/<uuid:pk>/revisions", views.ScriptRevisionsApi.as_view(), name="script-revisions"),
    path("scripts/<uuid:pk>/diff", views.ScriptDiffApi.as_view(), name="script-diff"),
    path("scripts/<uuid:pk>/comments", views.ScriptCommentsApi.as_view(), name="script-comments"),
    path("scripts/<uuid:pk>/audit", views.ScriptAuditApi.as_view(), name="script-audit"),
    path("scripts/<uuid:pk>/runs", views.ScriptRunsApi.as_view(), name="script-runs"),
    path("runs/<uuid:pk>", views.RunDetailApi.as_view(), name="run-detail"),
    path("runs/<uuid:pk>/rollback", views.RunRollbackApi.as_view(), name="run-rollback"),
    path("templates", template_views.TemplateListCreateApi.as_view(), name="template-list"),
    path("templates/<uuid:pk>", template_views.TemplateDetailApi.as_view(), name="template-detail"),
    path("templates/<uuid:pk>/release", template_views.TemplateReleaseApi.as_view(), name="template-release"),
    path("template-proposals", template_views.ProposalListApi.as_view(), name="proposal-list"),
    path("template-proposals/<uuid:pk>/accept", template_views.ProposalAcceptApi.as_view(), name="proposal-accept"),
    path("template-proposals/<uuid:pk>/dismiss", template_views.ProposalDismissApi.as_view(), name="proposal-dismiss"),
]

# The agent protocol (docs/agents.md): list work, claim, start, heartbeat, log, report.
urlpatterns += [
    path("agent/work", agent_views.AgentWorkApi.as_view(), name="agent-work"),
    path("scripts/<uuid:pk>/claim", agent_views.ScriptClaimApi.as_view(), name="script-claim"),
    path("runs/<uuid:pk>/start", agent_views.RunStartApi.as_view(), name="run-start"),
    path("runs/<uuid:pk>/heartbeat", agent_views.RunHeartbeatApi.as_view(), name="run-heartbeat"),
    path("runs/<uuid:pk>/log", agent_views.RunLogApi.as_view(), name="run-log"),
    path("runs/<uuid:pk>/result", agent_views.RunResultApi.as_view(), name="run-result"),
]
