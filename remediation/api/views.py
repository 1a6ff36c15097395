"""The scripts API: one small class per action, each calling one service."""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from remediation.access import audit_events_visible_to, runs_visible_to, scripts_visible_to
from remediation.api.permissions import AnyRole, CanExecute, CanRequest, IsSupervisor
from remediation.api.serializers import (
    AuditEventSerializer,
    CommentSerializer,
    RunSerializer,
    ScriptOutputSerializer,
)
from remediation.errors import ActionForbidden, InvalidInput
from remediation.lifecycle import Actor
from remediation.models import (
    ApprovalStatus,
    ConfidenceLevel,
    ExecutionRun,
    ExecutionStatus,
    RemediationScript,
    ValidationReport,
    ValidationStatus,
)
from remediation.services import approval, execution, intake, review, rollback


def _scripts(request: Request) -> QuerySet[RemediationScript]:
    return (
        scripts_visible_to(request.user)
        .select_related("template", "template_version")
        .prefetch_related(Prefetch("validation_reports", queryset=ValidationReport.objects.order_by("-created_at")))
    )


def _script(request: Request, script_id: Any) -> RemediationScript:
    return get_object_or_404(_scripts(request), pk=script_id)


def _output(script: RemediationScript, *, status_code: int = status.HTTP_200_OK) -> Response:
    fresh = RemediationScript.objects.select_related("template", "template_version").get(pk=script.pk)
    return Response(ScriptOutputSerializer(fresh).data, status=status_code)


class ScriptFilter(django_filters.FilterSet):
    service = django_filters.CharFilter()
    root_cause_category = django_filters.CharFilter()
    confidence_level = django_filters.ChoiceFilter(choices=ConfidenceLevel.choices)
    validation_status = django_filters.ChoiceFilter(choices=ValidationStatus.choices)
    approval_status = django_filters.ChoiceFilter(choices=ApprovalStatus.choices)
    execution_status = django_filters.ChoiceFilter(choices=ExecutionStatus.choices)
    current = django_filters.BooleanFilter(field_name="is_current_revision")

    class Meta:
        model = RemediationScript
        fields = [
            "service",
            "root_cause_category",
            "confidence_level",
            "validation_status",
            "approval_status",
            "execution_status",
            "current",
        ]


