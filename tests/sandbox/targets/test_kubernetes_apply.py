"""The Kubernetes apply runner, driven through the real `kubernetes` client (DynamicClient, discovery,
server-side apply) against the fake API server in fake_kube_apply_server.py. No cluster is involved:
docs/target-runners.md says what this does and does not prove."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from sandbox.targets.kubernetes_apply import ABSENT, apply_manifests, restore_kubernetes_snapshot
from sandbox.targets.types import TargetUnavailable
from tests.sandbox.targets.fake_kube_apply_server import FakeKubeApplyServer

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
        },
    },
    "status": {"replicas": 2, "readyReplicas": 2},
}

# The usual "rollout restart" remediation plus a new ConfigMap; touches no field kubectl owns.
RESTART_AND_FLAG = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      annotations:
        kubectl.kubernetes.io/restartedAt: "2024-06-01T10:00:00Z"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-flags
  namespace: shop
data:
  circuit_breaker: "on"
"""

SCALE_UP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 5
"""


@pytest.fixture
def fake() -> Iterator[FakeKubeApplyServer]:
    with FakeKubeApplyServer() as server:
        server.seed("deployments", DEPLOYMENT)
        yield server


@pytest.fixture
def api_client(fake: FakeKubeApplyServer) -> Iterator[k8s.ApiClient]:
    with k8s.ApiClient(k8s.Configuration(host=fake.url)) as client:
        yield client


def _restart_annotation(deployment: dict[str, Any] | None) -> Any:
    assert deployment is not None
    return deployment["spec"]["template"]["metadata"].get("annotations", {}).get("kubectl.kubernetes.io/restartedAt")


def test_rehearsal_is_a_server_dry_run_that_stores_nothing(fake: FakeKubeApplyServer, api_client: Any) -> None:
    lines: list[tuple[str, str]] = []
    result = apply_manifests(
        RESTART_AND_FLAG, api_client=api_client, rehearsal=True, on_output=lambda s, line: lines.append((s, line))
    )

    assert result.ok, result.summary
    assert result.snapshot is None
    patches = fake.calls("PATCH")
    assert [(p.resource, p.query.get("dryRun")) for p in patches] == [
        ("deployments", ["All"]),
        ("configmaps", ["All"]),
    ]
    assert all(p.query.get("fieldManager") == ["remediation"] for p in patches)
    assert all(p.content_type == "application/apply-patch+yaml" for p in patches)
    assert fake.stored("configmaps", "shop", "web-flags") is None
    assert _restart_annotation(fake.stored("deployments", "shop", "web")) is None
    assert ("stdout", "[2/2] ConfigMap/web-flags in namespace shop: created (server dry run)") in lines


def test_real_run_reads_each_object_first_and_records_the_snapshot(fake: FakeKubeApplyServer, api_client: Any) -> None:
    result = apply_manifests(RESTART_AND_FLAG, api_client=api_client, rehearsal=False)

    assert result.ok, result.summary
    assert _restart_annotation(fake.stored("deployments", "shop", "web")) == "2024-06-01T10:00:00Z"
    assert fake.stored("configmaps", "shop", "web-flags")["data"] == {"circuit_breaker": "on"}  # type: ignore[index]
    assert [(r.method, r.resource) for r in fake.requests] == [
        ("GET", "deployments"),
        ("PATCH", "deployments"),
        ("GET", "configmaps"),
        ("PATCH", "configmaps"),
    ]
    assert all("dryRun" not in p.query for p in fake.calls("PATCH"))
    snapshot = result.snapshot
    assert snapshot is not None
    json.dumps(snapshot)  # JSON-safe: it is stored on the run record
    deployment, configmap = snapshot["objects"]
    assert deployment["previous"]["spec"]["replicas"] == 2
    assert "managedFields" not in deployment["previous"]["metadata"]
    assert configmap["previous"] == ABSENT


def test_restore_deletes_what_was_absent_and_reapplies_the_previous_object(
    fake: FakeKubeApplyServer, api_client: Any
) -> None:
    applied = apply_manifests(RESTART_AND_FLAG, api_client=api_client, rehearsal=False)
    assert applied.snapshot is not None
    fake.requests.clear()

    restored = restore_kubernetes_snapshot(applied.snapshot, api_client=api_client)

    assert restored.ok, restored.summary
    assert fake.stored("configmaps", "shop", "web-flags") is None
    deployment = fake.stored("deployments", "shop", "web")
    assert _restart_annotation(deployment) is None  # the field the run added is gone again
    assert deployment is not None
    assert deployment["spec"]["replicas"] == 2
    assert [(r.method, r.resource) for r in fake.requests] == [
        ("DELETE", "configmaps"),
        ("GET", "deployments"),
        ("PATCH", "deployments"),
    ]
    [patch] = fake.calls("PATCH")
    assert patch.query["force"] == ["true"]
    assert "status" not in patch.body
    assert not {"resourceVersion", "uid", "managedFields", "creationTimestamp"} & set(patch.body["metadata"])


def test_conflict_with_another_field_manager_fails_the_rehearsal(fake: FakeKubeApplyServer, api_client: Any) -> None:
    result = apply_manifests(SCALE_UP, api_client=api_client, rehearsal=True)

    assert not result.ok
    assert result.exit_code == 1
    assert "conflicts with another field manager" in result.summary
    assert "kubectl-client-side-apply" in result.summary
    assert fake.stored("deployments", "shop", "web")["spec"]["replicas"] == 2  # type: ignore[index]


def test_force_conflicts_takes_the_field_over(fake: FakeKubeApplyServer, api_client: Any) -> None:
    result = apply_manifests(SCALE_UP, api_client=api_client, rehearsal=False, force_conflicts=True)

    assert result.ok, result.summary
    assert fake.stored("deployments", "shop", "web")["spec"]["replicas"] == 5  # type: ignore[index]
    assert result.snapshot is not None
    assert result.snapshot["objects"][0]["previous"]["spec"]["replicas"] == 2


def test_failure_part_way_keeps_a_snapshot_of_what_was_applied(fake: FakeKubeApplyServer, api_client: Any) -> None:
    fake.reject_apply["web-flags"] = (422, 'ConfigMap "web-flags" is invalid: data: Invalid value')

    result = apply_manifests(RESTART_AND_FLAG, api_client=api_client, rehearsal=False)

    assert not result.ok
    assert "object 2" in result.summary
    assert "is invalid" in result.summary
    assert result.snapshot is not None
    assert [entry["name"] for entry in result.snapshot["objects"]] == ["web"]

    restored = restore_kubernetes_snapshot(result.snapshot, api_client=api_client)
    assert restored.ok, restored.summary
    assert _restart_annotation(fake.stored("deployments", "shop", "web")) is None


def test_unknown_kind_is_reported(api_client: Any) -> None:
    manifest = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n"
    result = apply_manifests(manifest, api_client=api_client, rehearsal=True)

    assert not result.ok
    assert "does not serve Widget" in result.summary


def test_bad_manifests_are_refused_before_any_request(fake: FakeKubeApplyServer, api_client: Any) -> None:
    for manifest, reason in (
        ("kind: [unclosed", "not valid YAML"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "needs apiVersion, kind and metadata.name"),
        ("", "holds no object"),
    ):
        result = apply_manifests(manifest, api_client=api_client, rehearsal=True)
        assert not result.ok
        assert reason in result.summary
    assert fake.requests == []


def test_no_api_client_is_target_unavailable() -> None:
    with pytest.raises(TargetUnavailable, match="no Kubernetes API client"):
        apply_manifests(RESTART_AND_FLAG, api_client=None, rehearsal=True)


def test_unreachable_api_server_is_target_unavailable() -> None:
    configuration = k8s.Configuration(host="http://127.0.0.1:1")
    configuration.retries = 0
    with k8s.ApiClient(configuration) as unreachable, pytest.raises(TargetUnavailable, match="cannot reach"):
        apply_manifests(RESTART_AND_FLAG, api_client=unreachable, rehearsal=True)
