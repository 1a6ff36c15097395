"""Kubernetes manifest validation: loader safety, schema, Pod Security, RBAC, scope, corpus."""

from __future__ import annotations

import time

import pytest

from remediation.validation import TargetSystem, ValidationContext, validate_script
from tests.validation.corpus_helpers import CORPUS, corpus_rates

CTX = ValidationContext(target_system=TargetSystem.KUBERNETES)

POD = """apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: shop}}
spec:
{pod}  containers:
    - name: c
      image: busybox:1.36
      resources: {{limits: {{memory: 64Mi}}}}
      securityContext:
{ctx}"""


def pod(ctx: str = "        runAsNonRoot: true\n", pod_level: str = "") -> str:
    return POD.format(pod=pod_level, ctx=ctx)


def rbac(kind: str, rules: str) -> str:
    return f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {{name: r, namespace: shop}}\nrules:\n{rules}"


def binding(role: str, subject: str) -> str:
    return (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\n"
        f"subjects:\n  - {{kind: Group, name: '{subject}', apiGroup: rbac.authorization.k8s.io}}\n"
        f"roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role}}}\n"
    )


# rule_id -> (manifests that must raise it, manifests that must not)
RULE_EXAMPLES: dict[str, tuple[list[str], list[str]]] = {
    "pss.privileged": ([pod("        privileged: true\n")], [pod("        privileged: false\n")]),
    "pss.host_namespaces": ([pod(pod_level="  hostPID: true\n"), pod(pod_level="  hostNetwork: yes\n")], [pod()]),
    "pss.host_path": (
        [pod(pod_level="  volumes: [{name: v, hostPath: {path: /var/run/docker.sock}}]\n")],
        [pod(pod_level="  volumes: [{name: v, emptyDir: {}}]\n")],
    ),
    "pss.capabilities_added": (
        [pod("        capabilities: {add: [sys_admin]}\n"), pod("        capabilities: {add: [CAP_NET_RAW]}\n")],
        [pod("        capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}\n")],
    ),
    "pss.privilege_escalation": (
        [pod("        allowPrivilegeEscalation: true\n")],
        [pod("        allowPrivilegeEscalation: false\n")],
    ),
    "pss.run_as_root": (
        [pod("        runAsUser: 0\n"), pod("        runAsNonRoot: false\n")],
        # container-level settings win over the pod level
        [pod("        runAsUser: 1000\n", pod_level="  securityContext: {runAsUser: 0}\n")],
    ),
    "pss.seccomp_unconfined": (
        [pod("        seccompProfile: {type: Unconfined}\n")],
        [
            pod(
                "        seccompProfile: {type: RuntimeDefault}\n",
                pod_level="  securityContext: {seccompProfile: {type: Unconfined}}\n",
            )
        ],
    ),
    "pss.proc_mount": ([pod("        procMount: Unmasked\n")], [pod("        procMount: Default\n")]),
    "pss.unsafe_sysctl": (
        [pod(pod_level="  securityContext: {sysctls: [{name: kernel.msgmax, value: '1'}]}\n")],
        [pod(pod_level="  securityContext: {sysctls: [{name: net.ipv4.tcp_syncookies, value: '1'}]}\n")],
    ),
    "pss.host_port": (
        [
            pod().replace(
                "      image: busybox:1.36\n",
                "      image: busybox:1.36\n      ports: [{containerPort: 80, hostPort: 80}]\n",
            )
        ],
        [
            pod().replace(
                "      image: busybox:1.36\n", "      image: busybox:1.36\n      ports: [{containerPort: 80}]\n"
            )
        ],
    ),
    "resources.missing_limits": (
        [pod().replace("      resources: {limits: {memory: 64Mi}}\n", "")],
        [pod()],
    ),
    "rbac.wildcard": (
        [rbac("ClusterRole", "  - {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n")],
        [rbac("ClusterRole", "  - {apiGroups: [''], resources: [pods], verbs: [get]}\n")],
    ),
    "rbac.escalation_verbs": (
        [rbac("Role", "  - {apiGroups: [''], resources: [users], verbs: [impersonate]}\n")],
        [rbac("Role", "  - {apiGroups: [''], resources: [pods], verbs: [list]}\n")],
    ),
    "rbac.cluster_secrets_read": (
        [rbac("ClusterRole", "  - {apiGroups: [''], resources: [secrets], verbs: [list]}\n")],
        [rbac("ClusterRole", "  - {apiGroups: [''], resources: [configmaps], verbs: [list]}\n")],
    ),
    "rbac.pod_exec": (
        [rbac("Role", "  - {apiGroups: [''], resources: [pods/exec], verbs: [create]}\n")],
        [rbac("Role", "  - {apiGroups: [''], resources: [pods/log], verbs: [get]}\n")],
    ),
    "rbac.cluster_admin_binding": ([binding("cluster-admin", "ops")], [binding("view", "ops")]),
    "rbac.system_group_binding": (
        [binding("view", "system:unauthenticated"), binding("view", "system:masters")],
        [binding("view", "system:serviceaccounts:shop")],
    ),
    "workload.scaled_to_zero": (
        ["apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: shop}\nspec: {replicas: 0}\n"],
        ["apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: shop}\nspec: {replicas: 2}\n"],
    ),
    "storage.reclaim_delete": (
        [
            "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: v}\nspec: {capacity: {storage: 1Gi}, "
            "accessModes: [ReadWriteOnce], persistentVolumeReclaimPolicy: Delete, nfs: {server: n, path: /x}}\n"
        ],
        [
            "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: v}\nspec: {capacity: {storage: 1Gi}, "
            "accessModes: [ReadWriteOnce], persistentVolumeReclaimPolicy: Retain, nfs: {server: n, path: /x}}\n"
        ],
    ),
    "service.external_ips": (
        [
            "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop}\nspec: {ports: [{port: 80}], externalIPs: [1.2.3.4]}\n"
        ],
        ["apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop}\nspec: {ports: [{port: 80}]}\n"],
    ),
    "ingress.nginx_snippet": (
        [
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop, annotations: "
            "{nginx.ingress.kubernetes.io/configuration-snippet: 'more_set_headers x'}}\n"
        ],
        [
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop, annotations: "
            "{nginx.ingress.kubernetes.io/proxy-body-size: 8m}}\n"
        ],
    ),
    "quota.zero": (
        ["apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: shop}\nspec: {hard: {pods: '0'}}\n"],
        ["apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: shop}\nspec: {hard: {pods: '50'}}\n"],
    ),
    "destructive.patch_delete": (
        ["apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n$patch: delete\n"],
        ["apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"],
    ),
    "webhook.fail_closed_kube_system": (
        [
            "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: w}\n"
            "webhooks: [{name: a.b.c, sideEffects: None, admissionReviewVersions: [v1], clientConfig: {url: 'https://x'}}]\n"
        ],
        [
            "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: w}\n"
            "webhooks: [{name: a.b.c, failurePolicy: Ignore, sideEffects: None, admissionReviewVersions: [v1], "
            "clientConfig: {url: 'https://x'}}]\n"
        ],
    ),
    "schema.unknown_field": ([pod("        privilegd: true\n")], [pod()]),
    "schema.invalid": ([pod().replace("image: busybox:1.36", "image: [busybox]")], [pod()]),
    "schema.unknown_kind": (["apiVersion: v1\nkind: Deploymnt\nmetadata: {name: x}\n"], [pod()]),
    "syntax.yaml_duplicate_key": ([pod("        privileged: false\n        privileged: true\n")], [pod()]),
    "syntax.yaml": (["apiVersion: v1\nkind: [Pod\n"], [pod()]),
}