class GenerateApi(APIView):
    """Accept an RCA finding; generation runs on the "generation" queue. 202 with the script id.

    An identical finding whose script is still open answers 200 with that script instead.
    """

    permission_classes = [CanRequest]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "generate"

    @extend_schema(
        request=inline_serializer(
            "RcaFinding",
            fields={
                "root_cause_category": serializers.CharField(),
                "summary": serializers.CharField(),
                "confidence": serializers.FloatField(),
                "target_system": serializers.CharField(),
            },
        ),
        responses={
            202: ScriptOutputSerializer,
            200: ScriptOutputSerializer,
            400: OpenApiResponse(description="bad RCA"),
        },
    )
    def post(self, request: Request) -> Response:
        script, created = intake.request_remediation(payload=request.data, actor=Actor.of(request.user))
        return _output(script, status_code=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class ScriptListApi(generics.ListAPIView[RemediationScript]):
    permission_classes = [AnyRole]
    serializer_class = ScriptOutputSerializer
    filterset_class = ScriptFilter

    def get_queryset(self) -> QuerySet[RemediationScript]:
        return _scripts(self.request)


class ScriptDetailApi(generics.RetrieveAPIView[RemediationScript]):
    permission_classes = [AnyRole]
    serializer_class = ScriptOutputSerializer

    def get_queryset(self) -> QuerySet[RemediationScript]:
        return _scripts(self.request)


class ScriptValidateApi(APIView):
    """Validate the stored text again on the "validation" queue; 202."""

    permission_classes = [CanRequest]

    @extend_schema(request=None, responses={202: ScriptOutputSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        script = _script(request, pk)
        from remediation.services.validation import script_validate_queue

        script_validate_queue(script=script, actor=Actor.of(request.user))
        return _output(script, status_code=status.HTTP_202_ACCEPTED)


class _Justification(serializers.Serializer[Any]):
    justification = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)


class ScriptApproveApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(request=_Justification, responses={200: ScriptOutputSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        body = _Justification(data=request.data)
        body.is_valid(raise_exception=True)
        script = approval.script_approve(
            script=_script(request, pk), user=request.user, justification=body.validated_data["justification"]
        )
        return _output(script)


class ScriptRejectApi(APIView):
    permission_classes = [IsSupervisor]

    class Input(serializers.Serializer[Any]):
        justification = serializers.CharField(max_length=10_000)

    @extend_schema(request=Input, responses={200: ScriptOutputSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        script = approval.script_reject(
            script=_script(request, pk), user=request.user, justification=body.validated_data["justification"]
        )
        return _output(script)


class ScriptExecuteApi(APIView):
    """Queue an approved script for execution on the "execution" queue; 202."""

    permission_classes = [CanExecute]

    @extend_schema(request=None, responses={202: ScriptOutputSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        script = execution.script_execute(script=_script(request, pk), user=request.user)
        return _output(script, status_code=status.HTTP_202_ACCEPTED)


class ScriptReviseApi(APIView):
    """A supervisor's modification: a new revision, validated again, never auto-approved."""

    permission_classes = [IsSupervisor]

    class Input(serializers.Serializer[Any]):
        generated_script = serializers.CharField(max_length=512 * 1024, trim_whitespace=False)
        rollback_script = serializers.CharField(
            max_length=512 * 1024,
            required=False,
            allow_null=True,
            allow_blank=True,
            default=None,
            trim_whitespace=False,
        )
        note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")

    @extend_schema(request=Input, responses={201: ScriptOutputSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        revision = review.script_revise(script=_script(request, pk), user=request.user, **body.validated_data)
        return _output(revision, status_code=status.HTTP_201_CREATED)


class ScriptRevisionsApi(APIView):
    permission_classes = [AnyRole]

    @extend_schema(responses={200: ScriptOutputSerializer(many=True)})
    def get(self, request: Request, pk: Any) -> Response:
        chain = review.revision_chain(_script(request, pk), queryset=_scripts(request))
        return Response(ScriptOutputSerializer(chain, many=True).data)


class ScriptDiffApi(APIView):
    """Unified diff between two revisions of one remediation (?from=<id>; default: the parent)."""

    permission_classes = [AnyRole]

    @extend_schema(responses={200: inline_serializer("RevisionDiff", fields={"diff": serializers.CharField()})})
    def get(self, request: Request, pk: Any) -> Response:
        script = _script(request, pk)
        other_id = request.query_params.get("from")
        if other_id:
            try:
                uuid.UUID(other_id)
            except ValueError:
                raise InvalidInput("'from' must be the id of a revision.", field="from") from None
            other = _script(request, other_id)
        elif script.parent_id:
            other = _script(request, script.parent_id)
        else:
            other = script
        if other.fingerprint != script.fingerprint:
            raise ActionForbidden("Both scripts must be revisions of the same remediation.", code="not_related")
        return Response({"from": str(other.pk), "to": str(script.pk), "diff": review.revision_diff(other, script)})


class ScriptCommentsApi(APIView):
    permission_classes = [AnyRole]

    @extend_schema(responses={200: CommentSerializer(many=True)})
    def get(self, request: Request, pk: Any) -> Response:
        script = _script(request, pk)
        return Response(CommentSerializer(script.comments.select_related("author"), many=True).data)

    @extend_schema(request=CommentSerializer, responses={201: CommentSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        comment = review.comment_create(
            script=_script(request, pk),
            user=request.user,
            body=body.validated_data["body"],
            line=body.validated_data.get("line"),
        )
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class ScriptAuditApi(APIView):
    """The script's audit events, oldest first (all revisions share the remediation's trail)."""

    permission_classes = [AnyRole]

    @extend_schema(responses={200: AuditEventSerializer(many=True)})
    def get(self, request: Request, pk: Any) -> Response:
        script = _script(request, pk)
        revision_ids = [s.pk for s in review.revision_chain(script)]
        run_ids = [str(i) for i in ExecutionRun.objects.filter(script_id__in=revision_ids).values_list("pk", flat=True)]
        events = (
            audit_events_visible_to(request.user)
            .filter(object_type__in=["script", "execution_run"], object_id__in=[*map(str, revision_ids), *run_ids])
            .order_by("at", "id")
        )
        return Response(AuditEventSerializer(events, many=True).data)


class ScriptRunsApi(APIView):
    permission_classes = [AnyRole]

    @extend_schema(responses={200: RunSerializer(many=True)})
    def get(self, request: Request, pk: Any) -> Response:
        script = _script(request, pk)
        return Response(RunSerializer(runs_visible_to(request.user).filter(script=script), many=True).data)


class RunDetailApi(generics.RetrieveAPIView[ExecutionRun]):
    permission_classes = [AnyRole]
    serializer_class = RunSerializer

    def get_queryset(self) -> QuerySet[ExecutionRun]:
        return runs_visible_to(self.request.user)


class RunRollbackApi(APIView):
    """Roll a target run back (snapshot restore or the script's rollback text); 202, runs on the execution queue."""

    permission_classes = [CanExecute]

    @extend_schema(request=None, responses={202: RunSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        run = get_object_or_404(runs_visible_to(request.user).select_related("script"), pk=pk)
        rollback.rollback_request(run=run, user=request.user)
        return Response(RunSerializer(ExecutionRun.objects.get(pk=run.pk)).data, status=status.HTTP_202_ACCEPTED)
