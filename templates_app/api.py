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

from remediation.api.permissions import ReadAnyRoleWriteSupervisor
from remediation.lifecycle import Actor
from templates_app.models import RemediationTemplate, ScriptLanguage, TargetSystem
from templates_app.services import template_create, template_delete, template_update


class TemplateOutputSerializer(serializers.ModelSerializer[RemediationTemplate]):
    success_rate = serializers.FloatField(source="smoothed_success_rate", read_only=True)

    class Meta:
        model = RemediationTemplate
        fields = ["id", "name", "description", "root_cause_category", "script_language", "target_systems",
                  "required_capabilities", "template_content", "rollback_content", "rollback_unavailable_reason",
                  "template_variables", "safety_checks", "version", "source", "is_active", "is_quarantined",
                  "quarantine_reason", "success_count", "failure_count", "success_rate", "created_at", "updated_at"]
        read_only_fields = fields


class TemplateInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    root_cause_category = serializers.RegexField(r"^[a-z][a-z0-9_]{1,63}$")
    script_language = serializers.ChoiceField(choices=ScriptLanguage.choices)
    target_systems = serializers.ListField(child=serializers.ChoiceField(choices=TargetSystem.choices),
                                           allow_empty=False)
    required_capabilities = serializers.ListField(child=serializers.CharField(max_length=64), required=False,
                                                  default=list)
    template_content = serializers.CharField(max_length=256 * 1024, trim_whitespace=False)
    rollback_content = serializers.CharField(max_length=256 * 1024, required=False, allow_null=True,
                                             allow_blank=True, default=None, trim_whitespace=False)
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
