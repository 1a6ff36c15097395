"""The Kubernetes Job backend: its manifests against the Kubernetes OpenAPI schemas, and its lifecycle
against a fake API server (tests/fakes/kube_api_server.py) driven by the real `kubernetes` client.

No cluster is involved: see docs/kubernetes-backend.md for what this does and does not prove.
"""

from __future__ import annotations

import copy
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
from kubernetes import client as k8s

from sandbox.kubernetes_job import (
    RUN_ID_LABEL,
    KubernetesSandboxConfig,
    KubernetesSandboxError,
    _OutputBudget,
    build_job_objects,
    run_in_kubernetes,
)
from sandbox.limits import SandboxLimits
from tests.fakes.kube_api_server import FakeKubeApiServer, PodScenario

REPO_ROOT = Path(__file__).resolve().parents[2]

MIB = 1024 * 1024
FAST = KubernetesSandboxConfig(poll_interval_seconds=0.05, log_drain_seconds=2.0)


def _build(**overrides: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    arguments: dict[str, Any] = {
        "run_id": "run-42",
        "script": "echo hello\n",
        "language": "bash",
        "limits": SandboxLimits(
            wall_seconds=30,
            memory_bytes=300 * MIB + 1,
            max_open_files=128,
            max_file_bytes=MIB,
        ),
        "config": KubernetesSandboxConfig(),
    }
    arguments.update(overrides)
    return build_job_objects(**arguments)


# --- manifests --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kubernetes_version", ["1.29.0", kubernetes_validate.utils.latest_version()])
def test_manifests_validate_strictly_against_the_kubernetes_schemas(
    kubernetes_version: str,
) -> None:
    for manifest in _build():
        kubernetes_validate.validate(manifest, kubernetes_version, strict=True)
    for manifest in _build(language="python", limits=SandboxLimits(network=True)):
        kubernetes_validate.validate(manifest, kubernetes_version, strict=True)


def test_strict_validation_would_catch_a_misspelt_field() -> None:
    job = copy.deepcopy(_build()[2])
    job["spec"]["template"]["spec"]["securityContex"] = {"runAsNonRoot": True}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, kubernetes_validate.utils.latest_version(), strict=True)


def test_job_runs_under_the_restricted_pod_security_profile() -> None:
    _, _, job = _build()
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "runAsGroup": 65534,
        "fsGroup": 65534,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert pod["restartPolicy"] == "Never"
    assert "hostNetwork" not in pod and "hostPID" not in pod and "serviceAccountName" not in pod


def test_job_spec_carries_the_limits() -> None:
    config = KubernetesSandboxConfig(cpu_limit="250m", ttl_seconds_after_finished=120)
    limits = SandboxLimits(wall_seconds=12.5, memory_bytes=300 * MIB + 1, workspace_bytes=32 * MIB)
    _, _, job = _build(limits=limits, config=config)
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 13  # rounded up: never less time than asked for
    assert spec["ttlSecondsAfterFinished"] == 120
    pod = spec["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources["limits"] == {"cpu": "250m", "memory": "301Mi"}
    assert resources["requests"] == resources["limits"]
    empty_dirs = {volume["name"]: volume["emptyDir"] for volume in pod["volumes"] if "emptyDir" in volume}
    assert empty_dirs == {
        "workspace": {"sizeLimit": "32Mi"},
        "tmp": {"sizeLimit": "32Mi"},
    }


def test_script_comes_from_the_configmap_mounted_read_only() -> None:
    config_map, _, job = _build(script="echo from-configmap\n")
    assert config_map["data"] == {"run.sh": "echo from-configmap\n"}
    pod = job["spec"]["template"]["spec"]
    (script_volume,) = [volume for volume in pod["volumes"] if "configMap" in volume]
    assert script_volume["configMap"]["name"] == config_map["metadata"]["name"]
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == script_volume["name"])
    assert mount["readOnly"] is True
    assert pod["containers"][0]["command"][-2:] == [
        "bash",
        f"{mount['mountPath']}/run.sh",
    ]


def test_image_and_interpreter_follow_the_language_and_the_configured_images() -> None:
    config = KubernetesSandboxConfig(images={"python": "registry.local/python:3.12-hardened"})
    config_map, _, job = _build(language="python", script="print('x')\n", config=config)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.local/python:3.12-hardened"
    assert container["command"][-2:] == ["python3", "/sandbox/run.py"]
    assert config_map["data"] == {"run.py": "print('x')\n"}
    with pytest.raises(ValueError, match="no image configured"):
        _build(language="bash", config=config)