def _rule_ids(text: str, context: ValidationContext = CTX) -> set[str]:
    return {f.rule_id for f in validate_script(text, language="kubernetes", context=context).findings}


@pytest.mark.parametrize("rule_id", sorted(RULE_EXAMPLES))
def test_rule_matches_its_examples(rule_id: str) -> None:
    positives, negatives = RULE_EXAMPLES[rule_id]
    for text in positives:
        assert rule_id in _rule_ids(text), f"{rule_id} should match:\n{text}"
    for text in negatives:
        assert rule_id not in _rule_ids(text), f"{rule_id} should not match:\n{text}"


def test_container_memory_budget_applies_only_when_the_service_sets_one() -> None:
    budget = ValidationContext(target_system=TargetSystem.KUBERNETES, max_container_memory_mb=512)
    assert "resources.over_budget" in _rule_ids(pod().replace("64Mi", "2Gi"), budget)
    assert "resources.over_budget" not in _rule_ids(pod().replace("64Mi", "512Mi"), budget)
    # The sandbox's own memory limit is not a ceiling for the workload a manifest describes.
    assert "resources.over_budget" not in _rule_ids(pod().replace("64Mi", "2Gi"))


def test_scope_rules_fire_only_when_lists_are_set() -> None:
    text = pod()
    scoped = ValidationContext(
        target_system=TargetSystem.KUBERNETES,
        allowed_namespaces=("media",),
        rca_components=({"kind": "Deployment", "name": "image-resizer", "namespace": "media"},),
    )
    assert {"scope.namespace", "scope.unexpected_resource"} <= _rule_ids(text, scoped)
    assert not {"scope.namespace", "scope.unexpected_resource"} & _rule_ids(text)
    matching = text.replace("kind: Pod", "kind: Pod").replace("namespace: shop", "namespace: media")
    allowed = ValidationContext(target_system=TargetSystem.KUBERNETES, allowed_namespaces=("media",))
    assert "scope.namespace" not in _rule_ids(matching, allowed)


