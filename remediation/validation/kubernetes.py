"""Kubernetes manifest validator: safe load, strict schema, Pod Security, RBAC, scope.

Partial manifests. Remediations are often strategic-merge patches (a Deployment carrying only
``spec.template.spec.containers[name, resources]``). A document is treated as a *partial* patch when
it says so with the annotation ``remediation.io/patch: "true"`` (or ``strategic-merge``), when it
contains a ``$patch`` directive, or when its shape cannot be a full object: a
Deployment/StatefulSet/DaemonSet/ReplicaSet without ``spec.selector`` (apps/v1 requires it, a patch
never repeats it) or a CronJob without ``spec.schedule``. For a partial document, missing required
fields are reported as info ``schema.partial_manifest`` and a container without ``name`` (the merge
key) is high; unknown fields and wrong types are findings exactly as for full objects. Every other
document is a full manifest and must pass strict schema validation.
"""

from __future__ import annotations

from typing import Any

from remediation.validation.kubernetes_policy import (
    CLUSTER_SCOPED_KINDS,
    KubeObject,
    check_destructive,
    check_pod_annotations,
    check_pod_spec,
    check_rbac,
    iter_containers,
    iter_pod_specs,
)
from remediation.validation.kubernetes_schema import (
    KUBERNETES_SCHEMA_VERSION,
    UnknownSchema,
    kubernetes_validate_version,
    schema_problems,
)
from remediation.validation.kubernetes_yaml import (
    LineList,
    LoadedDocument,
    ManifestLoadError,
    load_manifests,
    pyyaml_version,
)
from remediation.validation.types import (
    Finding,
    LanguageReport,
    Severity,
    ValidationContext,
)

PATCH_ANNOTATION = "remediation.io/patch"
_SELECTOR_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})
#: Objects in one manifest; a List can hold many, but a remediation that touches more is suspect.
MAX_OBJECTS = 200


def validate(text: str, context: ValidationContext) -> LanguageReport:
    """Validate a multi-document manifest; never raises on bad input."""
    report = LanguageReport(versions=_versions())
    try:
        documents = load_manifests(text)
    except ManifestLoadError as error:
        report.findings.append(Finding(error.rule_id, Severity.CRITICAL, error.message, error.line, _LOAD_HINT))
        return report
    objects, findings = _objects_from(documents)
    report.findings.extend(findings)
    if not objects and not findings:
        report.findings.append(
            Finding(
                "syntax.no_objects",
                Severity.HIGH,
                "The manifest holds no Kubernetes object.",
                1,
                "Provide one.",
            )
        )
    for obj in objects:
        _check_object(obj, context)
        report.findings.extend(obj.findings)
        report.side_effects.extend(_side_effects(obj))
    return report


_LOAD_HINT = "Submit plain YAML or JSON without duplicate keys, alias bombs or extreme nesting."


def _versions() -> dict[str, str]:
    return {
        "kubernetes-validate": kubernetes_validate_version(),
        "kubernetes-schema": KUBERNETES_SCHEMA_VERSION,
        "pyyaml": pyyaml_version(),
    }


def _objects_from(
    documents: list[LoadedDocument],
) -> tuple[list[KubeObject], list[Finding]]:
    objects: list[KubeObject] = []
    findings: list[Finding] = []
    pending: list[tuple[Any, int]] = [(doc.data, doc.line) for doc in documents]
    while pending:
        data, line = pending.pop(0)
        if not isinstance(data, dict):
            findings.append(
                Finding(
                    "schema.not_an_object",
                    Severity.HIGH,
                    "A document is not a mapping.",
                    line,
                    "Use objects.",
                )
            )
            continue
        kind = str(data.get("kind") or "")
        items = data.get("items")
        if kind.endswith("List") and isinstance(items, list):
            # kind: List (or DeploymentList, ...) is unwrapped: its items are what gets applied.
            item_lines = items.item_lines if isinstance(items, LineList) else [line] * len(items)
            pending[0:0] = list(zip(items, item_lines, strict=False))
            continue
        if len(objects) >= MAX_OBJECTS:
            findings.append(
                Finding(
                    "syntax.too_many_objects",
                    Severity.CRITICAL,
                    f"More than {MAX_OBJECTS} objects.",
                    line,
                    "",
                )
            )
            break
        objects.append(
            KubeObject(
                data=data,
                line=getattr(data, "line", line),
                is_partial=_is_partial(data),
            )
        )
    return objects, findings