def test_network_policy_denies_everything_for_exactly_the_runs_pod() -> None:
    _, policy, job = _build()
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert selector == {RUN_ID_LABEL: "run-42"}
    assert all(pod_labels[key] == value for key, value in selector.items())
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policy["spec"] and "egress" not in policy["spec"]  # no rule = nothing allowed

    _, open_policy, _ = _build(limits=SandboxLimits(network=True))
    assert open_policy["spec"]["egress"] == [{}]
    assert "ingress" not in open_policy["spec"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"run_id": "Run_42"}, "run_id"),
        ({"run_id": "x" * 41}, "run_id"),
        ({"run_id": "-leading-dash"}, "run_id"),
        ({"language": "ruby"}, "no interpreter"),
        ({"script": "#" * (1024 * 1024)}, "too large"),
    ],
)
def test_bad_requests_are_refused_before_any_api_call(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _build(**overrides)


def test_limit_wrapper_applies_open_files_and_file_size_in_the_pod_shell() -> None:
    """Runs the Job's own /bin/sh wrapper locally with a harmless probe in place of the script."""
    _, _, job = _build(limits=SandboxLimits(max_open_files=77, max_file_bytes=512 * 1000))
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    wrapper_without_script = command[:-2]
    probe = ["sh", "-c", "ulimit -n; ulimit -f"]
    output = subprocess.run(
        wrapper_without_script + probe,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    assert output.stdout.split() == [
        "77",
        "1000",
    ]  # -f counts 512-byte blocks in dash and busybox ash


def test_output_budget_cuts_at_the_byte_limit_and_keeps_split_characters_whole() -> None:
    budget = _OutputBudget(12)
    euro = "€".encode()  # three bytes, split across two chunks below
    lines = budget.feed(b"ab" + euro[:1]) + budget.feed(euro[1:] + b"\nsecond line that is too long\n")
    assert lines == ["ab€\n", "second"]
    assert budget.truncated
    assert budget.feed(b"more\n") == []

    unbounded_line = _OutputBudget(10)
    assert unbounded_line.feed(b"x" * 100) == ["x" * 10]  # a line without newline cannot grow without end
    assert unbounded_line.truncated


def test_config_from_environment(tmp_path: Path) -> None:
    assert KubernetesSandboxConfig.from_environment({}).kubeconfig_path is None
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    config = KubernetesSandboxConfig.from_environment(
        {
            "KUBERNETES_SANDBOX_CONFIG": str(kubeconfig),
            "KUBERNETES_SANDBOX_NAMESPACE": "sbx",
        }
    )
    assert (config.kubeconfig_path, config.namespace) == (str(kubeconfig), "sbx")
    with pytest.raises(ValueError, match="KUBERNETES_SANDBOX_CONFIG"):
        KubernetesSandboxConfig.from_environment({"KUBERNETES_SANDBOX_CONFIG": str(tmp_path / "missing")})


# --- lifecycle against the fake API server -----------------------------------------------------------------


class FakeCluster:
    def __init__(self, scenario: PodScenario) -> None:
        self.fake = FakeKubeApiServer(scenario).start()
        self.api_client = k8s.ApiClient(k8s.Configuration(host=self.fake.url))
        self.output: list[tuple[str, str, bool]] = []

    def on_output(self, stream: str, line: str) -> None:
        # Whether the fake had already told us the Job was finished when this line reached us.
        self.output.append((stream, line, self.fake.job_reported_finished.is_set()))

    def run(
        self,
        script: str = "echo hello\n",
        limits: SandboxLimits | None = None,
        **kwargs: Any,
    ) -> Any:
        return run_in_kubernetes(
            script,
            language="bash",
            limits=limits or SandboxLimits(wall_seconds=10),
            config=kwargs.pop("config", FAST),
            run_id="r1",
            on_output=self.on_output,
            api_client=self.api_client,
            **kwargs,
        )

    def close(self) -> None:
        self.api_client.close()
        self.fake.stop()


@pytest.fixture
def cluster_for() -> Iterator[Any]:
    clusters: list[FakeCluster] = []

    def make(scenario: PodScenario) -> FakeCluster:
        clusters.append(FakeCluster(scenario))
        return clusters[-1]

    yield make
    for cluster in clusters:
        cluster.close()


ALL_THREE_DELETED = {
    ("jobs", "rr-r1"),
    ("configmaps", "rr-r1-script"),
    ("networkpolicies", "rr-r1-deny-all"),
}


def test_success_streams_lines_while_the_job_runs_and_cleans_up(
    cluster_for: Any,
) -> None:
    cluster = cluster_for(PodScenario(lines=["step 1", "step 2", "step 3"], line_interval=0.08))
    result = cluster.run()

    assert result.exit_code == 0 and not result.timed_out and result.killed_reason is None
    assert result.isolation == "kubernetes-job" and result.peak_memory_kb == 0
    assert result.stdout == "step 1\nstep 2\nstep 3\n"
    assert [(stream, line) for stream, line, _ in cluster.output] == [
        ("stdout", "step 1"),
        ("stdout", "step 2"),
        ("stdout", "step 3"),
    ]
    assert not any(finished for _, _, finished in cluster.output), "lines arrived only after the Job finished"
    (log_call,) = cluster.fake.calls("GET", "log")
    assert log_call.query["follow"] == ["true"]
    assert set(cluster.fake.deletes()) == ALL_THREE_DELETED
    (job_delete,) = cluster.fake.calls("DELETE", "jobs")
    assert job_delete.query.get("propagationPolicy") == ["Background"]
    assert cluster.fake.objects == {}


def test_the_cluster_receives_the_manifests_exactly_as_built(cluster_for: Any) -> None:
    """The client's models must not drop or rename a field on the way (a lost securityContext would be silent)."""
    cluster = cluster_for(PodScenario(lines=["ok"]))
    limits = SandboxLimits(wall_seconds=10)
    cluster.run("echo ok\n", limits=limits)
    expected = build_job_objects(run_id="r1", script="echo ok\n", language="bash", limits=limits, config=FAST)
    posted = [cluster.fake.calls("POST", kind)[0].body for kind in ("configmaps", "networkpolicies", "jobs")]
    assert posted == list(expected)


def test_non_zero_exit_is_the_scripts_exit_code(cluster_for: Any) -> None:
    cluster = cluster_for(PodScenario(lines=["checking", "disk full"], exit_code=3))
    result = cluster.run()
    assert (result.exit_code, result.timed_out, result.killed_reason) == (
        3,
        False,
        None,
    )
    assert result.stdout == "checking\ndisk full\n"
    assert set(cluster.fake.deletes()) == ALL_THREE_DELETED


def test_deadline_exceeded_is_a_timeout(cluster_for: Any) -> None:
    cluster = cluster_for(PodScenario(lines=["started, now hanging"], hang=True))
    started = time.monotonic()
    result = cluster.run(limits=SandboxLimits(wall_seconds=1))
    assert (result.exit_code, result.timed_out, result.killed_reason) == (
        124,
        True,
        "timeout",
    )
    assert result.stdout == "started, now hanging\n"
    assert time.monotonic() - started < 5
    assert set(cluster.fake.deletes()) == ALL_THREE_DELETED


def test_oom_killed_container_is_a_memory_kill(cluster_for: Any) -> None:
    cluster = cluster_for(PodScenario(lines=["allocating"], exit_code=137, terminated_reason="OOMKilled"))
    result = cluster.run()
    assert (result.exit_code, result.timed_out, result.killed_reason) == (
        137,
        False,
        "memory",
    )
    assert set(cluster.fake.deletes()) == ALL_THREE_DELETED


def test_output_past_the_cap_kills_the_job(cluster_for: Any) -> None:
    lines = [f"line {index:03d} " + "x" * 20 for index in range(200)]
    cluster = cluster_for(PodScenario(lines=lines, line_interval=0.002, hang=True))
    started = time.monotonic()
    result = cluster.run(limits=SandboxLimits(wall_seconds=30, max_output_bytes=100))
    assert (result.exit_code, result.killed_reason) == (137, "output_limit")
    assert result.stdout_truncated
    assert result.stdout.startswith("line 000 ") and len(result.stdout.encode()) == 100
    assert "".join(line + "\n" for _, line, _ in cluster.output).startswith(result.stdout.rstrip("x"))
    assert time.monotonic() - started < 10, "the run waited for the deadline instead of killing the Job"
    assert set(cluster.fake.deletes()) == ALL_THREE_DELETED


def test_a_script_quicker_than_one_poll_still_has_its_output(cluster_for: Any) -> None:
    scenario = PodScenario(lines=["quick"], start_delay=0.01, line_interval=0.01, completion_delay=0.01)
    cluster = cluster_for(scenario)
    result = cluster.run(config=KubernetesSandboxConfig(poll_interval_seconds=0.4))
    assert result.exit_code == 0
    assert result.stdout == "quick\n"


def test_server_error_on_create_is_retryable_and_removes_what_may_exist(
    cluster_for: Any,
) -> None:
    cluster = cluster_for(PodScenario(failures={("POST", "jobs"): 500}))
    with pytest.raises(KubernetesSandboxError, match="create job failed with HTTP 500") as caught:
        cluster.run()
    assert caught.value.retryable and caught.value.status == 500
    # After a 500 the Job may have been persisted anyway, so it is deleted too (a 404 is fine).
    assert set(cluster.fake.deletes()) == ALL_THREE_DELETED
    assert cluster.fake.objects == {}


def test_forbidden_is_not_retryable_and_only_what_was_created_is_deleted(
    cluster_for: Any,
) -> None:
    cluster = cluster_for(PodScenario(failures={("POST", "networkpolicies"): 403}))
    with pytest.raises(KubernetesSandboxError, match="RBAC") as caught:
        cluster.run()
    assert not caught.value.retryable and caught.value.status == 403
    assert cluster.fake.calls("POST", "jobs") == [], "a Job ran without its NetworkPolicy"
    assert cluster.fake.deletes() == [("configmaps", "rr-r1-script")]
    assert cluster.fake.objects == {}


def test_name_conflict_does_not_delete_the_other_owners_object(
    cluster_for: Any,
) -> None:
    cluster = cluster_for(PodScenario())
    theirs = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "rr-r1-script"},
        "data": {"a": "b"},
    }
    cluster.fake.seed("configmaps", "remediation-sandbox", theirs)
    with pytest.raises(KubernetesSandboxError, match="409") as caught:
        cluster.run()
    assert not caught.value.retryable
    assert cluster.fake.deletes() == []
    assert cluster.fake.objects == {("configmaps", "remediation-sandbox", "rr-r1-script"): theirs}