def test_partial_patch_is_accepted_but_full_manifest_must_be_complete() -> None:
    patch = (CORPUS / "kubernetes/legitimate/deployment_memory_patch_hardened.yaml").read_text()
    assert validate_script(patch, language="kubernetes", context=CTX).passed
    full_missing_template = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: shop}\n"
        "spec: {selector: {matchLabels: {app: w}}}\n"
    )
    result = validate_script(full_missing_template, language="kubernetes", context=CTX)
    assert not result.passed
    assert "schema.invalid" in {f.rule_id for f in result.findings}


def test_side_effects_describe_the_change() -> None:
    patch = (CORPUS / "kubernetes/legitimate/deployment_memory_patch_hardened.yaml").read_text()
    result = validate_script(patch, language="kubernetes", context=CTX)
    assert (
        "sets resources.limits.memory=512Mi on Deployment media/image-resizer container resizer" in result.side_effects
    )
    assert result.validator_versions["kubernetes-schema"] == "1.31.0"


def test_finding_points_at_the_offending_line() -> None:
    result = validate_script(
        pod("        runAsNonRoot: true\n        privileged: true\n"), language="kubernetes", context=CTX
    )
    (finding,) = [f for f in result.findings if f.rule_id == "pss.privileged"]
    assert finding.line == 11


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
)


@pytest.mark.parametrize(
    ("name", "text", "rule_id"),
    [
        ("billion laughs", BOMB, "syntax.yaml_bomb"),
        ("deep flow nesting", "[" * 50_000 + "]" * 50_000, "syntax.yaml_too_deep"),
        (
            "deep block nesting",
            "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n",
            "syntax.yaml_too_deep",
        ),
        ("recursive alias", "&a [*a]\n", "syntax.yaml_bomb"),
        ("binary junk", "\x01\x02\x7f\ufffe garbage", "syntax.yaml"),
        ("python tag", "!!python/object/apply:os.system ['id']\n", "syntax.yaml"),
        ("too many documents", "---\na: 1\n" * 150, "syntax.too_many_documents"),
    ],
)
def test_bad_input_fails_quickly_with_a_clear_finding(name: str, text: str, rule_id: str) -> None:
    started = time.perf_counter()
    result = validate_script(text, language="kubernetes", context=CTX)
    elapsed = time.perf_counter() - started
    assert not result.passed, name
    assert rule_id in {f.rule_id for f in result.findings}, name
    assert elapsed < 2.0, f"{name} took {elapsed:.2f}s"


def test_corpus_recall_and_false_positives_at_high() -> None:
    recall, false_positive_rate, misses = corpus_rates("kubernetes", "yaml", TargetSystem.KUBERNETES)
    print("\n".join(misses))
    assert len(list((CORPUS / "kubernetes/dangerous").glob("*.yaml"))) >= 30
    assert len(list((CORPUS / "kubernetes/legitimate").glob("*.yaml"))) >= 25
    assert recall >= 0.97, misses
    assert false_positive_rate <= 0.03, misses


def test_an_autoscaler_for_the_named_deployment_is_in_scope() -> None:
    hpa = """apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: catalog-api, namespace: catalog}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}
  minReplicas: 3
  maxReplicas: 12
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
"""
    context = ValidationContext(
        target_system=TargetSystem.KUBERNETES,
        rca_components=({"kind": "Deployment", "name": "catalog-api", "namespace": "catalog"},),
    )
    assert "scope.unexpected_resource" not in _rule_ids(hpa % "catalog-api", context)
    assert "scope.unexpected_resource" in _rule_ids(hpa % "payments-api", context)
