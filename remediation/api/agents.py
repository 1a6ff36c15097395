"""The agent API: list work, claim a script, start, heartbeat, log and report a run.

One small class per action, each calling one function of :mod:`remediation.services.agents`.
Only active agents pass (people get 403, anonymous callers 401); which agent may act on a run is
the service's decision (the claimant only).
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from remediation.access import runs_visible_to, scripts_visible_to
from remediation.services import agents
from remediation.services.agents import AgentReport, LeaseState, LogLineIn


class IsActiveAgent(BasePermission):
    """An agent's token, whatever groups its user has; a person's token never passes."""

    message = "Only agents may claim and report runs."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        agent = getattr(user, "agent", None) if getattr(user, "is_authenticated", False) else None
        return agent is not None and agent.is_active


class WorkItemSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    service = serializers.CharField()
    root_cause_category = serializers.CharField()
    script_language = serializers.CharField()
    target_system = serializers.CharField()
    execution_status = serializers.CharField()
    script_sha256 = serializers.CharField()
    approved_at = serializers.DateTimeField(allow_null=True)
    required_capabilities = serializers.SerializerMethodField()

    def get_required_capabilities(self, script: Any) -> list[str]:
        return sorted(agents.needed_capabilities(script))


class LeaseSerializer(serializers.Serializer[Any]):
    run_id = serializers.CharField()
    status = serializers.CharField()
    lease_expires_at = serializers.DateTimeField(allow_null=True)


def _lease(state: LeaseState) -> Response:
    return Response(LeaseSerializer(state).data)


class AgentWorkApi(APIView):
    """Approved, queued scripts this agent may claim now (capabilities and service scope applied)."""

    permission_classes = [IsActiveAgent]

    @extend_schema(responses={200: inline_serializer("AgentWork", fields={"scripts": WorkItemSerializer(many=True)})})
    def get(self, request: Request) -> Response:
        scripts = agents.agent_work_list(agent=agents.agent_of(request.user))
        return Response({"scripts": WorkItemSerializer(scripts, many=True).data})


class ScriptClaimApi(APIView):
    """Claim a script: 201 with the approved text, its hashes, validation context, limits and the lease."""

    permission_classes = [IsActiveAgent]

    class ClaimInput(serializers.Serializer[Any]):
        worker = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

    @extend_schema(request=ClaimInput, responses={201: dict})
    def post(self, request: Request, pk: Any) -> Response:
        body = self.ClaimInput(data=request.data)
        body.is_valid(raise_exception=True)
        agent = agents.agent_of(request.user)
        script = get_object_or_404(scripts_visible_to(request.user).select_related("template"), pk=pk)
        claim = agents.agent_claim(agent=agent, script=script, worker=body.validated_data["worker"])
        script = claim.script
        return Response(
            {
                "run_id": str(claim.run.pk),
                "attempt": claim.run.attempt,
                "lease_expires_at": claim.run.lease_expires_at.isoformat() if claim.run.lease_expires_at else None,
                "lease_seconds": claim.lease_seconds,
                "reclaimed": claim.reclaimed,
                "script": {
                    "id": str(script.pk),
                    "service": script.service,
                    "script_language": script.script_language,
                    "target_system": script.target_system,
                    "generated_script": script.generated_script,
                    "rollback_script": script.rollback_script,
                    "script_sha256": script.script_sha256,
                    "rollback_sha256": script.rollback_sha256,
                },
                "validation_context": claim.validation_context,
                "limits": claim.limits,
            },
            status=status.HTTP_201_CREATED,
        )


class _RunApi(APIView):
    permission_classes = [IsActiveAgent]

    def run_id(self, request: Request, pk: Any) -> Any:
        # Runs outside the agent's service scope are 404, as everywhere in the API.
        return get_object_or_404(runs_visible_to(request.user).only("pk"), pk=pk).pk


class RunHeartbeatApi(_RunApi):
    """Renew the lease; 409 when the lease lapsed and the run was released to another agent."""

    @extend_schema(request=None, responses={200: LeaseSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        return _lease(agents.agent_heartbeat(agent=agents.agent_of(request.user), run_id=self.run_id(request, pk)))


class RunStartApi(_RunApi):
    """CLAIMED -> RUNNING: the last check before the agent launches the script."""

    @extend_schema(request=None, responses={200: LeaseSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        return _lease(agents.agent_run_start(agent=agents.agent_of(request.user), run_id=self.run_id(request, pk)))


class RunLogApi(_RunApi):
    """Append output lines; a seq already stored is skipped."""

    class LogLineInput(serializers.Serializer[Any]):
        seq = serializers.IntegerField(min_value=1)
        stream = serializers.ChoiceField(choices=["stdout", "stderr"])
        text = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=agents.MAX_LOG_LINE_CHARS)

    class LogInput(serializers.Serializer[Any]):
        lines = serializers.ListField(child=serializers.DictField(), max_length=agents.MAX_LOG_BATCH)

    @extend_schema(request=LogInput, responses={200: dict})
    def post(self, request: Request, pk: Any) -> Response:
        body = self.LogInput(data=request.data)
        body.is_valid(raise_exception=True)
        lines = self.LogLineInput(data=body.validated_data["lines"], many=True)
        lines.is_valid(raise_exception=True)
        result = agents.agent_log_append(
            agent=agents.agent_of(request.user),
            run_id=self.run_id(request, pk),
            lines=[LogLineIn(**line) for line in lines.validated_data],
        )
        return Response({"stored": result.stored, "duplicates": result.duplicates})


class RunResultApi(_RunApi):
    """The agent's result; 409 when its SHA-256 is not the approved text's."""

    class ResultInput(serializers.Serializer[Any]):
        script_sha256 = serializers.RegexField(r"^[0-9a-f]{64}$")
        exit_code = serializers.IntegerField(required=False, allow_null=True, default=None)
        timed_out = serializers.BooleanField(required=False, default=False)
        killed_reason = serializers.CharField(
            required=False, allow_blank=True, allow_null=True, default="", max_length=32
        )
        duration_ms = serializers.FloatField(required=False, default=0.0, min_value=0)
        peak_memory_kb = serializers.IntegerField(required=False, default=0, min_value=0)
        stdout_tail = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
        stderr_tail = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
        refused = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
        validation = serializers.DictField(required=False, default=dict)

    @extend_schema(request=ResultInput, responses={200: dict})
    def post(self, request: Request, pk: Any) -> Response:
        body = self.ResultInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["killed_reason"] = data["killed_reason"] or ""
        run = agents.agent_report(
            agent=agents.agent_of(request.user), run_id=self.run_id(request, pk), report=AgentReport(**data)
        )
        run.script.refresh_from_db(fields=["execution_status"])
        return Response(
            {"run_id": str(run.pk), "status": run.status, "script_execution_status": run.script.execution_status}
        )