def _is_partial(data: dict[str, Any]) -> bool:
    metadata = _mapping(data.get("metadata"))
    annotations = _mapping(metadata.get("annotations"))
    if str(annotations.get(PATCH_ANNOTATION, "")).lower() in {
        "true",
        "strategic-merge",
        "merge",
    }:
        return True
    if _has_directive(data):
        return True
    spec = _mapping(data.get("spec"))
    kind = str(data.get("kind") or "")
    return (kind in _SELECTOR_KINDS and "selector" not in spec) or (kind == "CronJob" and "schedule" not in spec)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _has_directive(node: Any) -> bool:
    if isinstance(node, dict):
        return any(str(key).startswith("$") or _has_directive(value) for key, value in node.items())
    if isinstance(node, list):
        return any(_has_directive(item) for item in node)
    return False


def _check_object(obj: KubeObject, context: ValidationContext) -> None:
    _check_schema(obj)
    for path, spec in iter_pod_specs(obj.data):
        check_pod_spec(obj, path, spec, context)
    check_pod_annotations(obj)
    check_rbac(obj)
    check_destructive(obj)
    _check_scope(obj, context)


def _strip_directives(node: Any) -> Any:
    """Drop strategic-merge directives ($patch, $setElementOrder/...) before schema validation."""
    if isinstance(node, dict):
        return {key: _strip_directives(value) for key, value in node.items() if not str(key).startswith("$")}
    if isinstance(node, list):
        return [_strip_directives(item) for item in node]
    return node


def _check_schema(obj: KubeObject) -> None:
    if not obj.data.get("apiVersion") or not obj.kind:
        obj.add(
            "schema.missing_type",
            Severity.HIGH,
            "A document has no apiVersion or kind; the API server cannot know what it is.",
            (),
            "Set apiVersion and kind.",
        )
        return
    data = _strip_directives(obj.data) if obj.is_partial else obj.data
    try:
        problems = schema_problems(data)
    except UnknownSchema:
        obj.add(
            "schema.unknown_kind",
            Severity.MEDIUM,
            f"No Kubernetes {KUBERNETES_SCHEMA_VERSION} schema for {obj.data.get('apiVersion')}/{obj.kind}: "
            "a typo, a removed API version or a custom resource that cannot be checked.",
            ("kind",),
            "Use a built-in apiVersion/kind, or review the custom resource by hand.",
        )
        return
    missing: list[str] = []
    for problem in problems:
        where = ".".join(str(step) for step in problem.path) or "<root>"
        if problem.kind == "missing_required" and obj.is_partial:
            missing.append(f"{where}: {problem.message}")
            continue
        if problem.kind == "unknown_field":
            obj.add(
                "schema.unknown_field",
                Severity.MEDIUM,
                f"{obj.label}: at {where}, {problem.message}. The API server rejects or drops it.",
                problem.path,
                "Fix the field name (a typo here can silently drop a security setting).",
            )
        else:
            obj.add(
                "schema.invalid",
                Severity.HIGH,
                f"{obj.label}: at {where}, {problem.message}.",
                problem.path,
                "Make the object valid for Kubernetes " + KUBERNETES_SCHEMA_VERSION + ".",
            )
    if obj.is_partial:
        for path, spec in iter_pod_specs(obj.data):
            for container_path, container in iter_containers(spec):
                if not container.get("name"):
                    obj.add(
                        "schema.patch_without_merge_key",
                        Severity.HIGH,
                        f"{obj.label}: a container in this patch has no name, so it cannot be merged.",
                        (*path, *container_path),
                        "Name the container the patch applies to.",
                    )
        obj.findings.append(
            Finding(
                "schema.partial_manifest",
                Severity.INFO,
                f"{obj.label} is treated as a strategic-merge patch"
                + (f" ({len(missing)} required fields left to the live object)." if missing else "."),
                obj.line,
                "Apply it with kubectl patch/apply to an existing object.",
            )
        )