def test_api_error_while_waiting_still_cleans_up(cluster_for: Any) -> None:
    cluster = cluster_for(PodScenario(lines=["a"], failures={("GET", "jobs"): 503}))
    with pytest.raises(KubernetesSandboxError, match="read job failed with HTTP 503") as caught:
        cluster.run()
    assert caught.value.retryable
    assert set(cluster.fake.deletes()) == ALL_THREE_DELETED


def test_image_that_cannot_be_pulled_fails_fast_instead_of_timing_out(
    cluster_for: Any,
) -> None:
    cluster = cluster_for(PodScenario(waiting_reason="ImagePullBackOff"))
    started = time.monotonic()
    with pytest.raises(KubernetesSandboxError, match="ImagePullBackOff") as caught:
        cluster.run(limits=SandboxLimits(wall_seconds=30))
    assert caught.value.retryable
    assert time.monotonic() - started < 5
    assert set(cluster.fake.deletes()) == ALL_THREE_DELETED


def test_unreachable_api_server_is_a_retryable_error() -> None:
    fake = FakeKubeApiServer().start()
    url = fake.url
    fake.stop()  # the port is closed now
    configuration = k8s.Configuration(host=url)
    configuration.retries = 0
    with (
        k8s.ApiClient(configuration) as api_client,
        pytest.raises(KubernetesSandboxError, match="cannot reach the API server") as caught,
    ):
        run_in_kubernetes(
            "echo hi\n",
            language="bash",
            limits=SandboxLimits(),
            config=FAST,
            run_id="r1",
            api_client=api_client,
        )
    assert caught.value.retryable


def test_the_job_passes_the_script_its_environment_without_overriding_the_fixed_one() -> None:
    _, _, job = build_job_objects(
        run_id="run-env",
        script="echo $REMEDIATION_DRY_RUN",
        language="bash",
        limits=SandboxLimits(),
        config=KubernetesSandboxConfig(),
        env={"REMEDIATION_DRY_RUN": "1", "HOME": "/root"},
    )
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["REMEDIATION_DRY_RUN"] == "1"
    assert env["HOME"] != "/root"
    kubernetes_validate.validate(job, "1.31.0", strict=True)
