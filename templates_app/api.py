"""Templates API: anyone with a role reads; supervisors create, edit (a new version) and delete."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from remediation.access import proposals_visible_to
from remediation.api.permissions import IsSupervisor, ReadAnyRoleWriteSupervisor
from remediation.lifecycle import Actor
from templates_app.models import RemediationTemplate, ScriptLanguage, TargetSystem, TemplateProposal
from templates_app.services import template_create, template_delete, template_release, template_update


class TemplateOutputSerializer(serializers.ModelSerializer[RemediationTemplate]):
    success_rate = serializers.FloatField(source="smoothed_success_rate", read_only=True)

    class Meta:
        model = RemediationTemplate
        fields = [
            "id",
            "name",
            "description",
            "root_cause_category",
            "script_language",
            "target_systems",
            "required_capabilities",
            "template_content",
            "rollback_content",
            "rollback_unavailable_reason",
            "template_variables",
            "safety_checks",
            "version",
            "source",
            "is_active",
            "is_quarantined",
            "quarantine_reason",
            "success_count",
            "failure_count",
            "success_rate",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TemplateInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    root_cause_category = serializers.RegexField(r"^[a-z][a-z0-9_]{1,63}$")
    script_language = serializers.ChoiceField(choices=ScriptLanguage.choices)
    target_systems = serializers.ListField(
        child=serializers.ChoiceField(choices=TargetSystem.choices), allow_empty=False
    )
    required_capabilities = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list
    )
    template_content = serializers.CharField(max_length=256 * 1024, trim_whitespace=False)
    rollback_content = serializers.CharField(
        max_length=256 * 1024, required=False, allow_null=True, allow_blank=True, default=None, trim_whitespace=False
    )
    rollback_unavailable_reason = serializers.CharField(required=False, allow_blank=True, default="")
    template_variables = serializers.ListField(child=serializers.DictField(), required=False, default=list)
    safety_checks = serializers.ListField(child=serializers.CharField(), required=False, default=list)


class TemplateListCreateApi(generics.ListAPIView[RemediationTemplate]):
    permission_classes = [ReadAnyRoleWriteSupervisor]
    serializer_class = TemplateOutputSerializer
    filterset_fields = ["root_cause_category", "script_language", "is_quarantined", "is_active"]

    def get_queryset(self) -> QuerySet[RemediationTemplate]:
        return RemediationTemplate.objects.all()

    @extend_schema(request=TemplateInputSerializer, responses={201: TemplateOutputSerializer})
    def post(self, request: Request) -> Response:
        body = TemplateInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if RemediationTemplate.objects.filter(name=body.validated_data["name"]).exists():
            raise serializers.ValidationError({"name": ["A template with this name exists."]})
        template = template_create(data=body.validated_data, actor=Actor.of(request.user))
        return Response(TemplateOutputSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetailApi(APIView):
    permission_classes = [ReadAnyRoleWriteSupervisor]

    @extend_schema(responses={200: TemplateOutputSerializer})
    def get(self, request: Request, pk: Any) -> Response:
        return Response(TemplateOutputSerializer(get_object_or_404(RemediationTemplate, pk=pk)).data)

    @extend_schema(request=TemplateInputSerializer, responses={200: TemplateOutputSerializer})
    def put(self, request: Request, pk: Any) -> Response:
        template = get_object_or_404(RemediationTemplate, pk=pk)
        body = TemplateInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if RemediationTemplate.objects.filter(name=body.validated_data["name"]).exclude(pk=template.pk).exists():
            raise serializers.ValidationError({"name": ["A template with this name exists."]})
        template = template_update(template=template, data=body.validated_data, actor=Actor.of(request.user))
        return Response(TemplateOutputSerializer(template).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: Any) -> Response:
        template_delete(template=get_object_or_404(RemediationTemplate, pk=pk), actor=Actor.of(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProposalOutputSerializer(serializers.ModelSerializer[TemplateProposal]):
    class Meta:
        model = TemplateProposal
        fields = [
            "id",
            "root_cause_category",
            "script_language",
            "target_system",
            "proposed_content",
            "proposed_variables",
            "source_script",
            "success_count",
            "status",
            "created_template",
            "created_at",
        ]
        read_only_fields = fields


class ProposalListApi(generics.ListAPIView[TemplateProposal]):
    """Templates proposed from LLM scripts that kept succeeding; supervisors accept or dismiss them."""

    permission_classes = [ReadAnyRoleWriteSupervisor]
    serializer_class = ProposalOutputSerializer
    filterset_fields = ["status", "root_cause_category"]

    def get_queryset(self) -> QuerySet[TemplateProposal]:
        return proposals_visible_to(self.request.user)


class ProposalAcceptApi(APIView):
    permission_classes = [IsSupervisor]

    class Input(serializers.Serializer[Any]):
        name = serializers.CharField(max_length=200)

    @extend_schema(request=Input, responses={201: TemplateOutputSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        from remediation.services.promotion import proposal_accept

        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        template = proposal_accept(
            proposal=get_object_or_404(proposals_visible_to(request.user), pk=pk),
            user=request.user,
            name=body.validated_data["name"],
        )
        return Response(TemplateOutputSerializer(template).data, status=status.HTTP_201_CREATED)


class ProposalDismissApi(APIView):
    permission_classes = [IsSupervisor]

    class Input(serializers.Serializer[Any]):
        justification = serializers.CharField(max_length=4000)

    @extend_schema(request=Input, responses={200: ProposalOutputSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        from remediation.services.promotion import proposal_dismiss

        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        proposal = proposal_dismiss(
            proposal=get_object_or_404(proposals_visible_to(request.user), pk=pk),
            user=request.user,
            justification=body.validated_data["justification"],
        )
        return Response(ProposalOutputSerializer(proposal).data)


class TemplateReleaseApi(APIView):
    """Release a quarantined template (supervisor; justification required)."""

    permission_classes = [IsSupervisor]

    class Input(serializers.Serializer[Any]):
        justification = serializers.CharField(max_length=4000)

    @extend_schema(request=Input, responses={200: TemplateOutputSerializer})
    def post(self, request: Request, pk: Any) -> Response:
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        template = template_release(
            template=get_object_or_404(RemediationTemplate, pk=pk),
            actor=Actor.of(request.user),
            justification=body.validated_data["justification"],
        )
        return Response(TemplateOutputSerializer(template).data)