def _check_scope(obj: KubeObject, context: ValidationContext) -> None:
    namespace = obj.name if obj.kind == "Namespace" else obj.namespace
    if context.allowed_namespaces and obj.kind not in CLUSTER_SCOPED_KINDS - {"Namespace"}:
        if not namespace:
            obj.add(
                "scope.namespace_unset",
                Severity.MEDIUM,
                f"{obj.label} names no namespace; it lands in whatever namespace the caller's context uses.",
                ("metadata",),
                f"Set metadata.namespace to one of: {', '.join(context.allowed_namespaces)}.",
            )
        elif namespace not in context.allowed_namespaces:
            obj.add(
                "scope.namespace",
                Severity.HIGH,
                f"{obj.label} is in namespace {namespace!r}, outside the allowed namespaces.",
                ("metadata", "namespace") if obj.kind != "Namespace" else ("metadata", "name"),
                f"Allowed namespaces: {', '.join(context.allowed_namespaces)}.",
            )
    components = [c for c in context.rca_components if str(c.get("kind", "")).lower() not in {"", "file", "host"}]
    if components and not any(_matches_component(obj, component) for component in components):
        obj.add(
            "scope.unexpected_resource",
            Severity.MEDIUM,
            f"{obj.label} is not among the components the RCA names.",
            ("metadata",),
            "Touch only what the root-cause analysis identified, or explain why in the change.",
        )


def _matches_component(obj: KubeObject, component: dict[str, str]) -> bool:
    if str(component.get("kind", "")).lower() != obj.kind.lower():
        return _targets_component(obj, component)
    if component.get("name") and component["name"] != obj.name:
        return False
    wanted_namespace = component.get("namespace", "")
    return not (wanted_namespace and obj.namespace and wanted_namespace != obj.namespace)


def _targets_component(obj: KubeObject, component: dict[str, str]) -> bool:
    """An object that only acts on a named component is in scope: an autoscaler or a disruption
    budget for the Deployment the RCA names (scaleTargetRef in the same namespace)."""
    spec = obj.data.get("spec") if isinstance(obj.data, dict) else None
    target = spec.get("scaleTargetRef") if isinstance(spec, dict) else None
    if not isinstance(target, dict):
        return False
    if str(target.get("kind", "")).lower() != str(component.get("kind", "")).lower():
        return False
    if component.get("name") and target.get("name") != component["name"]:
        return False
    wanted_namespace = component.get("namespace", "")
    return not (wanted_namespace and obj.namespace and wanted_namespace != obj.namespace)


def _side_effects(obj: KubeObject) -> list[str]:
    verb = "patches" if obj.is_partial else "applies"
    effects = [f"{verb} {obj.label}"]
    spec = _mapping(obj.data.get("spec"))
    if "replicas" in spec:
        effects.append(f"sets replicas={spec['replicas']} on {obj.label}")
    for _path, pod_spec in iter_pod_specs(obj.data):
        for _container_path, container in iter_containers(pod_spec):
            who = f"{obj.label} container {container.get('name', '<unnamed>')}"
            if container.get("image"):
                effects.append(f"sets image {container['image']} on {who}")
            resources = _mapping(container.get("resources"))
            for section in ("limits", "requests"):
                values = _mapping(resources.get(section))
                for resource, amount in values.items():
                    effects.append(f"sets resources.{section}.{resource}={amount} on {who}")
    return effects


__all__ = ["PATCH_ANNOTATION", "validate"]
